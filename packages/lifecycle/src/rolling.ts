/**
 * One worker replacement at a time per pool. Rolling replacements (recycleAll,
 * ttl) wait their turn here so that workers started together are not all
 * replaced together, and a broken replacement stops the roll.
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import {
  SNAKEPIT_EVENTS,
  SnakepitError,
  type Pool,
  type RecycleOptions,
  type WorkerStartFailedEvent,
  type WorkerStartingEvent,
} from "@snakepit/core";

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
 * cause) when the replacement could not start. Core starts the replacement
 * synchronously inside recycleWorker, so its id is the one announced then.
 */
export async function replaceWorker(pool: Pool, workerId: string, options: RecycleOptions): Promise<void> {
  let replacement: string | undefined;
  let startError: Error | undefined;
  const onStarting = (m: unknown) => {
    const e = m as WorkerStartingEvent;
    if (e.pool === pool && e.reason === "recycle") replacement ??= e.workerId;
  };
  const onFailed = (m: unknown) => {
    const e = m as WorkerStartFailedEvent;
    if (e.pool === pool && e.workerId === replacement) startError = e.error;
  };
  subscribe(SNAKEPIT_EVENTS.workerStarting, onStarting);
  subscribe(SNAKEPIT_EVENTS.workerStartFailed, onFailed);
  let done: Promise<void>;
  try {
    done = pool.recycleWorker(workerId, options);
  } finally {
    unsubscribe(SNAKEPIT_EVENTS.workerStarting, onStarting);
  }
  try {
    await done;
  } finally {
    unsubscribe(SNAKEPIT_EVENTS.workerStartFailed, onFailed);
  }
  if (startError) {
    const e = startError instanceof SnakepitError ? startError : undefined;
    throw new SnakepitError("worker_start_failed", `the replacement for worker ${workerId} could not start: ${startError.message}`, {
      cause: startError,
      pool: pool.name,
      workerId,
      ...(e?.traceback !== undefined ? { traceback: e.traceback } : {}),
      ...(e?.pythonType !== undefined ? { pythonType: e.pythonType } : {}),
      ...(e?.stderrTail !== undefined ? { stderrTail: e.stderrTail } : {}),
    });
  }
}
