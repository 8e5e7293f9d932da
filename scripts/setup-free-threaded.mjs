#!/usr/bin/env node
// `pnpm run setup:free-threaded`: a venv on a free-threaded CPython (python/.venv-ft)
// with snakepit_bridge installed, for the free-threaded tests and benchmarks.
//
// 1. Finds a free-threaded interpreter: $SNAKEPIT_FREE_THREADED_PYTHON, then
//    python3.14t / python3.13t on PATH, then the build cache
//    (${SNAKEPIT_CACHE_DIR:-~/.cache/snakepit}/cpython-3.13t). Each candidate must
//    really be one: sysconfig's Py_GIL_DISABLED is 1.
// 2. If there is none, builds CPython 3.13t with scripts/build-free-threaded-python.sh
//    (Debian's source package; about 20 minutes on 2 cores, once: the cache is
//    outside the repository).
// 3. Creates python/.venv-ft and installs the bridge (`pip install -e python[otel]`)
//    and the test tools. grpcio must not be there: no free-threaded build of it exists.
//
// Idempotent and quick when everything exists: a stamp in the venv records the
// interpreter and the hash of python/pyproject.toml it was installed from.
//
// Prints the venv's interpreter path on the last line. Exit 1 with a reason when no
// free-threaded interpreter can be had (e.g. no apt-get to build one).
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const venv = join(root, "python", ".venv-ft");
const venvPython = join(venv, "bin", "python");
const stampFile = join(venv, ".snakepit-setup.json");
const cacheDir = process.env.SNAKEPIT_CACHE_DIR || join(homedir(), ".cache", "snakepit");
const cachedPython = join(cacheDir, "cpython-3.13t", "bin", "python3.13t");
// Bump when what this script installs changes, so existing venvs are refreshed.
const STAMP_VERSION = 2;

const INFO_SCRIPT = [
  "import json, sys, sysconfig",
  "g = getattr(sys, '_is_gil_enabled', None)",
  "print(json.dumps({'executable': sys.executable, 'version': sys.version.split()[0],",
  "  'py_gil_disabled': sysconfig.get_config_var('Py_GIL_DISABLED'),",
  "  'gil_enabled': bool(g()) if g else True}))",
].join("\n");

function log(message) {
  console.log(`setup:free-threaded: ${message}`);
}

function fail(message) {
  console.error(`setup:free-threaded: ${message}`);
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  console.log(`$ ${cmd} ${args.join(" ")}`);
  execFileSync(cmd, args, { cwd: root, stdio: "inherit", ...opts });
}

/** What `python` says about itself, or null if it does not run. */
function describe(python) {
  const r = spawnSync(python, ["-c", INFO_SCRIPT], { encoding: "utf8", timeout: 30_000 });
  if (r.status !== 0) return null;
  try {
    return JSON.parse(r.stdout.trim().split("\n").pop());
  } catch {
    return null;
  }
}

