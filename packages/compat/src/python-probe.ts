import { spawn } from "node:child_process";
import { SnakepitError } from "@snakepit/core";
import { lookupLibrary } from "./lookup-library.js";
import { COMPAT_MATRIX } from "./matrix.js";
import { PROBE_MARKER, PROBE_SCRIPT } from "./probe-script.js";

/** `sys.version_info` of the probed interpreter. */
export interface PythonVersionInfo {
  readonly major: number;
  readonly minor: number;
  readonly micro: number;
  /** `"alpha"`, `"beta"`, `"candidate"` or `"final"`. */
  readonly releaseLevel: string;
}

/** What {@link probePython} learned about an interpreter. */
export interface PythonProbe {
  /** The executable as passed to {@link probePython}. */
  readonly executable: string;
  /** `platform.python_version()`, e.g. `"3.11.7"`. */
  readonly version: string;
  readonly versionInfo: PythonVersionInfo;
  /** `platform.python_implementation()`, e.g. `"CPython"`. */
  readonly implementation: string;
  /** Built with `--disable-gil` (`sysconfig` `Py_GIL_DISABLED`): a build-time fact. */
  readonly freeThreaded: boolean;
  /**
   * Whether the GIL is on at run time (`sys._is_gil_enabled()`, `true` where that does not exist).
   * A free-threaded build can still run with the GIL, e.g. under `PYTHON_GIL=1`.
   */
  readonly gilEnabled: boolean;
  /** `sys.platform`, e.g. `"linux"`. */
  readonly platform: string;
  /** `platform.machine()`, e.g. `"x86_64"`. */
  readonly machine: string;
  /**
   * Installed version per requested library, `null` when not installed. Keys are
   * the names as requested. Stdlib modules report the Python version, except
   * `sqlite3`, which reports the linked SQLite library version.
   */
  readonly libraries: Readonly<Record<string, string | null>>;
}

