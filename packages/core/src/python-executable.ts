/**
 * Which Python a worker runs: the configured one, then $SNAKEPIT_PYTHON, then
 * the project's venv, then python3 on PATH. The source is kept so that an error
 * can say where the path came from.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

export interface ResolvedExecutable {
  readonly path: string;
  readonly source: "options" | "SNAKEPIT_PYTHON" | "venv" | "PATH";
}

const VENV_CANDIDATES = [join(".venv", "bin", "python"), join("python", ".venv", "bin", "python")];

export function resolvePythonExecutable(configured: string | undefined, cwd: string = process.cwd()): ResolvedExecutable {
  if (configured) return { path: configured, source: "options" };
  const fromEnv = process.env["SNAKEPIT_PYTHON"];
  if (fromEnv) return { path: fromEnv, source: "SNAKEPIT_PYTHON" };
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    for (const c of VENV_CANDIDATES) {
      const p = join(dir, c);
      if (existsSync(p)) return { path: p, source: "venv" };
    }
    if (dirname(dir) === dir) break;
  }
  return { path: "python3", source: "PATH" };
}

export function describeExecutable(e: ResolvedExecutable): string {
  switch (e.source) {
    case "options":
      return `'${e.path}' (from python.executable)`;
    case "SNAKEPIT_PYTHON":
      return `'${e.path}' (from $SNAKEPIT_PYTHON)`;
    case "venv":
      return `'${e.path}' (the project's venv)`;
    case "PATH":
      return `'${e.path}' (on PATH; no venv found)`;
  }
}
