#!/usr/bin/env node
// The consumer test: Snakepit installed the way a user gets it. Packs every package
// (pnpm pack, so workspace ranges become real ones) and a wheel of python/, then, in a
// fresh app outside the workspace:
//   - npm install of the tarballs (no workspace links), typescript and @types/node;
//   - `npx snakepit python setup` makes the app's venv from the bridge shipped inside
//     @snakepit/core (twice: the second run changes nothing);
//   - tsc with skipLibCheck off over a file that imports every package;
//   - `require()` of every package (require(esm), Node 20.19+);
//   - a pool with an adapter of the app's own, started from another directory with
//     no SNAKEPIT_PYTHON: the app's venv is found from the entry module;
//   - nothing left in the temp directory by that run.
// Checks the tarballs and the wheel for a LICENSE, and the tarballs' READMEs for links
// that point outside the package. Prints `ok`/`FAIL` per check and a closing line
// `consumer: N passed, N failed`; writes test-results/consumer.json.
//
// Needs the packages built (pnpm run build), python/.venv (for the wheel) and the
// npm registry and PyPI. Takes a minute or two. SNAKEPIT_KEEP_CONSUMER=1 keeps the
// app directory for a look afterwards.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, cpSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const PACKAGES = ["core", "compat", "diagnostics", "lifecycle", "otel", "remote"];
const results = { passed: 0, failed: 0, failures: [] };
const work = mkdtempSync(join(tmpdir(), "consumer-app-"));
const tarballs = join(work, "tarballs");
const app = join(work, "app");
const elsewhere = join(work, "elsewhere");
const devPython = join(root, "python", ".venv", "bin", "python");
const started = Date.now();

function check(label, ok, detail = "") {
  console.log(`${ok ? "ok  " : "FAIL"} ${label}${!ok && detail ? `\n${detail}` : ""}`);
  results[ok ? "passed" : "failed"]++;
  if (!ok) results.failures.push(label);
  return ok;
}

/** Runs a command; returns { status, stdout, stderr } (stderr also shown). */
function sh(cmd, args, opts = {}) {
  console.log(`$ ${cmd} ${args.join(" ")}${opts.cwd ? `   (in ${opts.cwd})` : ""}`);
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 5 * 60_000, killSignal: "SIGKILL", ...opts });
  if (r.stderr?.trim()) process.stderr.write(`${r.stderr.trim().split("\n").slice(-15).join("\n")}\n`);
  return { status: r.status ?? 1, stdout: r.stdout ?? "", stderr: r.stderr ?? "", error: r.error };
}

function tarList(file) {
  return execFileSync("tar", ["tzf", file], { encoding: "utf8" }).trim().split("\n");
}
function tarRead(file, member) {
  return execFileSync("tar", ["xzf", file, "-O", member], { encoding: "utf8" });
}

const env = { ...process.env };
delete env.SNAKEPIT_PYTHON;
delete env.PYTHONPATH;
delete env.npm_config_prefix;

