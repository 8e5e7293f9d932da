/**
 * One worker replacement at a time per pool. Rolling replacements (recycleAll,
 * ttl) wait their turn here so that workers started together are not all
 * replaced together, and a broken replacement stops the roll.
 */
import type { Pool, RecycleOptions } from "@snakepit/core";

const turns = new WeakMap<Pool, Promise<unknown>>();

/** Run `step` after every earlier step for this pool has finished (whatever its outcome). */
export function inTurn<T>(pool: Pool, step: () => Promise<T>): Promise<T> {
  const previous = turns.get(pool) ?? Promise.resolve();
  const next = previous.then(step);
  turns.set(
    pool,
    next.catch(() => {}),
  );
  return next;
}

/**
 * recycleWorker, and tell whether the replacement started: resolves once the old
 * worker has stopped; rejects with worker_start_failed (the start's own error as
 * cause) when the replacement could not start.
 */
export function replaceWorker(pool: Pool, workerId: string, options: RecycleOptions): Promise<void> {
  return pool.recycleWorker(workerId, { ...options, rejectIfNotReplaced: true });
}
