import { defineProject } from "vitest/config";
import { snakepitAliases } from "../../vitest.shared.js";

export default defineProject({
  resolve: { alias: snakepitAliases },
  test: {
    name: "compat",
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
