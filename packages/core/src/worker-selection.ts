/**
 * Which worker takes the next call. Pure, so the rules can be tested without
 * Python: the session's own worker if it has room; else the least-loaded worker
 * (by fraction of its capacity) with room, of equals the one that finished a call
 * most recently (its process and caches are warm: a caller making one call at a
 * time stays on one worker), then in turn; else, for a tool known to be fast, a
 * worker whose transport pipelines and that runs only fast calls, up to its
 * pipeline depth beyond capacity (the call waits there, in order, for microseconds).
 */
export interface SelectableWorker {
  readonly id: string;
  readonly state: string;
  /** Calls it holds (running, pipelined, or cancelled but not yet finished). */
  readonly load: number;
  /** Calls on it not known to be fast. */
  readonly slowLoad: number;
  readonly handle: { readonly capacity: number; readonly pipelineDepth?: number } | undefined;
  /** Larger for a worker that gave capacity back more recently; 0 if it never did. */
  readonly lastReleased?: number;
}

export interface PickOptions {
  /** The id of the worker that served this call's session before. */
  readonly preferred?: string | undefined;
  /** The tool is known to be fast, so it may be pipelined. */
  readonly fast?: boolean;
  /** Where to start looking, so ties are broken in turn. */
  readonly rotate?: number;
}

export function pickWorker<W extends SelectableWorker>(workers: readonly W[], options: PickOptions = {}): W | undefined {
  const { preferred, fast = false, rotate = 0 } = options;
  if (preferred !== undefined) {
    const own = workers.find((w) => w.id === preferred);
    if (own && own.state === "ready" && own.handle && own.load < own.handle.capacity) return own;
  }
  const n = workers.length;
  for (let pass = 0; pass < (fast ? 2 : 1); pass++) {
    let best: W | undefined;
    let bestLoad = Infinity;
    for (let i = 0; i < n; i++) {
      const w = workers[(i + rotate) % n]!;
      if (w.state !== "ready" || !w.handle) continue;
      const limit = pass === 0 ? w.handle.capacity : w.slowLoad === 0 ? w.handle.capacity + (w.handle.pipelineDepth ?? 0) : 0;
      if (w.load >= limit) continue;
      const l = w.load / w.handle.capacity;
      if (l < bestLoad || (l === bestLoad && (w.lastReleased ?? 0) > (best!.lastReleased ?? 0))) {
        best = w;
        bestLoad = l;
      }
    }
    if (best) return best;
  }
  return undefined;
}
