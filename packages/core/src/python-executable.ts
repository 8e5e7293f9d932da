/**
 * Which Python a worker runs: the configured one, then $SNAKEPIT_PYTHON, then a
 * venv found next to the app, then python3 on PATH. The source is kept so that an
 * error can say where the path came from, and what was searched.
 *
 * "Next to the app" does not depend on where Node was started: the search walks up
 * from python.cwd when it is set, then from the directory of the entry module
 * (process.argv[1], the app's main file, whose ancestors hold its package.json),
 * and only then from Node's working directory (for `node -e` and the REPL, which
 * have no entry module). In each directory it looks for `.venv/bin/python` and
 * `python/.venv/bin/python`.
 */
import { existsSync, realpathSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

export interface ResolvedExecutable {
  readonly path: string;
  readonly source: "options" | "SNAKEPIT_PYTHON" | "venv" | "PATH";
  /** Where the venv search started, in order (set when the search ran). */
  readonly searched?: readonly string[];
}

const VENV_CANDIDATES = [join(".venv", "bin", "python"), join("python", ".venv", "bin", "python")];

/** The directory of the entry module (process.argv[1]), symlinks resolved; undefined without one. */
export function appDirectory(entry: string | undefined = process.argv[1]): string | undefined {
  if (!entry) return undefined;
  try {
    const real = realpathSync(entry);
    return statSync(real).isDirectory() ? real : dirname(real);
  } catch {
    return undefined;
  }
}

/** The directories whose ancestors are searched for a venv, in order, without repeats. */
export function venvSearchRoots(cwd: string | undefined): string[] {
  const roots = [cwd === undefined ? undefined : resolve(cwd), appDirectory(), process.cwd()];
  return roots.filter((d, i): d is string => d !== undefined && roots.indexOf(d) === i);
}

/**
 * @param configured `python.executable`, when set.
 * @param cwd `python.cwd`, when set: searched first.
 */
export function resolvePythonExecutable(configured: string | undefined, cwd?: string): ResolvedExecutable {
  if (configured) return { path: configured, source: "options" };
  const fromEnv = process.env["SNAKEPIT_PYTHON"];
  if (fromEnv) return { path: fromEnv, source: "SNAKEPIT_PYTHON" };
  const searched = venvSearchRoots(cwd);
  for (const root of searched) {
    for (let dir = root; ; dir = dirname(dir)) {
      for (const c of VENV_CANDIDATES) {
        const p = join(dir, c);
        if (existsSync(p)) return { path: p, source: "venv", searched };
      }
      if (dirname(dir) === dir) break;
    }
  }
  return { path: "python3", source: "PATH", searched };
}

export function describeExecutable(e: ResolvedExecutable): string {
  switch (e.source) {
    case "options":
      return `'${e.path}' (from python.executable)`;
    case "SNAKEPIT_PYTHON":
      return `'${e.path}' (from $SNAKEPIT_PYTHON)`;
    case "venv":
      return `'${e.path}' (the app's venv)`;
    case "PATH": {
      const where = e.searched?.length ? ` in ${e.searched.join(", ")} or their parents` : "";
      return `'${e.path}' (on PATH; no .venv or python/.venv found${where})`;
    }
  }
}
