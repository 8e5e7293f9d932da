import { defineConfig } from "vitest/config";

// One run over every package. Each package's own vitest.config.ts names its
// tests and resolves @snakepit/* to the sibling package's src (no build needed).
export default defineConfig({
  test: {
    projects: ["packages/*", "examples/*"],
  },
});
