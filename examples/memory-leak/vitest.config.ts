import { defineProject } from "vitest/config";
import { snakepitAliases } from "../../vitest.shared.js";

export default defineProject({
  resolve: { alias: snakepitAliases },
  test: { name: "example-memory-leak", include: ["*.test.ts"], testTimeout: 60_000 },
});
