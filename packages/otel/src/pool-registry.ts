/**
 * The pools the instrumentation knows, for the gauges read from `pool.stats()`.
 * A pool is learned from any event it publishes (so pools created before
 * `instrumentSnakepit` are picked up at their first call) or passed explicitly,
 * and forgotten when it closes.
 */
import type { Pool, Snakepit } from "@snakepit/core";

export class PoolRegistry {
  private readonly pools = new Set<Pool>();

  add(target: Pool | Snakepit): void {
    for (const pool of poolsOf(target)) this.pools.add(pool);
  }

  remove(pool: Pool): void {
    this.pools.delete(pool);
  }

  /** Pools still open (closed or failed ones are dropped as they are met). */
  live(): Pool[] {
    const out: Pool[] = [];
    for (const pool of this.pools) {
      const state = pool.state();
      if (state === "stopped" || state === "failed") this.pools.delete(pool);
      else out.push(pool);
    }
    return out;
  }
}

/** The pools of a Snakepit, or the pool itself. */
export function poolsOf(target: Pool | Snakepit): Pool[] {
  return isSnakepit(target) ? [...target.pools().values()] : [target];
}

function isSnakepit(target: Pool | Snakepit): target is Snakepit {
  return typeof (target as Partial<Snakepit>).pools === "function";
}
