/** The plugin users put in `plugins: [lifecycle({...})]`, and lifecycleStats(pool). */
import { SnakepitError, type Pool, type PoolPlugin } from "@snakepit/core";
import { resolveLifecycleOptions, type LifecycleOptions, type ResolvedLifecycleOptions } from "./options.js";
import { PoolLifecycle } from "./pool-lifecycle.js";
import { attached } from "./registry.js";
import type { LifecycleStats } from "./stats.js";

export interface LifecyclePlugin extends PoolPlugin {
  readonly name: "lifecycle";
  /** The options with every default filled in. */
  readonly options: ResolvedLifecycleOptions;
}

/**
 * Recycling, health checks, hard timeouts and crash handling for a pool.
 * Options are checked here, before any worker starts: a mistake throws
 * invalid_config naming every problem. One plugin may serve several pools;
 * each gets its own state.
 */
export function lifecycle(options: LifecycleOptions = {}): LifecyclePlugin {
  const resolved = resolveLifecycleOptions(options);
  return {
    name: "lifecycle",
    options: resolved,
    attach(control) {
      if (attached.has(control.pool)) {
        control.options.logger.warn(`lifecycle: pool ${control.pool.name} already has a lifecycle plugin; the last one attached decides`, {
          pool: control.pool.name,
        });
      }
      const pl = new PoolLifecycle(control, resolved);
      attached.set(control.pool, pl);
      const detach = pl.attach();
      return () => {
        detach();
        if (attached.get(control.pool) === pl) attached.delete(control.pool);
      };
    },
  };
}

/** What lifecycle has done to this pool, and how close each worker is to its limits. */
export function lifecycleStats(pool: Pool): LifecycleStats {
  const pl = attached.get(pool);
  if (!pl) {
    throw new SnakepitError(
      "invalid_argument",
      `pool ${pool.name} has no lifecycle plugin attached (add lifecycle() to its plugins; it detaches when the pool closes)`,
      { pool: pool.name },
    );
  }
  return pl.stats();
}