try {
  // 1. Tarballs.
  mkdirSync(tarballs, { recursive: true });
  const files = {};
  for (const p of PACKAGES) {
    const r = sh("pnpm", ["pack", "--pack-destination", tarballs], { cwd: join(root, "packages", p), env });
    const tgz = readdirSync(tarballs).find((f) => f.startsWith(`snakepit-${p}-`) && f.endsWith(".tgz"));
    if (!check(`pnpm pack @snakepit/${p}`, r.status === 0 && tgz !== undefined, r.stdout.slice(-2000))) continue;
    files[p] = join(tarballs, tgz);
    const list = tarList(files[p]);
    check(`@snakepit/${p} tarball has a LICENSE`, list.includes("package/LICENSE"));
    const manifest = JSON.parse(tarRead(files[p], "package/package.json"));
    const ranges = JSON.stringify({ ...manifest.dependencies, ...manifest.peerDependencies });
    check(`@snakepit/${p} tarball names no workspace: range`, !ranges.includes("workspace:"), ranges);
    const readme = tarRead(files[p], "package/README.md");
    const bad = [...readme.matchAll(/\]\((?!https?:|#|mailto:)([^)\s]+)\)/g)]
      .map((m) => m[1])
      .filter((target) => !list.includes(`package/${target.replace(/^\.\//, "").split("#")[0]}`));
    check(`@snakepit/${p} README links only to pages or files in the tarball`, bad.length === 0, `  links to: ${bad.join(", ")}`);
    if (p === "core") {
      check(
        "@snakepit/core tarball carries the bridge (python/pyproject.toml, python/src/snakepit_bridge, its LICENSE)",
        ["package/python/pyproject.toml", "package/python/LICENSE", "package/python/src/snakepit_bridge/__init__.py"].every((f) =>
          list.includes(f),
        ) && !list.some((f) => f.includes("__pycache__")),
      );
      check("the packed tree leaves no copy of the bridge in packages/core", !existsSync(join(root, "packages", "core", "python")));
    }
  }

  // 2. The wheel, built from a copy (pip builds a directory in place).
  const pySrc = join(work, "python-src");
  cpSync(join(root, "python"), pySrc, {
    recursive: true,
    filter: (p) => ![".venv", ".venv-ft", "__pycache__", "build", ".pytest_cache"].includes(basename(p)) && !p.endsWith(".egg-info"),
  });
  const wheelDir = join(work, "wheel");
  const w = sh(devPython, ["-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q", "-w", wheelDir, pySrc], { env });
  const wheel = existsSync(wheelDir) ? readdirSync(wheelDir).find((f) => f.endsWith(".whl")) : undefined;
  if (check("pip wheel python --no-deps", w.status === 0 && wheel !== undefined)) {
    const names = execFileSync(devPython, ["-c", "import sys, zipfile; print('\\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))", join(wheelDir, wheel)], {
      encoding: "utf8",
    }).split("\n");
    check("the wheel carries a LICENSE", names.some((n) => /\.dist-info\/(licenses\/)?LICENSE$/.test(n)), names.filter((n) => n.includes("dist-info")).join("\n"));
    check("the wheel carries py.typed and the generated stubs", names.includes("snakepit_bridge/py.typed") && names.some((n) => n.startsWith("snakepit_bridge/_proto/")));
  }

  // 3. The app: npm install of the tarballs, outside the workspace.
  mkdirSync(app, { recursive: true });
  mkdirSync(elsewhere, { recursive: true });
  const rootManifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const pkgJson = {
    name: "consumer-app",
    private: true,
    type: "module",
    dependencies: Object.fromEntries(PACKAGES.filter((p) => files[p]).map((p) => [`@snakepit/${p}`, `file:${files[p]}`])),
    devDependencies: {
      typescript: rootManifest.devDependencies.typescript,
      "@types/node": rootManifest.devDependencies["@types/node"],
      "@opentelemetry/api": "1.9.0",
    },
  };
  writeFileSync(join(app, "package.json"), `${JSON.stringify(pkgJson, null, 2)}\n`);
  const npmCache = process.env.npm_config_cache;
  const install = sh("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: app, env: { ...env, ...(npmCache ? { npm_config_cache: npmCache } : {}) } });
  check("npm install of the tarballs in a fresh app", install.status === 0, install.stdout.slice(-2000));
  const linked = PACKAGES.filter((p) => {
    try {
      return readFileSync(join(app, "node_modules", "@snakepit", p, "package.json"), "utf8").length > 0 && !isLink(join(app, "node_modules", "@snakepit", p));
    } catch {
      return false;
    }
  });
  check("every package is installed as files, not linked to the workspace", linked.length === PACKAGES.length, `installed: ${linked.join(", ")}`);

  // 4. The app's venv, from the bridge shipped in @snakepit/core.
  const bootstrap = process.env.SNAKEPIT_BOOTSTRAP_PYTHON ?? "python3";
  const setup1 = sh("npx", ["--no-install", "snakepit", "python", "setup", "--python", bootstrap, "--venv", ".venv"], { cwd: app, env });
  check(
    "npx snakepit python setup makes the app's venv with the shipped bridge and protobuf",
    setup1.status === 0 && existsSync(join(app, ".venv", "bin", "python")) && /installed for .*\.venv\/bin\/python/.test(setup1.stdout),
    setup1.stdout + setup1.stderr.slice(-2000),
  );
  check("it says what to set (python.executable, SNAKEPIT_PYTHON)", setup1.stdout.includes("python: { executable:") && setup1.stdout.includes("SNAKEPIT_PYTHON="), setup1.stdout);
  const setup2 = sh("npx", ["--no-install", "snakepit", "python", "setup", "--venv", ".venv"], { cwd: app, env });
  check("running it again changes nothing", setup2.status === 0 && setup2.stdout.includes("nothing to do") && !setup2.stderr.includes("pip install"), setup2.stdout);
  const venvPython = join(app, ".venv", "bin", "python");
  const fromShipped = sh(venvPython, ["-c", "import snakepit_bridge, os; print(os.path.dirname(snakepit_bridge.__file__))"], { cwd: elsewhere, env });
  check("the venv imports snakepit_bridge from its own site-packages", fromShipped.status === 0 && fromShipped.stdout.includes(join(app, ".venv")), fromShipped.stdout);

  // 5. Type-check the app with skipLibCheck off.
  writeFileSync(
    join(app, "tsconfig.json"),
    `${JSON.stringify(
      {
        compilerOptions: {
          target: "es2022",
          module: "nodenext",
          strict: true,
          skipLibCheck: false,
          noEmit: true,
          types: ["node"],
        },
        include: ["src"],
      },
      null,
      2,
    )}\n`,
  );
  mkdirSync(join(app, "src"), { recursive: true });
  writeFileSync(
    join(app, "src", "check.ts"),
    `import { createPool, isSnakepitError, SnakepitError, type Pool, type PoolOptions } from "@snakepit/core";
import { probePython } from "@snakepit/compat";
import { runDoctor, serveDiagnostics } from "@snakepit/diagnostics";
import { lifecycle } from "@snakepit/lifecycle";
import { instrumentSnakepit } from "@snakepit/otel";
import { remoteProfile } from "@snakepit/remote";
import { createConnectChannel, type WorkerHandle } from "@snakepit/core/profile";

const options: PoolOptions = { size: 1, python: { adapter: "tools:Tools" }, plugins: [lifecycle({ maxRequests: 100 })] };
export async function main(): Promise<number> {
  const pool: Pool = await createPool(options);
  try {
    const sum = await pool.execute<number>("add", { a: 1, b: 2 });
    return sum;
  } catch (err) {
    if (isSnakepitError(err)) console.log(err.code);
    throw err instanceof SnakepitError ? err : SnakepitError.from(err);
  } finally {
    await pool.close();
  }
}
export const unused = [probePython, runDoctor, serveDiagnostics, instrumentSnakepit, remoteProfile, createConnectChannel] as const;
export type Handle = WorkerHandle;
`,
  );
  const tsc = sh(join(app, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.json"], { cwd: app, env });
  check("tsc (skipLibCheck: false) over an app that imports every package", tsc.status === 0, tsc.stdout.slice(-4000));
  // What \`tsc --init\` (TypeScript 5.9) writes ("types": [], no DOM library), with
  // skipLibCheck off: our declarations reference node's types themselves.
  writeFileSync(
    join(app, "tsconfig.init.json"),
    `${JSON.stringify(
      {
        compilerOptions: {
          module: "nodenext",
          target: "esnext",
          lib: ["esnext"],
          types: [],
          noUncheckedIndexedAccess: true,
          exactOptionalPropertyTypes: true,
          strict: true,
          verbatimModuleSyntax: true,
          isolatedModules: true,
          noUncheckedSideEffectImports: true,
          moduleDetection: "force",
          skipLibCheck: false,
          noEmit: true,
        },
        include: ["src"],
      },
      null,
      2,
    )}\n`,
  );
  const tscInit = sh(join(app, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.init.json"], { cwd: app, env });
  check("tsc with tsc --init's settings, skipLibCheck off and no DOM library", tscInit.status === 0, tscInit.stdout.slice(-4000));

  // 6. require(esm) of every package.
  const req = sh(process.execPath, ["-e", [...PACKAGES.map((p) => `require("@snakepit/${p}");`), `require("@snakepit/core/profile");`].join("")], { cwd: app, env });
  check("require() of every package and of @snakepit/core/profile (require(esm) on Node 20.19+)", req.status === 0, req.stderr.slice(-2000));

  // 7. A pool of the app's own adapter, started from another directory.
  writeFileSync(
    join(app, "tools.py"),
    `from snakepit_bridge import Adapter, tool


class Tools(Adapter):
    @tool
    def add(self, a: int, b: int) -> int:
        """Add two integers."""
        return a + b
`,
  );
  writeFileSync(
    join(app, "main.mjs"),
    `import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createPool } from "@snakepit/core";

const here = dirname(fileURLToPath(import.meta.url));
const pool = await createPool({ size: 1, python: { adapter: "tools:Tools", cwd: here } });
try {
  const sum = await pool.execute("add", { a: 2, b: 3 });
  const pid = pool.stats().perWorker[0].pid;
  const argv0 = readFileSync(\`/proc/\${pid}/cmdline\`, "utf8").split("\\0")[0];
  console.log(JSON.stringify({ sum, python: argv0 }));
} finally {
  await pool.close();
}
`,
  );
  const before = new Set(readdirSync(tmpdir()).filter((n) => n.startsWith("snakepit-")));
  const runApp = sh(process.execPath, [join(app, "main.mjs")], { cwd: elsewhere, env });
  let out;
  try {
    out = JSON.parse(runApp.stdout.trim().split("\n").pop());
  } catch {
    out = undefined;
  }
  check("node /app/main.mjs, started from another directory, runs a call", runApp.status === 0 && out?.sum === 5, runApp.stdout + runApp.stderr.slice(-3000));
  check("its workers ran the app's venv (found from the entry module, no SNAKEPIT_PYTHON)", out?.python === venvPython, `worker ran ${out?.python}`);
  const left = readdirSync(tmpdir()).filter((n) => n.startsWith("snakepit-") && !before.has(n));
  check("the run left nothing in the temp directory", left.length === 0, `  left: ${left.join(", ")}`);
} catch (err) {
  check(`consumer test ran to the end (${err?.message ?? err})`, false, err?.stack);
} finally {
  if (process.env.SNAKEPIT_KEEP_CONSUMER === "1") console.log(`(kept ${work})`);
  else rmSync(work, { recursive: true, force: true });
}

function isLink(p) {
  try {
    return execFileSync("stat", ["-c", "%F", p], { encoding: "utf8" }).includes("symbolic link");
  } catch {
    return false;
  }
}

console.log(`consumer: ${((Date.now() - started) / 1000).toFixed(0)} s`);
mkdirSync(join(root, "test-results"), { recursive: true });
writeFileSync(join(root, "test-results", "consumer.json"), `${JSON.stringify(results)}\n`);
console.log(`consumer: ${results.passed} passed, ${results.failed} failed`);
process.exit(results.failed === 0 ? 0 : 1);
