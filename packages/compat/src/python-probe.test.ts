import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SnakepitError } from "@snakepit/core";
import { COMPAT_MATRIX } from "./matrix.js";
import { PROBE_MARKER } from "./probe-script.js";
import { parseProbeOutput, probePython, resolveLibraryRequests } from "./python-probe.js";

const VALID = {
  version: "3.11.7",
  versionInfo: { major: 3, minor: 11, micro: 7, releaseLevel: "final" },
  implementation: "CPython",
  freeThreaded: false,
  gilEnabled: true,
  platform: "linux",
  machine: "x86_64",
  libraries: { numpy: "1.26.4", torch: null },
};

const line = (value: unknown) => `${PROBE_MARKER}${JSON.stringify(value)}\n`;

function expectProbeError(fn: () => unknown, code: string, ...fragments: string[]): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SnakepitError);
    expect((error as SnakepitError).code).toBe(code);
    for (const fragment of fragments) expect((error as Error).message).toContain(fragment);
    return;
  }
  expect.fail("expected a SnakepitError from the probe");
}

describe("parseProbeOutput", () => {
  it("parses the marker line into a PythonProbe", () => {
    const probe = parseProbeOutput("/usr/bin/python3", line(VALID));
    expect(probe).toEqual({ executable: "/usr/bin/python3", ...VALID });
  });

  it("ignores other output around the marker line", () => {
    const stdout = `hello from sitecustomize\r\n${line(VALID)}bye\n`;
    expect(parseProbeOutput("py", stdout).version).toBe("3.11.7");
  });

  it("fails with stderr in the message when the marker is missing", () => {
    expectProbeError(
      () => parseProbeOutput("py", "not json at all\n", "Traceback: boom"),
      "probe_failed",
      'Python at "py" did not print a probe result',
      "Traceback: boom",
      "not json at all",
    );
  });

  it("fails when the marker line is not JSON", () => {
    expectProbeError(() => parseProbeOutput("py", `${PROBE_MARKER}{oops\n`, "warn"), "probe_failed", "not valid JSON", "warn");
  });

  it.each([
    ["a non-object", []],
    ["a missing version", { ...VALID, version: 3 }],
    ["a bad versionInfo", { ...VALID, versionInfo: { major: "3" } }],
    ["a missing implementation", { ...VALID, implementation: undefined }],
    ["non-boolean GIL flags", { ...VALID, gilEnabled: "yes" }],
    ["a missing platform", { ...VALID, machine: null }],
    ["libraries that are not an object", { ...VALID, libraries: ["numpy"] }],
    ["a library version that is not a string", { ...VALID, libraries: { numpy: 1 } }],
  ])("rejects %s", (_what, value) => {
    expectProbeError(() => parseProbeOutput("py", line(value)), "probe_failed", "probe result");
  });
});

describe("resolveLibraryRequests", () => {
  it("uses the matrix distributions for known libraries, by either name", () => {
    const [byImport, byDist] = resolveLibraryRequests(["cv2", "scikit-learn"]);
    expect(byImport).toEqual({
      key: "cv2",
      dists: ["opencv-python", "opencv-python-headless", "opencv-contrib-python", "opencv-contrib-python-headless"],
      importName: "cv2",
      stdlib: null,
    });
    expect(byDist).toMatchObject({ key: "scikit-learn", dists: ["scikit-learn"], importName: "sklearn" });
  });

  it("marks sqlite3 as a stdlib lookup of the SQLite version", () => {
    expect(resolveLibraryRequests(["sqlite3"])).toEqual([{ key: "sqlite3", dists: [], importName: null, stdlib: "sqlite" }]);
  });

  it("tries unknown names as distribution and, when valid, import name", () => {
    expect(resolveLibraryRequests(["attrs", "zope.interface"])).toEqual([
      { key: "attrs", dists: ["attrs"], importName: "attrs", stdlib: null },
      { key: "zope.interface", dists: ["zope.interface"], importName: null, stdlib: null },
    ]);
  });

  it("drops duplicates", () => {
    expect(resolveLibraryRequests(["numpy", "numpy"])).toHaveLength(1);
  });
});

