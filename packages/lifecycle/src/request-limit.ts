/**
 * Per-worker request limits. Each worker draws its own limit so that workers
 * started together do not all reach it together (gunicorn's max_requests_jitter).
 */

/** A whole number drawn evenly from [base, base + jitter]. */
export function drawLimit(base: number, jitter: number, random: () => number = Math.random): number {
  return base + Math.min(jitter, Math.floor(random() * (jitter + 1)));
}

/**
 * How many requests before its limit a worker's replacement should start, so it
 * is ready when the limit is reached: the worker's request rate so far times the
 * time a worker takes to start, with half again as margin. At most the whole
 * limit (start at once): a worker whose replacement is late serves past its limit.
 */
export function replacementLead(limit: number, started: number, elapsedMs: number, startMs: number): number {
  if (started <= 0 || elapsedMs <= 0 || !(startMs > 0)) return 0;
  return Math.min(limit, Math.ceil((started / elapsedMs) * startMs * START_MARGIN));
}

/** Start the replacement this many start-up times early (1.5: half a start-up of margin). */
export const START_MARGIN = 1.5;
