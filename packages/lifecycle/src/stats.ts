/** The shape of lifecycleStats(pool): what lifecycle did, and how close each worker is to its limits. */
import type { ExitKind } from "./classify-exit.js";
import type { MemoryMetric } from "./memory.js";
import type { RestartReason } from "./events.js";

export interface LimitUse {
  readonly used: number;
  readonly limit: number;
  /** used / limit: 1 means the limit is reached. */
  readonly fraction: number;
}

export interface WorkerLifecycleStats {
  readonly id: string;
  readonly pid: number | undefined;
  readonly ageMs: number;
  readonly requestsStarted: number;
  /** Requests vs this worker's own drawn limit (maxRequests + its jitter). */
  readonly requests: LimitUse | undefined;
  /** Age vs this worker's own drawn ttl (ttlMs + its jitter). */
  readonly age: LimitUse | undefined;
  /**
   * Memory vs the limit. In growth mode `used` is the growth over the worker's
   * start-up memory; in absolute mode it is the total.
   */
  readonly memory: LimitUse | undefined;
  /** Its last reading (PSS where available, else RSS) and its start-up reading. */
  readonly memoryBytes: number | undefined;
  readonly baselineBytes: number | undefined;
  readonly memoryMetric: MemoryMetric | undefined;
  /**
   * Requests it started past its request limit: it keeps serving until its
   * replacement is ready (a slow start), so the pool never runs short.
   */
  readonly servedPastLimit: number;
  /** Health checks missed in a row. */
  readonly healthMisses: number;
  /** Health checks (and memory samples) it has answered. */
  readonly healthChecks: number;
  /** Set once a replacement is under way, with its reason. */
  readonly recycling: string | undefined;
  /** The limit it is closest to, if any has been set. */
  readonly nearest: { readonly limit: "requests" | "age" | "memory"; readonly fraction: number } | undefined;
}

export interface LifecycleStats {
  readonly pool: string;
  /** Recycles seen since lifecycle attached, by reason (max_requests, ttl, memory, manual, hung, hard_timeout, ...). */
  readonly recycles: Readonly<Record<string, number>>;
  /** Replacements without a graceful drain, by reason. */
  readonly restarts: Readonly<Record<RestartReason, number>>;
  /** Crashes by how the worker ended. */
  readonly crashes: Readonly<Record<ExitKind, number>>;
  readonly startFailures: {
    /** Failed starts since the last successful one. */
    readonly inARow: number;
    readonly total: number;
    readonly lastError: Error | undefined;
  };
  /** True while lifecycle holds the pool degraded (no worker can start). */
  readonly degraded: boolean;
  readonly workers: readonly WorkerLifecycleStats[];
}
