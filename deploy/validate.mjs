#!/usr/bin/env node
// Validates deploy/kubernetes/*.yaml against Kubernetes' own schemas, offline:
// `kubernetes-validate --strict` (PyPI) ships the schemas, so nothing is fetched
// at run time. Unknown fields fail (--strict).
//
//   node deploy/validate.mjs            validate (kubernetes-validate must be installed)
//   node deploy/validate.mjs --install  first install it into deploy/.venv (needs PyPI)
//
// The tool is looked up in $KUBERNETES_VALIDATE, deploy/.venv, then PATH.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const KUBERNETES_VALIDATE_VERSION = "1.37.0";
const here = dirname(fileURLToPath(import.meta.url));
const venv = join(here, ".venv");

export function findValidator() {
  const fromEnv = process.env.KUBERNETES_VALIDATE;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  const local = join(venv, "bin", "kubernetes-validate");
  if (existsSync(local)) return local;
  const which = spawnSync("sh", ["-c", "command -v kubernetes-validate"], { encoding: "utf8" });
  return which.status === 0 && which.stdout.trim() ? which.stdout.trim() : undefined;
}

export function manifests() {
  const dir = join(here, "kubernetes");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => join(dir, f));
}

function install() {
  const python = process.env.SNAKEPIT_PYTHON_FOR_TOOLS ?? "python3";
  for (const [cmd, args] of [
    [python, ["-m", "venv", venv]],
    [join(venv, "bin", "pip"), ["install", "--quiet", `kubernetes-validate==${KUBERNETES_VALIDATE_VERSION}`]],
  ]) {
    const r = spawnSync(cmd, args, { stdio: "inherit" });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal})`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes("--install") && !findValidator()) install();
  const tool = findValidator();
  if (!tool) {
    console.error("kubernetes-validate is not installed: run `node deploy/validate.mjs --install` (it needs PyPI once)");
    process.exit(2);
  }
  const r = spawnSync(tool, ["--strict", ...manifests()], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}
