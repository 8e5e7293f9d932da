import { fileURLToPath } from "node:url";
import { defineProject } from "vitest/config";
import { snakepitAliases } from "../../vitest.shared.js";

export default defineProject({
  resolve: { alias: { ...snakepitAliases, "@snakepit/remote": fileURLToPath(new URL("./src/index.ts", import.meta.url)) } },
  test: {
    name: "remote",
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    setupFiles: ["../core/test/setup-leaks.ts"],
    // Files that start Python (in network namespaces) share 2 cores: one at a time.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
