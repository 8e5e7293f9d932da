/**
 * `snakepit python setup`: installs the Python side of Snakepit (snakepit_bridge,
 * shipped inside @snakepit/core as pure-Python source, plus protobuf from the
 * package index) into an interpreter the user names, or into a venv it makes, and
 * says how the pool finds that interpreter. Safe to run again: an interpreter whose
 * installed bridge matches the shipped one is left alone.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import type { Command } from "commander";

export interface PythonSetupOptions {
  /** Install into this interpreter; with `venv`, the interpreter that makes the venv. */
  python?: string;
  /** Make (or reuse) a venv here and install into it. Default: `.venv` when `python` is not given. */
  venv?: string;
  /** Reinstall even when the installed bridge matches the shipped one. Default false. */
  force?: boolean;
  /** Where the bridge's source is. Default: the copy inside @snakepit/core. */
  bridgeSource?: string;
  /** Relative paths resolve against this. Default: process.cwd(). */
  cwd?: string;
  /** Progress lines (pip's output goes to stderr). Default: process.stderr. */
  log?: (line: string) => void;
}

export interface PythonSetupResult {
  /** The interpreter that now has snakepit_bridge and protobuf. */
  readonly executable: string;
  readonly pythonVersion: string;
  readonly bridgeVersion: string;
  readonly protobufVersion: string;
  /** False when everything was already in place. */
  readonly changed: boolean;
  readonly createdVenv: boolean;
  /** The directory whose apps find this interpreter without configuration, if any. */
  readonly discoveredFrom: string | undefined;
}

interface InterpreterState {
  executable: string;
  version: string;
  versionInfo: [number, number];
  bridge: string | null;
  bridgeDir: string | null;
  protobuf: string | null;
  pip: string | null;
}

const STATE_SCRIPT = String.raw`
import json, os, sys
sys.path[:] = [p for p in sys.path if p]
out = {"executable": sys.executable, "version": "%d.%d.%d" % sys.version_info[:3], "versionInfo": list(sys.version_info[:2])}
from importlib import metadata
def version(name):
    try:
        return metadata.version(name)
    except Exception:
        return None
out["bridge"] = version("snakepit-bridge")
out["protobuf"] = version("protobuf")
out["pip"] = version("pip")
try:
    import importlib.util
    spec = importlib.util.find_spec("snakepit_bridge")
    out["bridgeDir"] = os.path.dirname(spec.origin) if spec and spec.origin else None
except Exception:
    out["bridgeDir"] = None
print(json.dumps(out))
`;

export class PythonSetupError extends Error {
  override readonly name = "PythonSetupError";
}

/** The directory holding the bridge's pyproject.toml: the copy in @snakepit/core, or this repository's python/. */
export function findBridgeSource(): string {
  const require = createRequire(import.meta.url);
  let coreDir: string;
  try {
    coreDir = dirname(require.resolve("@snakepit/core/package.json"));
  } catch {
    throw new PythonSetupError("@snakepit/core is not installed next to @snakepit/diagnostics: npm install @snakepit/core");
  }
  const candidates = [join(coreDir, "python"), join(coreDir, "..", "..", "python")];
  for (const dir of candidates) {
    const pyproject = join(dir, "pyproject.toml");
    if (existsSync(pyproject) && /^name\s*=\s*"snakepit-bridge"/m.test(readFileSync(pyproject, "utf8"))) return resolve(dir);
  }
  throw new PythonSetupError(
    `the Python bridge is not in @snakepit/core (looked in ${candidates.join(", ")}); reinstall @snakepit/core, or pass --bridge <dir>`,
  );
}

