import { defineProject } from "vitest/config";
import { snakepitAliases } from "../../vitest.shared.js";

export default defineProject({
  resolve: { alias: snakepitAliases },
  test: { name: "example-sklearn-ndarray", include: ["*.test.ts"], testTimeout: 120_000 },
});
