// probePython and checkCompatibility against a real free-threaded CPython
// (python/.venv-ft from `pnpm run setup:free-threaded`, or SNAKEPIT_TEST_PYTHON in CI).
// Skipped when neither exists; with SNAKEPIT_TEST_PYTHON set, a GIL build fails.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { checkCompatibility, probePython } from "@snakepit/compat";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const EXPLICIT = process.env["SNAKEPIT_TEST_PYTHON"] || undefined;
const FT_PYTHON = EXPLICIT ?? `${repoRoot}python/.venv-ft/bin/python`;

describe.skipIf(EXPLICIT === undefined && !existsSync(FT_PYTHON))(`probePython against a free-threaded build (${FT_PYTHON})`, () => {
  it("reports a free-threaded build with the GIL off", async () => {
    const probe = await probePython(FT_PYTHON, { libraries: ["protobuf", "grpcio"] });
    expect(probe).toMatchObject({ implementation: "CPython", freeThreaded: true, gilEnabled: false });
    expect(probe.versionInfo.major).toBe(3);
    expect(probe.versionInfo.minor).toBeGreaterThanOrEqual(13);
    expect(probe.libraries["protobuf"]).toMatch(/^\d+\./);
    expect(probe.libraries["grpcio"]).toBeNull(); // no free-threaded grpcio exists
    const report = checkCompatibility({ probe, profile: "thread" });
    const codes = report.warnings.map((n) => n.code);
    expect(codes).toContain("free-threaded");
    expect(codes).not.toContain("gil-enabled-on-free-threaded");
  });

  it("sees PYTHON_GIL=1 turn the GIL on at run time, and checkCompatibility warns about it", async () => {
    const probe = await probePython(FT_PYTHON, { libraries: [], env: { PYTHON_GIL: "1" } });
    expect(probe).toMatchObject({ freeThreaded: true, gilEnabled: true });
    const report = checkCompatibility({ probe, profile: "thread" });
    expect(report.warnings.map((n) => n.code)).toContain("gil-enabled-on-free-threaded");
  });

  it("accepts PYTHON_GIL=0, which a GIL build refuses", async () => {
    await expect(probePython(FT_PYTHON, { libraries: [], env: { PYTHON_GIL: "0" } })).resolves.toMatchObject({ freeThreaded: true, gilEnabled: false });
  });
});
