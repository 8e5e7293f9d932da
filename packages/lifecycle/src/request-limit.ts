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
 * is ready about when the limit is reached: the worker's request rate so far
 * times the time a worker takes to start, at most half the limit.
 */
export function replacementLead(limit: number, started: number, elapsedMs: number, startMs: number): number {
  if (started <= 0 || elapsedMs <= 0 || !(startMs > 0)) return 0;
  return Math.min(Math.floor(limit / 2), Math.ceil((started / elapsedMs) * startMs));
}
