/** Exponential restart backoff: nothing for the first attempt, then initial, 2x, 4x, ... up to max. */
export function backoffDelay(failuresInARow: number, initialMs: number, maxMs: number): number {
  if (failuresInARow <= 0) return 0;
  return Math.min(maxMs, initialMs * 2 ** Math.min(failuresInARow - 1, 30));
}
