import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { describeExecutable, resolvePythonExecutable } from "./python-executable.js";

describe("resolvePythonExecutable", () => {
  let root: string;
  let argv1: string | undefined;
  let cwd: string;
  let env: string | undefined;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "pyexe-"));
    argv1 = process.argv[1];
    cwd = process.cwd();
    env = process.env["SNAKEPIT_PYTHON"];
    delete process.env["SNAKEPIT_PYTHON"];
  });
  afterEach(() => {
    process.argv[1] = argv1!;
    process.chdir(cwd);
    if (env === undefined) delete process.env["SNAKEPIT_PYTHON"];
    else process.env["SNAKEPIT_PYTHON"] = env;
    rmSync(root, { recursive: true, force: true });
  });

  function app(): { dir: string; python: string; entry: string } {
    const dir = join(root, "srv", "app");
    mkdirSync(join(dir, ".venv", "bin"), { recursive: true });
    mkdirSync(join(dir, "src"), { recursive: true });
    const python = join(dir, ".venv", "bin", "python");
    writeFileSync(python, "");
    const entry = join(dir, "src", "front.mjs");
    writeFileSync(entry, "");
    return { dir, python, entry };
  }

  it("finds the app's venv from the entry module, wherever Node was started", () => {
    const { python, entry } = app();
    const elsewhere = join(root, "elsewhere");
    mkdirSync(elsewhere);
    process.chdir(elsewhere);
    process.argv[1] = entry;
    expect(resolvePythonExecutable(undefined)).toMatchObject({ path: python, source: "venv" });
  });

  it("searches python.cwd first, and says what it searched when it finds nothing", () => {
    const { entry } = app();
    const other = join(root, "other");
    mkdirSync(join(other, "python", ".venv", "bin"), { recursive: true });
    writeFileSync(join(other, "python", ".venv", "bin", "python"), "");
    process.argv[1] = entry;
    expect(resolvePythonExecutable(undefined, other).path).toBe(join(other, "python", ".venv", "bin", "python"));

    const empty = join(root, "empty");
    mkdirSync(empty);
    process.chdir(empty);
    process.argv[1] = join(empty, "main.mjs"); // not a file: no entry directory
    const r = resolvePythonExecutable(undefined);
    if (r.source === "PATH") {
      // (no venv in the temp directory's ancestors, as on a clean machine)
      expect(r.path).toBe("python3");
      expect(describeExecutable(r)).toContain(empty);
    }
  });

  it("python.executable, then SNAKEPIT_PYTHON, come before any venv", () => {
    const { entry } = app();
    process.argv[1] = entry;
    process.env["SNAKEPIT_PYTHON"] = "/opt/py/bin/python";
    expect(resolvePythonExecutable("/usr/bin/python3.12")).toEqual({ path: "/usr/bin/python3.12", source: "options" });
    expect(resolvePythonExecutable(undefined)).toEqual({ path: "/opt/py/bin/python", source: "SNAKEPIT_PYTHON" });
  });
});
