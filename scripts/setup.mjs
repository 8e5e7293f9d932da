#!/usr/bin/env node
// One idempotent set-up: Node packages, the Python venv with snakepit_bridge,
// generated code, and the TypeScript build. Safe to run again at any time.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const venv = join(root, "python", ".venv");
const venvPython = join(venv, "bin", "python");
const ci = process.env.CI === "true";

function run(cmd, args, opts = {}) {
  console.log(`$ ${cmd} ${args.join(" ")}`);
  execFileSync(cmd, args, { cwd: root, stdio: "inherit", ...opts });
}

function findBootstrapPython() {
  const candidates = [process.env.SNAKEPIT_BOOTSTRAP_PYTHON, "python3", "python"].filter(Boolean);
  for (const c of candidates) {
    try {
      const v = execFileSync(c, ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"], {
        encoding: "utf8",
      }).trim();
      const [maj, min] = v.split(".").map(Number);
      if (maj === 3 && min >= 10) return c;
      console.warn(`skipping ${c}: Python ${v} is older than 3.10`);
    } catch {
      /* not on PATH */
    }
  }
  throw new Error(
    "No Python 3.10+ found. Install one, or set SNAKEPIT_BOOTSTRAP_PYTHON=/path/to/python3.",
  );
}

// 1. Node packages (the lockfile is the truth on CI).
run("pnpm", ["install", ...(ci ? ["--frozen-lockfile"] : [])]);

// 2. The Python venv with snakepit_bridge (editable) and its test dependencies.
if (!existsSync(venvPython)) run(findBootstrapPython(), ["-m", "venv", venv]);
run(venvPython, ["-m", "pip", "install", "--quiet", "-e", "python[dev,arrays]"]);

// 3. Generated code (TypeScript and Python), then 4. the build.
run("pnpm", ["run", "generate"]);
run("pnpm", ["run", "build"]);
console.log("\nsnakepit: set-up complete (venv: python/.venv)");