function onPath(name) {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

function findFreeThreaded() {
  const explicit = process.env.SNAKEPIT_FREE_THREADED_PYTHON;
  if (explicit) {
    const info = describe(explicit);
    if (info === null) fail(`SNAKEPIT_FREE_THREADED_PYTHON=${explicit} does not run`);
    if (info.py_gil_disabled !== 1) {
      fail(`SNAKEPIT_FREE_THREADED_PYTHON=${explicit} is Python ${info.version} built with the GIL (sysconfig Py_GIL_DISABLED is ${info.py_gil_disabled})`);
    }
    return explicit;
  }
  const candidates = [onPath("python3.14t"), onPath("python3.13t"), cachedPython].filter(Boolean);
  for (const candidate of candidates) {
    if (!existsSync(candidate)) continue;
    const info = describe(candidate);
    if (info?.py_gil_disabled === 1) return candidate;
    log(`skipping ${candidate}: ${info === null ? "it does not run" : `Py_GIL_DISABLED is ${info.py_gil_disabled}`}`);
  }
  return null;
}

function buildFreeThreaded() {
  log(`no free-threaded Python found; building CPython 3.13t into ${dirname(dirname(cachedPython))}`);
  log("this takes about 20 minutes on 2 cores, once (later runs reuse the build)");
  const started = Date.now();
  const r = spawnSync("bash", [join(root, "scripts", "build-free-threaded-python.sh")], {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (r.status !== 0) {
    fail(
      "could not build a free-threaded CPython (see above). Install one yourself " +
        "(`uv python install 3.13t`, the python.org installer's free-threaded option, or your distribution's package) " +
        "and set SNAKEPIT_FREE_THREADED_PYTHON to it.",
    );
  }
  const built = r.stdout.trim().split("\n").pop();
  log(`built ${built} in ${((Date.now() - started) / 60000).toFixed(1)} minutes`);
  return built;
}

/** The `dev` extra of python/pyproject.toml without anything gRPC (no free-threaded build). */
function testRequirements(pyproject) {
  const dev = pyproject.match(/^dev\s*=\s*\[([\s\S]*?)\]/m);
  const items = dev ? [...dev[1].matchAll(/"([^"]+)"/g)].map((m) => m[1]) : ["pytest>=8"];
  return items.filter((req) => !/^grpcio/i.test(req));
}

/** Test requirements with native code: from wheels only (see below). */
const BINARY_ONLY = /^pydantic\b/i;

// ---- 1. and 2. the interpreter -------------------------------------------------------
const base = findFreeThreaded() ?? buildFreeThreaded();
const baseInfo = describe(base);
if (baseInfo?.py_gil_disabled !== 1) fail(`${base} is not a free-threaded build`);
log(`interpreter: ${base} (Python ${baseInfo.version}, Py_GIL_DISABLED=1, GIL ${baseInfo.gil_enabled ? "on" : "off"} at start-up)`);

// ---- 3. the venv ------------------------------------------------------------------------
const pyproject = readFileSync(join(root, "python", "pyproject.toml"), "utf8");
const stamp = {
  version: STAMP_VERSION,
  base: realpathSync(base),
  pyproject: createHash("sha256").update(pyproject).digest("hex"),
};
const current = existsSync(stampFile) ? readFileSync(stampFile, "utf8").trim() : "";
const venvInfo = existsSync(venvPython) ? describe(venvPython) : null;

if (venvInfo !== null && venvInfo.py_gil_disabled === 1 && current === JSON.stringify(stamp)) {
  log(`python/.venv-ft is up to date (${stampFile} matches)`);
} else {
  if (existsSync(venv) && (venvInfo === null || venvInfo.py_gil_disabled !== 1)) {
    log("python/.venv-ft exists but is not a working free-threaded venv: recreating it");
    rmSync(venv, { recursive: true, force: true });
  }
  if (!existsSync(venvPython)) run(base, ["-m", "venv", venv]);
  const pip = [venvPython, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"];
  // Test extras with native parts (pydantic's core) install only from a published
  // wheel for this ABI, never from source (a Rust build): without one, the tests that
  // need them skip.
  const requirements = testRequirements(pyproject);
  const binaryOnly = requirements.filter((req) => BINARY_ONLY.test(req));
  try {
    run(pip[0], [...pip.slice(1), "-e", "python[otel]", ...requirements.filter((req) => !BINARY_ONLY.test(req))]);
    for (const req of binaryOnly) {
      try {
        run(pip[0], [...pip.slice(1), "--only-binary=:all:", req]);
      } catch {
        log(`${req} has no free-threaded wheel here: the tests that need it skip`);
      }
    }
  } catch {
    // The otel extra and test extras are pure Python; if one still will not install
    // here, the bridge and pytest are what the free-threaded suites need.
    log("installing with the otel extra failed; installing the bridge and pytest alone");
    try {
      run(pip[0], [...pip.slice(1), "-e", "python", "pytest>=8"]);
    } catch {
      fail(
        "pip could not install snakepit_bridge into python/.venv-ft (see above). The bridge must depend on nothing " +
          "without a free-threaded build (grpcio has none): check the dependencies in python/pyproject.toml.",
      );
    }
  }
  writeFileSync(stampFile, JSON.stringify(stamp) + "\n");
}

// ---- checks: what the tests rely on ---------------------------------------------------
const check = spawnSync(
  venvPython,
  [
    "-c",
    [
      "import importlib.util, json, sys",
      "import snakepit_bridge, google.protobuf, pytest",
      "from google.protobuf.internal import api_implementation",
      "print(json.dumps({'grpc': importlib.util.find_spec('grpc') is not None,",
      "  'protobuf': google.protobuf.__version__, 'impl': api_implementation.Type(),",
      "  'gil_enabled': sys._is_gil_enabled()}))",
    ].join("\n"),
  ],
  { encoding: "utf8" },
);
if (check.status !== 0) fail(`python/.venv-ft cannot import what the tests need:\n${check.stderr}`);
const installed = JSON.parse(check.stdout.trim().split("\n").pop());
if (installed.grpc) {
  fail("grpcio is installed in python/.venv-ft, but the free-threaded worker must run without it (no free-threaded grpcio exists)");
}
if (installed.gil_enabled) fail("python/.venv-ft runs with the GIL enabled after importing snakepit_bridge (PYTHON_GIL=1 set?)");
log(`python/.venv-ft: snakepit_bridge, protobuf ${installed.protobuf} (${installed.impl} implementation), no grpcio, GIL off`);
console.log(venvPython);
