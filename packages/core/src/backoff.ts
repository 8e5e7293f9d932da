/**
 * The restart backoff, one implementation for core's own restart policy and for
 * @snakepit/lifecycle's.
 */

/** Exponential restart backoff: nothing for the first attempt, then initial, 2x, 4x, ... up to max. */
export function backoffDelay(failuresInARow: number, initialMs: number, maxMs: number): number {
  if (!(failuresInARow > 0)) return 0;
  return Math.min(maxMs, initialMs * 2 ** Math.min(failuresInARow - 1, 30));
}

/**
 * A worker that dies within this long of becoming ready, before it answered a
 * single call, counts as a failed start (it crashes at start-up); one that
 * answered a call or lived longer was serving, and its death is not a start
 * failure (an outside kill, an OOM kill, a crash in a call).
 */
export const START_GRACE_MS = 10_000;

/** Whether a worker's unexpected death counts toward the restart backoff as a failed start. */
export function isFailedStart(death: { readonly uptimeMs: number; readonly requestsCompleted: number }): boolean {
  return death.requestsCompleted === 0 && death.uptimeMs < START_GRACE_MS;
}

/** Core's own restart policy (without a plugin that sets one): 250 ms doubling to 15 s; degraded after 3 failed starts in a row. */
export const CORE_RESTART = { backoffMs: 250, backoffMaxMs: 15_000, maxStartFailures: 3 } as const;
