/**
 * Core's seam for extensions (lifecycle, telemetry, diagnostics). A plugin is
 * attached once the pool's workers are ready and detached when it closes. It
 * decides policy; the pool keeps the mechanisms (replacing workers, routing,
 * failing calls) so that no plugin needs to reach into its internals.
 */
import type { SnakepitError } from "./errors.js";
import type { PoolSettings } from "./pool-settings.js";
import type { Pool, WorkerHealth } from "./pool-types.js";
import type { PoolHooks } from "./pool-hooks.js";

export interface RestartPolicy {
  /** Delay before the next attempt to start a replacement, after `failures` failed starts in a row (0 = the first try). */
  delayMs(failures: number): number;
}

export interface KillWorkerOptions {
  /** Why, for the recycled event and logs ("hung", "hard_timeout", ...). */
  reason: string;
  /** What the calls running on it fail with. Default: worker_crashed. */
  error?: SnakepitError;
  detail?: Record<string, unknown>;
}

export interface PoolControl {
  readonly pool: Pool;
  readonly options: PoolSettings;
  /** Ask one worker for its health; answered on a worker thread of its own, never behind a tool. */
  workerHealth(workerId: string, options?: { timeoutMs?: number }): Promise<WorkerHealth>;
  /** SIGKILL a worker now; its running calls fail with `error`; a replacement starts. */
  killWorker(workerId: string, options: KillWorkerOptions): void;
  /**
   * Take part in this pool's work: worker starts and exits, each call's start
   * (with headers to add to) and end. Called for this pool only, synchronously;
   * a hook that throws is logged and contained. Returns the function that removes them.
   */
  addHooks(hooks: PoolHooks): () => void;
  /** The same as addHooks({ onCallClaimed: listener }). */
  onClaim(listener: (workerId: string, requestsStarted: number) => void): () => void;
  /** How long to wait between attempts to start a replacement worker. */
  setRestartPolicy(policy: RestartPolicy): void;
  /**
   * Mark the pool degraded (callers get `error` at once, queued calls too) or,
   * with undefined, healthy again. Published as snakepit:pool:degraded / :recovered.
   */
  setDegraded(error: SnakepitError | undefined, reason?: string): void;
}

export interface PoolPlugin {
  readonly name: string;
  /** Called once the pool's workers are ready. May return a function run at close. */
  attach(control: PoolControl): void | (() => void | Promise<void>);
}
