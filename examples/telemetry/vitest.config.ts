import { defineProject } from "vitest/config";
import { snakepitAliases } from "../../vitest.shared.js";

export default defineProject({
  resolve: { alias: snakepitAliases },
  test: {
    name: "example-telemetry",
    include: ["*.test.ts"],
    // The example runs against the built @snakepit/otel: build it first so it is current.
    globalSetup: ["./build-otel.ts"],
    testTimeout: 60_000,
  },
});
