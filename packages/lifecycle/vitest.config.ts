import { defineProject } from "vitest/config";
import { snakepitAliases } from "../../vitest.shared.js";

export default defineProject({
  resolve: { alias: snakepitAliases },
  test: {
    name: "lifecycle",
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    setupFiles: ["../core/test/setup-leaks.ts"],
    // Files that start Python share 2 cores: run them one at a time.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
