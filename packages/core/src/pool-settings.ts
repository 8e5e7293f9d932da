/**
 * The resolved settings of a pool that profiles and plugins may read: every pool
 * option with its default filled in, except the profile and plugins themselves.
 * (A file of its own so that profiles, plugins and options do not import each other.)
 */
import type { Logger } from "./logger.js";

export interface PythonOptions {
  /** The adapter class, as "package.module:ClassName". Required. */
  adapter: string;
  /**
   * The interpreter. Default: $SNAKEPIT_PYTHON, else the app's venv: the nearest
   * `.venv/bin/python` or `python/.venv/bin/python` in `python.cwd` (when set) or
   * above, then in the entry module's directory (process.argv[1]) or above, then in
   * Node's working directory or above; else `python3` on PATH. Where Node was
   * started does not matter when the app has a venv of its own.
   */
  executable?: string;
  /**
   * Working directory of the workers; adapter modules are imported from it (then
   * PYTHONPATH). Default: the Node process's.
   */
  cwd?: string;
  /** Extra environment for the workers, on top of the Node process's own. */
  env?: Record<string, string>;
  /** Extra interpreter arguments placed before `-m snakepit_bridge` (e.g. ["-X", "dev"]). */
  args?: string[];
}

export type ProfileName = "process" | "thread";
export type TransportName = "local" | "connect";

export interface PoolSettings {
  readonly name: string;
  readonly profileName: string;
  readonly size: number;
  readonly threadsPerWorker: number;
  readonly python: Readonly<Required<Pick<PythonOptions, "adapter">>> & Readonly<Omit<PythonOptions, "adapter">>;
  readonly maxQueue: number;
  readonly queueTimeoutMs: number;
  readonly startTimeoutMs: number;
  readonly defaultTimeoutMs: number;
  readonly startupConcurrency: number;
  readonly maxPayloadBytes: number;
  readonly closeTimeoutMs: number;
  readonly allowUnsafeAdapters: boolean;
  readonly transport: TransportName;
  readonly logger: Logger;
}
