/**
 * What doctor needs to know about an interpreter: version, free-threading, GIL,
 * and installed package versions. Uses @snakepit/compat's probePython when that
 * is installed (it also reports the matrix libraries), else a small probe of its own.
 */
import { execFile } from "node:child_process";
import { isSnakepitError } from "@snakepit/core";
import type { CompatModule } from "./compat-loader.js";

export type CompatProbe = Awaited<ReturnType<CompatModule["probePython"]>>;

export interface PythonFacts {
  readonly executable: string;
  readonly version: string;
  readonly implementation: string;
  readonly freeThreaded: boolean;
  readonly gilEnabled: boolean;
  /** Installed version by distribution name, null when missing. */
  readonly packages: Readonly<Record<string, string | null>>;
  /** compat's full probe, when compat did the probing. */
  readonly probe?: CompatProbe;
}

const SCRIPT = String.raw`
import sys, json, platform, sysconfig
sys.path[:] = [p for p in sys.path if p]
from importlib import metadata
def v(name):
    try:
        return metadata.version(name)
    except Exception:
        return None
gil = getattr(sys, "_is_gil_enabled", None)
print(json.dumps({
    "version": platform.python_version(),
    "implementation": platform.python_implementation(),
    "freeThreaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    "gilEnabled": bool(gil()) if gil else True,
    "packages": {name: v(name) for name in json.loads(sys.argv[1])},
}))
`;

export class PythonProbeError extends Error {
  override readonly name = "PythonProbeError";
  constructor(
    message: string,
    readonly notFound: boolean,
  ) {
    super(message);
  }
}

export async function pythonFacts(
  executable: string,
  packages: readonly string[],
  compat: CompatModule | undefined,
  extraLibraries: readonly string[] = [],
): Promise<PythonFacts> {
  if (compat) {
    let probe: CompatProbe;
    try {
      probe = await compat.probePython(executable, { libraries: [...packages, ...extraLibraries], timeoutMs: 20_000 });
    } catch (err) {
      throw new PythonProbeError(err instanceof Error ? err.message : String(err), isSnakepitError(err, "python_not_found"));
    }
    return {
      executable,
      version: probe.version,
      implementation: probe.implementation,
      freeThreaded: probe.freeThreaded,
      gilEnabled: probe.gilEnabled,
      packages: Object.fromEntries(packages.map((p) => [p, probe.libraries[p] ?? null])),
      probe,
    };
  }
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(executable, ["-c", SCRIPT, JSON.stringify(packages)], { timeout: 20_000 }, (err, out, stderr) => {
      if (!err) return resolve(out);
      const code = (err as NodeJS.ErrnoException).code;
      const notFound = code === "ENOENT" || code === "EACCES";
      reject(new PythonProbeError(notFound ? `cannot run ${executable}: ${err.message}` : `${executable} failed: ${stderr.trim() || err.message}`, notFound));
    });
  });
  const facts = JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as Omit<PythonFacts, "executable">;
  return { executable, ...facts };
}
