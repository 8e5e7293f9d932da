/**
 * What the parts of a pool share: its name and options, its workers, its hooks,
 * its counters and the one timer behind every call's deadline. The pool facade
 * owns it; admission, the workforce and the call runner each read and update
 * their own part of it.
 */
import type { DeadlineTimer } from "./deadline-timer.js";
import type { ResolvedPoolOptions } from "./options.js";
import type { HookSet } from "./pool-hooks.js";
import type { Pool, PoolState } from "./pool-types.js";
import type { WorkerSlot } from "./worker-slot.js";

export interface PoolCounters {
  completed: number;
  failed: number;
  rejected: number;
  crashes: number;
  recycles: number;
  kills: number;
  resent: number;
}

export interface PoolCore {
  readonly pool: Pool;
  readonly name: string;
  readonly profile: string;
  readonly options: ResolvedPoolOptions;
  /** Workers by id: starting, ready, draining and stopping (removed when they exit). */
  readonly slots: Map<string, WorkerSlot>;
  readonly hooks: HookSet;
  readonly counters: PoolCounters;
  /** Every call's deadline and every queued call's queue limit, behind one timer. */
  readonly timers: DeadlineTimer;
  state: PoolState;
}

/** The fields every event message starts with. */
export function poolRef(core: PoolCore) {
  return { pool: core.pool, poolName: core.name, profile: core.profile };
}
