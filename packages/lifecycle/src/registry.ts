/** The lifecycle attached to each pool, for the functions that take a pool (lifecycleStats, recycleAll). */
import type { Pool } from "@snakepit/core";
import type { RecycleOptions } from "@snakepit/core";
import type { LifecycleStats } from "./stats.js";

export interface AttachedLifecycle {
  stats(): LifecycleStats;
  /** Recycle options lifecycle adds for a worker (its drain timeout, its memory in the detail). */
  recycleOptions(workerId: string, reason: string): RecycleOptions;
}

export const attached = new WeakMap<Pool, AttachedLifecycle>();