// Fake "interpreters" are shell scripts: they exercise the process handling
// without needing Python. Real interpreters are tested in test/*.int.test.ts.
describe("probePython with fake executables", () => {
  const dir = mkdtempSync(join(tmpdir(), "snakepit-compat-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function script(name: string, body: string): string {
    const path = join(dir, name);
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
  }

  it("reports a missing interpreter with the path and what to do", async () => {
    const missing = join(dir, "no-such-python");
    const error = await probePython(missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SnakepitError);
    expect((error as SnakepitError).code).toBe("python_not_found");
    expect((error as Error).message).toContain(missing);
    expect((error as Error).message).toContain("SNAKEPIT_PYTHON");
    expect((error as Error).message).toMatch(/Install Python/);
  });

  it("reports a file that is not executable as python_not_found", async () => {
    const path = join(dir, "not-executable");
    writeFileSync(path, "#!/bin/sh\n");
    chmodSync(path, 0o644);
    await expect(probePython(path)).rejects.toMatchObject({ code: "python_not_found" });
  });

  it("passes the script and the library requests as arguments, without a shell, and merges env", async () => {
    const argsFile = join(dir, "args.txt");
    const fake = script(
      "echo-args",
      `printf '%s\\n' "$1" > '${argsFile}'; printf '%s' "$3" >> '${argsFile}'\n` +
        `printf '${PROBE_MARKER}{"version":"%s","versionInfo":{"major":3,"minor":12,"micro":1,"releaseLevel":"final"},` +
        `"implementation":"CPython","freeThreaded":false,"gilEnabled":true,"platform":"linux","machine":"x86_64",` +
        `"libraries":{}}\\n' "$FAKE_VERSION"`,
    );
    const probe = await probePython(fake, { libraries: ["numpy", "x y; rm -rf /"], env: { FAKE_VERSION: "3.12.1" } });
    expect(probe.version).toBe("3.12.1");
    expect(probe.executable).toBe(fake);
    const [flag, requests] = readFileSync(argsFile, "utf8").split("\n");
    expect(flag).toBe("-c");
    expect(JSON.parse(requests ?? "").map((r: { key: string }) => r.key)).toEqual(["numpy", "x y; rm -rf /"]);
  });

  it("asks for every matrix library by default", async () => {
    const argsFile = join(dir, "default-args.txt");
    const fake = script("default-args", `printf '%s' "$3" > '${argsFile}'; exit 3`);
    await probePython(fake).catch(() => undefined);
    const keys = JSON.parse(readFileSync(argsFile, "utf8")).map((r: { key: string }) => r.key);
    expect(keys).toEqual(COMPAT_MATRIX.map((e) => e.name));
  });

  it("fails with stdout and stderr when the output is not a probe result", async () => {
    const fake = script("garbage", "echo 'this is not json'; echo 'something went wrong' >&2");
    const error = (await probePython(fake).catch((e: unknown) => e)) as SnakepitError;
    expect(error.code).toBe("probe_failed");
    expect(error.message).toContain("something went wrong");
    expect(error.message).toContain("this is not json");
  });

  it("fails with the exit code and stderr when the interpreter exits non-zero", async () => {
    const fake = script("crash", "echo 'Fatal Python error: boom' >&2; exit 7");
    const error = (await probePython(fake).catch((e: unknown) => e)) as SnakepitError;
    expect(error.code).toBe("probe_failed");
    expect(error.message).toContain("exited with code 7");
    expect(error.message).toContain("Fatal Python error: boom");
  });

  it("times out with probe_timeout", async () => {
    const fake = script("hang", "exec sleep 30");
    const started = Date.now();
    const error = (await probePython(fake, { timeoutMs: 200 }).catch((e: unknown) => e)) as SnakepitError;
    expect(error.code).toBe("probe_timeout");
    expect(error.message).toContain("200 ms");
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("rejects with the abort reason when the signal fires", async () => {
    const fake = script("hang2", "exec sleep 30");
    const controller = new AbortController();
    const pending = probePython(fake, { signal: controller.signal });
    controller.abort(new Error("stop"));
    await expect(pending).rejects.toThrow("stop");
    await expect(probePython(fake, { signal: AbortSignal.abort(new Error("already")) })).rejects.toThrow("already");
  });
});
