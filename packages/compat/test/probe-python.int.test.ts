import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMainThread } from "node:worker_threads";
import { afterAll, describe, expect, it } from "vitest";
import { COMPAT_MATRIX, checkCompatibility, probePython } from "@snakepit/compat";
import { SnakepitError } from "@snakepit/core";

// The pyenv interpreters of this project's machines; the ones not present are skipped.
const VERSIONS = ["3.10.13", "3.11.7", "3.12.1", "3.13.0"] as const;
const pythonPath = (version: string) => `/root/.pyenv/versions/${version}/bin/python3`;
const present = VERSIONS.filter((v) => existsSync(pythonPath(v)));

describe.each(VERSIONS)("probePython against Python %s", (version) => {
  const executable = pythonPath(version);
  const available = existsSync(executable);

  it.skipIf(!available)("reports version, build and GIL state of a GIL build", async () => {
    const probe = await probePython(executable, { libraries: [] });
    const [major, minor, micro] = version.split(".").map(Number);
    expect(probe.executable).toBe(executable);
    expect(probe.version).toBe(version);
    expect(probe.versionInfo).toEqual({ major, minor, micro, releaseLevel: "final" });
    expect(probe.implementation).toBe("CPython");
    expect(probe.freeThreaded).toBe(false);
    expect(probe.gilEnabled).toBe(true);
    expect(probe.platform).toBe(process.platform === "darwin" ? "darwin" : "linux");
    expect(probe.machine.length).toBeGreaterThan(0);
    expect(probe.libraries).toEqual({});
  });

  it.skipIf(!available)("detects installed libraries, reports missing ones as null, handles stdlib", async () => {
    const probe = await probePython(executable, {
      libraries: ["pip", "PIP", "snakepit-surely-not-installed", "sqlite3", "json"],
    });
    expect(probe.libraries["pip"]).toMatch(/^\d+\.\d+/);
    expect(probe.libraries["PIP"]).toBe(probe.libraries["pip"]);
    expect(probe.libraries["snakepit-surely-not-installed"]).toBeNull();
    expect(probe.libraries["sqlite3"]).toMatch(/^3\.\d+\.\d+$/);
    expect(probe.libraries["json"]).toBe(version);
  });
});

describe("probePython against a real interpreter", () => {
  const executable = present.length > 0 ? pythonPath(present[present.length - 1] ?? "") : "python3";
  const dir = mkdtempSync(join(tmpdir(), "snakepit-compat-int-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("looks up every matrix library by default, without importing them", async () => {
    // A module that would fail loudly if imported; only its metadata is read.
    const site = join(dir, "site");
    mkdirSync(join(site, "numpy-9.9.9.dist-info"), { recursive: true });
    writeFileSync(join(site, "numpy-9.9.9.dist-info", "METADATA"), "Metadata-Version: 2.1\nName: numpy\nVersion: 9.9.9\n");
    writeFileSync(join(site, "numpy.py"), "raise SystemExit('numpy must not be imported by the probe')\n");

    const probe = await probePython(executable, { env: { PYTHONPATH: site } });
    expect(Object.keys(probe.libraries)).toEqual(COMPAT_MATRIX.map((e) => e.name));
    expect(probe.libraries["numpy"]).toBe("9.9.9");
    expect(probe.libraries["sqlite3"]).toMatch(/^3\./);

    // Whatever else is installed there, every warning is about an installed library.
    const report = checkCompatibility({ probe, profile: "thread" });
    expect(report.unknown).toEqual([]);
    for (const warning of report.warnings) expect(probe.libraries[warning.library]).not.toBeNull();
  });

  // process.chdir() is not available in worker threads, so this runs only in a forked test process.
  it.skipIf(!isMainThread)("is not fooled by a stdlib-shadowing file in the working directory", async () => {
    // -c puts '' (the working directory) first on sys.path; the probe removes it.
    const cwd = join(dir, "cwd");
    mkdirSync(cwd, { recursive: true });
    writeFileSync(join(cwd, "json.py"), "raise SystemExit('shadowed json imported')\n");
    const original = process.cwd();
    process.chdir(cwd);
    try {
      await expect(probePython(executable, { libraries: [] })).resolves.toMatchObject({ implementation: "CPython" });
    } finally {
      process.chdir(original);
    }
  });

  it("reports a missing interpreter as python_not_found", async () => {
    const error = await probePython("/nonexistent/bin/python3").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SnakepitError);
    expect((error as SnakepitError).code).toBe("python_not_found");
    expect((error as Error).message).toContain('"/nonexistent/bin/python3"');
  });
});

describe.skipIf(!existsSync(pythonPath("3.13.0")))("probePython and the PYTHON_GIL variable on 3.13", () => {
  const executable = pythonPath("3.13.0");

  it("sees PYTHON_GIL=1 (the probe does not run in isolated mode)", async () => {
    const probe = await probePython(executable, { libraries: [], env: { PYTHON_GIL: "1" } });
    expect(probe).toMatchObject({ freeThreaded: false, gilEnabled: true });
  });

  it("fails with Python's own error when PYTHON_GIL=0 is refused by a GIL build", async () => {
    const error = (await probePython(executable, { libraries: [], env: { PYTHON_GIL: "0" } }).catch(
      (e: unknown) => e,
    )) as SnakepitError;
    expect(error.code).toBe("probe_failed");
    expect(error.message).toContain("Disabling the GIL is not supported by this build");
  });
});
