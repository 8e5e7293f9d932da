/**
 * Deadlines of many calls behind one timer. Arming a timer per call costs more
 * than the rest of a fast call on the Node side; here a call's deadline is an
 * entry in a set, and one timer is armed for the earliest. Calls usually share
 * a default timeout, so a new deadline is rarely earlier than the armed one and
 * adding a call touches no timer at all.
 *
 * Deadlines are absolute (Date.now() milliseconds) and may lie beyond
 * setTimeout's 32-bit limit: the timer is re-armed in steps until they pass.
 */

/** setTimeout's largest delay (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface DeadlineTimer {
  /** Call `onExpire` once `deadline` (epoch ms) has passed; returns a cancel function. */
  add(deadline: number, onExpire: () => void): () => void;
  /** Cancel every pending deadline and the timer. */
  clear(): void;
}

interface Entry {
  readonly deadline: number;
  readonly onExpire: () => void;
}

export function createDeadlineTimer(): DeadlineTimer {
  const entries = new Set<Entry>();
  let timer: NodeJS.Timeout | undefined;
  let armedFor = Infinity;

  function arm(deadline: number): void {
    if (timer !== undefined) clearTimeout(timer);
    armedFor = deadline;
    timer = setTimeout(fire, Math.min(MAX_TIMER_MS, Math.max(0, deadline - Date.now())));
    timer.unref?.(); // pending calls keep the process alive, not their deadlines
  }

  function fire(): void {
    timer = undefined;
    armedFor = Infinity;
    const now = Date.now();
    let next = Infinity;
    const expired: Entry[] = [];
    for (const e of entries) {
      if (e.deadline <= now) expired.push(e);
      else if (e.deadline < next) next = e.deadline;
    }
    for (const e of expired) entries.delete(e);
    if (next !== Infinity) arm(next);
    for (const e of expired) e.onExpire();
  }

  return {
    add(deadline, onExpire) {
      const entry: Entry = { deadline, onExpire };
      entries.add(entry);
      if (deadline < armedFor) arm(deadline);
      return () => {
        entries.delete(entry);
        // The timer stays armed; when it fires with nothing due it re-arms or stops.
        if (entries.size === 0 && timer !== undefined) {
          clearTimeout(timer);
          timer = undefined;
          armedFor = Infinity;
        }
      };
    },
    clear() {
      entries.clear();
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      armedFor = Infinity;
    },
  };
}