function readState(python: string, cwd: string): InterpreterState {
  const r = spawnSync(python, ["-c", STATE_SCRIPT], { encoding: "utf8", cwd: tmpdir(), env: { ...process.env, PYTHONPATH: "" } });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    throw new PythonSetupError(
      code === "ENOENT"
        ? `no interpreter at '${python}' (resolved from ${cwd}); pass --python with the path of a Python 3.10+`
        : `could not run '${python}': ${r.error.message}`,
    );
  }
  if (r.status !== 0) throw new PythonSetupError(`'${python}' is not a Python that runs this check:\n${r.stderr.trim()}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as InterpreterState;
}

function bridgeVersion(source: string): string {
  return /^version\s*=\s*"([^"]+)"/m.exec(readFileSync(join(source, "pyproject.toml"), "utf8"))?.[1] ?? "?";
}

/** Every file of the package (no caches), relative to `dir`. */
function packageFiles(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === "__pycache__" || name.endsWith(".pyc")) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...packageFiles(full, `${prefix}${name}/`));
    else out.push(`${prefix}${name}`);
  }
  return out;
}

/** True when the installed package has exactly the shipped files, byte for byte. */
function sameFiles(shipped: string, installed: string): boolean {
  if (resolve(shipped) === resolve(installed)) return true;
  const want = packageFiles(shipped);
  for (const f of want) {
    const other = join(installed, f);
    if (!existsSync(other) || !readFileSync(join(shipped, f)).equals(readFileSync(other))) return false;
  }
  return true;
}

function run(cmd: string, args: string[], what: string, log: (line: string) => void): void {
  log(`$ ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { stdio: ["ignore", "inherit", "inherit"], cwd: tmpdir() });
  if (r.error) throw new PythonSetupError(`${what}: could not run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new PythonSetupError(`${what} failed (${cmd} exited with ${r.status ?? r.signal}); its output is above`);
}

/** Where an app finds this interpreter without configuration (its `.venv` or `python/.venv`). */
function discoveryRoot(executable: string): string | undefined {
  const parts = resolve(executable).split(sep);
  const n = parts.length;
  if (n >= 4 && parts[n - 2] === "bin" && parts[n - 3] === ".venv" && parts[n - 1]!.startsWith("python")) {
    const above = parts.slice(0, n - 3);
    if (above[above.length - 1] === "python") return above.slice(0, -1).join(sep) || sep;
    return above.join(sep) || sep;
  }
  return undefined;
}

export function setupPython(options: PythonSetupOptions = {}): PythonSetupResult {
  const cwd = options.cwd ?? process.cwd();
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const source = options.bridgeSource ? resolve(cwd, options.bridgeSource) : findBridgeSource();
  const shippedPackage = join(source, "src", "snakepit_bridge");
  if (!existsSync(shippedPackage)) throw new PythonSetupError(`${source} has no src/snakepit_bridge: not the bridge's source`);

  let target: string;
  let createdVenv = false;
  if (options.python !== undefined && options.venv === undefined) {
    target = options.python.includes("/") ? resolve(cwd, options.python) : options.python;
  } else {
    const venv = resolve(cwd, options.venv ?? ".venv");
    target = join(venv, "bin", "python");
    if (!existsSync(target)) {
      const base = options.python ?? "python3";
      const state = readState(base, cwd);
      if (state.versionInfo[0] !== 3 || state.versionInfo[1] < 10) {
        throw new PythonSetupError(`${base} is Python ${state.version}; the bridge needs 3.10 or newer (pass --python)`);
      }
      log(`making a venv at ${venv} with ${state.executable} (Python ${state.version})`);
      run(base, ["-m", "venv", venv], "making the venv", log);
      createdVenv = true;
    }
  }

  let state = readState(target, cwd);
  if (state.versionInfo[0] !== 3 || state.versionInfo[1] < 10) {
    throw new PythonSetupError(`${target} is Python ${state.version}; the bridge needs 3.10 or newer`);
  }
  const upToDate = state.bridge !== null && state.protobuf !== null && state.bridgeDir !== null && sameFiles(shippedPackage, state.bridgeDir);
  let changed = false;
  if (!upToDate || options.force) {
    if (state.pip === null) {
      throw new PythonSetupError(
        `${state.executable} has no pip; make a venv instead (snakepit python setup --venv .venv --python ${target}), or install pip for it`,
      );
    }
    // pip builds a local directory in place: build from a copy, so the installed
    // package (often read-only under node_modules) gets no build/ or egg-info.
    const copy = mkdtempSync(join(tmpdir(), "snakepit-bridge-src-"));
    try {
      cpSync(source, copy, {
        recursive: true,
        filter: (p) => !["__pycache__", "build", ".venv", ".venv-ft", "tests"].includes(basename(p)) && !p.endsWith(".egg-info"),
      });
      try {
        run(
          target,
          ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", ...(options.force ? ["--force-reinstall"] : []), copy],
          `installing snakepit_bridge ${bridgeVersion(source)} for ${target}`,
          log,
        );
      } catch (err) {
        if (createdVenv || options.venv !== undefined) throw err;
        throw new PythonSetupError(
          `${(err as Error).message}. If pip refused an interpreter that the system manages (PEP 668), ` +
            `make a venv instead: snakepit python setup --venv .venv --python ${target}`,
        );
      }
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
    changed = true;
    state = readState(target, cwd);
    if (state.bridge === null || state.protobuf === null || state.bridgeDir === null || !sameFiles(shippedPackage, state.bridgeDir)) {
      throw new PythonSetupError(
        `pip finished, but ${target} does not import the shipped snakepit_bridge (found ${state.bridgeDir ?? "none"}): is another copy earlier on its path?`,
      );
    }
  }
  return {
    executable: target.startsWith("/") ? target : state.executable,
    pythonVersion: state.version,
    bridgeVersion: state.bridge!,
    protobufVersion: state.protobuf!,
    changed,
    createdVenv,
    discoveredFrom: target.startsWith("/") ? discoveryRoot(target) : undefined,
  };
}

export function renderPythonSetup(r: PythonSetupResult, cwd: string = process.cwd()): string {
  const lines = [
    r.changed
      ? `snakepit_bridge ${r.bridgeVersion} and protobuf ${r.protobufVersion} are installed for ${r.executable} (Python ${r.pythonVersion}).`
      : `${r.executable} (Python ${r.pythonVersion}) already has snakepit_bridge ${r.bridgeVersion} and protobuf ${r.protobufVersion}: nothing to do.`,
  ];
  if (r.discoveredFrom !== undefined) {
    const where = relative(cwd, r.discoveredFrom) === "" ? `${r.discoveredFrom} (here)` : r.discoveredFrom;
    lines.push(
      `Pools find it without configuration when python.cwd or the app's entry module is in ${where} or below.`,
      "Elsewhere, point them at it with one of:",
    );
  } else {
    lines.push("Point your pools at it with one of:");
  }
  lines.push(`  python: { executable: ${JSON.stringify(r.executable)} }   (in createPool's options)`, `  SNAKEPIT_PYTHON=${r.executable}`);
  return lines.join("\n");
}

export function registerPythonCommand(program: Command): void {
  const python = program.command("python").description("set up the Python side: snakepit_bridge and protobuf in an interpreter");
  python
    .command("setup")
    .description(
      "install snakepit_bridge (shipped with @snakepit/core) and protobuf into an interpreter, or into a new venv (default ./.venv); safe to run again",
    )
    .option("--python <path>", "install into this interpreter (with --venv: the one that makes the venv; default python3)")
    .option("--venv <dir>", "make or reuse a venv here and install into it (the default, as .venv, when --python is not given)")
    .option("--force", "reinstall even when the installed bridge matches the shipped one")
    .option("--bridge <dir>", "install the bridge from this source directory instead of the copy in @snakepit/core")
    .option("--json", "print the result as JSON")
    .action((opts: { python?: string; venv?: string; force?: boolean; bridge?: string; json?: boolean }) => {
      try {
        const result = setupPython({
          ...(opts.python !== undefined ? { python: opts.python } : {}),
          ...(opts.venv !== undefined ? { venv: opts.venv } : {}),
          ...(opts.force ? { force: true } : {}),
          ...(opts.bridge !== undefined ? { bridgeSource: opts.bridge } : {}),
        });
        process.stdout.write(`${opts.json ? JSON.stringify(result, null, 2) : renderPythonSetup(result)}\n`);
      } catch (err) {
        process.stderr.write(`snakepit python setup: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