/** Options for {@link probePython}. */
export interface ProbePythonOptions {
  /**
   * Libraries to look up, by import or distribution name. Defaults to every
   * library in the compatibility matrix. Libraries are never imported.
   */
  libraries?: readonly string[];
  /** Extra environment variables, merged over `process.env` (e.g. `{ PYTHON_GIL: "0" }`). */
  env?: Record<string, string>;
  /** Give up after this many milliseconds. Default 10 000. */
  timeoutMs?: number;
  /** Abort the probe; the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** One library lookup as sent to the probe script. */
export interface LibraryRequest {
  readonly key: string;
  readonly dists: readonly string[];
  readonly importName: string | null;
  readonly stdlib: "sqlite" | "python" | null;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_CAPTURE_BYTES = 1024 * 1024;
const NOT_FOUND_CODES = new Set(["ENOENT", "EACCES", "ENOTDIR", "EISDIR"]);

/**
 * Turns requested names into lookups: matrix entries know their distributions;
 * anything else is tried as a distribution name, then as an import name.
 */
export function resolveLibraryRequests(libraries: readonly string[]): LibraryRequest[] {
  const seen = new Set<string>();
  const requests: LibraryRequest[] = [];
  for (const key of libraries) {
    if (seen.has(key)) continue;
    seen.add(key);
    const entry = lookupLibrary(key);
    if (entry?.stdlib === true) {
      requests.push({ key, dists: [], importName: null, stdlib: entry.name === "sqlite3" ? "sqlite" : "python" });
    } else if (entry !== undefined) {
      const dists = [entry.distribution, ...(entry.alternativeDistributions ?? [])];
      requests.push({ key, dists, importName: entry.name, stdlib: null });
    } else {
      requests.push({ key, dists: [key], importName: /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : null, stdlib: null });
    }
  }
  return requests;
}

function fail(message: string, stdout: string, stderr: string): SnakepitError {
  const details = [
    stderr.trim() ? `stderr:\n${clip(stderr)}` : "stderr: (empty)",
    stdout.trim() ? `stdout:\n${clip(stdout)}` : "",
  ].filter(Boolean);
  return new SnakepitError("probe_failed", `${message}\n${details.join("\n")}`);
}

function clip(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > 2000 ? `${trimmed.slice(0, 2000)}…` : trimmed;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Parses the probe script's stdout into a {@link PythonProbe}.
 *
 * @throws SnakepitError `probe_failed` when the marker line is missing or its JSON
 *   does not have the expected shape; the message includes stderr.
 */
export function parseProbeOutput(executable: string, stdout: string, stderr = ""): PythonProbe {
  const line = stdout.split(/\r?\n/).find((l) => l.startsWith(PROBE_MARKER));
  if (line === undefined) {
    throw fail(`Python at "${executable}" did not print a probe result.`, stdout, stderr);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(line.slice(PROBE_MARKER.length));
  } catch {
    throw fail(`Python at "${executable}" printed a probe result that is not valid JSON.`, stdout, stderr);
  }
  const shapeError = (what: string) =>
    fail(`Python at "${executable}" printed a probe result with ${what}.`, stdout, stderr);
  if (!isRecord(raw)) throw shapeError("no JSON object");
  const { version, versionInfo, implementation, freeThreaded, gilEnabled, platform, machine, libraries } = raw;
  if (typeof version !== "string") throw shapeError("a missing version");
  if (
    !isRecord(versionInfo) ||
    typeof versionInfo["major"] !== "number" ||
    typeof versionInfo["minor"] !== "number" ||
    typeof versionInfo["micro"] !== "number" ||
    typeof versionInfo["releaseLevel"] !== "string"
  ) {
    throw shapeError("a malformed versionInfo");
  }
  if (typeof implementation !== "string") throw shapeError("a missing implementation");
  if (typeof freeThreaded !== "boolean" || typeof gilEnabled !== "boolean") throw shapeError("malformed GIL flags");
  if (typeof platform !== "string" || typeof machine !== "string") throw shapeError("a missing platform");
  if (!isRecord(libraries)) throw shapeError("malformed libraries");
  const libraryVersions: Record<string, string | null> = {};
  for (const [name, value] of Object.entries(libraries)) {
    if (value !== null && typeof value !== "string") throw shapeError(`a malformed version for ${name}`);
    libraryVersions[name] = value;
  }
  return {
    executable,
    version,
    versionInfo: {
      major: versionInfo["major"],
      minor: versionInfo["minor"],
      micro: versionInfo["micro"],
      releaseLevel: versionInfo["releaseLevel"],
    },
    implementation,
    freeThreaded,
    gilEnabled,
    platform,
    machine,
    libraries: libraryVersions,
  };
}

/**
 * Runs `executable` once (without a shell) to learn its version, whether it is a
 * free-threaded build, whether the GIL is on at run time, and which libraries are
 * installed, without importing them.
 *
 * @example
 * const probe = await probePython("/usr/bin/python3", { libraries: ["numpy"] });
 * probe.version; // "3.11.7"
 * probe.libraries.numpy; // "1.26.4" or null
 *
 * @throws SnakepitError `python_not_found` when the path cannot be executed,
 *   `probe_timeout` when it does not answer in `timeoutMs`, `probe_failed` when it
 *   exits non-zero or prints no usable result (the message includes stderr).
 */
export function probePython(executable: string, options: ProbePythonOptions = {}): Promise<PythonProbe> {
  const { signal } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const requests = resolveLibraryRequests(options.libraries ?? COMPAT_MATRIX.map((entry) => entry.name));
  if (signal?.aborted) return Promise.reject(signal.reason);

  return new Promise<PythonProbe>((resolve, reject) => {
    const child = spawn(executable, ["-c", PROBE_SCRIPT, JSON.stringify(requests)], {
      env: options.env === undefined ? process.env : { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
      windowsHide: true,
    });
    let stdout = "";
    let stderr = "";
    let settled = false;
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    // Capped so a misbehaving interpreter cannot grow our memory without bound.
    child.stdout.on("data", (chunk: string) => {
      if (stdout.length < MAX_CAPTURE_BYTES) stdout += chunk;
    });
    child.stderr.on("data", (chunk: string) => {
      if (stderr.length < MAX_CAPTURE_BYTES) stderr += chunk;
    });

    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      outcome();
    };
    const onAbort = () =>
      finish(() => {
        child.kill("SIGKILL");
        reject(signal?.reason);
      });
    const timer = setTimeout(
      () =>
        finish(() => {
          child.kill("SIGKILL");
          reject(
            new SnakepitError(
              "probe_timeout",
              `Python at "${executable}" did not answer the probe within ${timeoutMs} ms. ` +
                "Check that the path is a Python interpreter and that its startup (sitecustomize, .pth files) is not blocking, " +
                "or pass a larger timeoutMs.",
            ),
          );
        }),
      timeoutMs,
    );
    signal?.addEventListener("abort", onAbort, { once: true });

    child.once("error", (error: NodeJS.ErrnoException) =>
      finish(() => {
        if (error.code !== undefined && NOT_FOUND_CODES.has(error.code)) {
          reject(
            new SnakepitError(
              "python_not_found",
              `Could not run Python at "${executable}" (${error.code}). Install Python 3.10 or newer, ` +
                "or pass the path of an existing interpreter (for example from `which python3`), " +
                "or set SNAKEPIT_PYTHON to it.",
              { cause: error },
            ),
          );
        } else {
          reject(new SnakepitError("probe_failed", `Could not start Python at "${executable}": ${error.message}`, { cause: error }));
        }
      }),
    );
    child.once("close", (code, exitSignal) =>
      finish(() => {
        if (code !== 0) {
          const how = code === null ? `was killed by ${exitSignal ?? "a signal"}` : `exited with code ${code}`;
          reject(fail(`Python at "${executable}" ${how} while probing.`, stdout, stderr));
          return;
        }
        try {
          resolve(parseProbeOutput(executable, stdout, stderr));
        } catch (error) {
          reject(error);
        }
      }),
    );
  });
}
