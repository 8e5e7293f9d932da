/**
 * Timers for any delay. Node's setTimeout fires after 1 ms when asked for more
 * than 2^31-1 ms (about 24.8 days), so a deadline that far away would pass at
 * once. These arm Node timers of at most that long and re-arm until the due
 * time. Fractional delays are fine; Infinity (or NaN) never fires.
 */

/** The longest delay Node's setTimeout honours (2^31-1 ms). */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

export interface LongTimeout {
  /** Stop it: the callback will not run. Idempotent. */
  clear(): void;
}

export interface LongTimeoutOptions {
  /** Do not keep the event loop alive for this timer (timer.unref()). Default false. */
  unref?: boolean;
}

const NEVER: LongTimeout = { clear() {} };

/**
 * Run `callback` once, `delayMs` from now, whatever the delay (above 2^31-1 ms,
 * fractional, or Infinity for never). Time is measured on the monotonic clock.
 */
export function setLongTimeout(callback: () => void, delayMs: number, options: LongTimeoutOptions = {}): LongTimeout {
  if (!(delayMs < Infinity)) return NEVER; // Infinity or NaN: never
  const dueAt = performance.now() + Math.max(0, delayMs);
  let timer: NodeJS.Timeout | undefined;
  let cleared = false;
  const arm = (ms: number) => {
    timer = setTimeout(fire, Math.min(Math.max(0, ms), MAX_TIMER_DELAY_MS));
    if (options.unref) timer.unref();
  };
  const fire = () => {
    if (cleared) return;
    const remaining = dueAt - performance.now();
    // Node rounds to whole milliseconds: less than one left is due.
    if (remaining >= 1) return arm(remaining);
    cleared = true;
    callback();
  };
  arm(delayMs);
  return {
    clear() {
      cleared = true;
      clearTimeout(timer);
    },
  };
}
