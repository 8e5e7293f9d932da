import { resolvePoolOptions, type PoolOptions } from "./options.js";
import { PoolImpl } from "./pool.js";
import type { Pool } from "./pool-types.js";

/**
 * Create a pool and resolve once every worker is ready. Invalid options throw
 * synchronously (invalid_config, naming every problem); a worker that cannot
 * start rejects the promise with worker_start_failed and its real cause, and no
 * worker is left running.
 */
export function createPool(options: PoolOptions): Promise<Pool> {
  const resolved = resolvePoolOptions(options);
  const pool = new PoolImpl(resolved);
  return pool.start().then(() => pool);
}
