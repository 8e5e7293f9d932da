/**
 * `inspect()`: a JSON-ready snapshot of live pools, from `pool.stats()`,
 * `pool.health()` (memory per worker), `pool.describe()` (interpreter and adapter)
 * and what the tracker recorded since it first saw each pool.
 */
import type { Pool, WorkerHealth } from "@snakepit/core";
import { EMPTY_SUMMARY, type HistogramSummary } from "./latency-histogram.js";
import { addMemorySample, recordOf, trackedPools, trackPool, type MemorySample } from "./pool-tracker.js";
import { poolsOf, type DiagnosticsTarget } from "./targets.js";

/** A worker's state as shown: `idle`/`busy` for ready workers, else core's state; `unreachable` if it did not answer a health check. */
export type WorkerDisplayState = "idle" | "busy" | "starting" | "draining" | "stopping" | "unreachable";

export interface WorkerSnapshot {
  readonly id: string;
  readonly pid: number | null;
  /** "host:port" of a worker on another host (@snakepit/remote); absent for local workers. */
  readonly host?: string;
  readonly state: WorkerDisplayState;
  /** Calls running on it now. */
  readonly load: number;
  /** Calls it can run at once (1 for a process-profile worker, threadsPerWorker for a thread one). */
  readonly capacity: number;
  readonly requestsServed: number;
  readonly uptimeMs: number;
  /** From its health check; null when memory was not asked for or it did not answer. */
  readonly rssBytes: number | null;
  readonly pssBytes: number | null;
  /** RSS samples taken by successive inspections (first one kept), oldest first. */
  readonly memoryHistory: readonly MemorySample[];
  /** Why its health check failed. */
  readonly error?: string;
}

export interface RuntimeSnapshot {
  readonly adapter: string;
  readonly adapterThreadSafe: boolean;
  readonly pythonVersion: string;
  readonly implementation: string;
  readonly freeThreaded: boolean;
  readonly gilEnabled: boolean;
  readonly threads: number;
  readonly tools: readonly string[];
}

export interface PoolSnapshot {
  readonly name: string;
  readonly profile: string;
  readonly state: string;
  /** Workers the pool keeps. */
  readonly size: number;
  /** Ready workers. */
  readonly ready: number;
  readonly starting: number;
  readonly busy: number;
  readonly idle: number;
  readonly capacity: number;
  readonly inFlight: number;
  readonly queueDepth: number;
  /** Since the pool started (from stats()). */
  readonly requests: { readonly completed: number; readonly failed: number; readonly rejected: number };
  /** Failures since recording started, by error code. */
  readonly failuresByCode: Readonly<Record<string, number>>;
  /** `total` since the pool started; `byReason` since recording started, earlier ones under `before_tracking`. */
  readonly recycles: { readonly total: number; readonly byReason: Readonly<Record<string, number>> };
  readonly crashes: { readonly total: number; readonly byReason: Readonly<Record<string, number>> };
  readonly degraded: { readonly reason: string; readonly since: string } | null;
  /** When recording started for this pool (ISO time); the histograms cover calls finished since. */
  readonly recordingSince: string;
  readonly recordingMs: number;
  readonly runTime: HistogramSummary;
  readonly waitTime: HistogramSummary;
  readonly memory: { readonly rssBytes: number; readonly pssBytes: number } | null;
  readonly runtime: RuntimeSnapshot | null;
  readonly workers: readonly WorkerSnapshot[];
}

export interface DiagnosticsSnapshot {
  /** ISO time. */
  readonly takenAt: string;
  readonly pools: readonly PoolSnapshot[];
}

export interface InspectOptions {
  /** Ask each worker for its memory (`pool.health()`). Default true. */
  memory?: boolean;
  /** How long a worker may take to answer its health check. Default 2000 ms. */
  healthTimeoutMs?: number;
  /** Include the interpreter and tools (`pool.describe()`). Default true. */
  describe?: boolean;
}

/**
 * A snapshot of these pools (default: every open pool tracked so far). The first
 * call for a pool also starts recording its histograms.
 */
export async function inspect(target?: DiagnosticsTarget, options: InspectOptions = {}): Promise<DiagnosticsSnapshot> {
  const pools = target === undefined ? trackedPools() : poolsOf(target);
  trackPool(pools);
  const snapshots = await Promise.all(pools.map((p) => inspectPool(p, options)));
  return { takenAt: new Date().toISOString(), pools: snapshots };
}

async function inspectPool(pool: Pool, options: InspectOptions): Promise<PoolSnapshot> {
  const rec = recordOf(pool)!;
  const open = pool.state() === "ready";
  const [health, runtime] = await Promise.all([
    options.memory !== false && open ? pool.health({ timeoutMs: options.healthTimeoutMs ?? 2_000 }).catch(() => [] as WorkerHealth[]) : [],
    options.describe !== false && open ? describeOf(pool) : null,
  ]);
  const s = pool.stats();
  const now = Date.now();
  const byWorker = new Map(health.map((h) => [h.workerId, h]));
  const workers: WorkerSnapshot[] = s.perWorker.map((w) => {
    const h = byWorker.get(w.id);
    const answered = h !== undefined && h.status !== "unreachable";
    let history: readonly MemorySample[] = rec.memory.get(w.id) ?? [];
    if (answered) history = addMemorySample(rec, w.id, { at: now, rssBytes: h.rssBytes, pssBytes: h.pssBytes }).slice();
    const state: WorkerDisplayState =
      h?.status === "unreachable" ? "unreachable" : w.state === "ready" ? (w.load > 0 ? "busy" : "idle") : w.state;
    return {
      id: w.id,
      pid: w.pid ?? null,
      ...(w.info?.host !== undefined ? { host: w.info.host } : {}),
      state,
      load: w.load,
      capacity: w.capacity,
      requestsServed: w.requestsServed,
      uptimeMs: w.uptimeMs,
      rssBytes: answered ? h.rssBytes : null,
      pssBytes: answered ? h.pssBytes : null,
      memoryHistory: history,
      ...(h?.error !== undefined ? { error: h.error } : {}),
    };
  });
  const measured = workers.filter((w) => w.rssBytes !== null);
  return {
    name: s.name,
    profile: s.profile,
    state: s.state,
    size: s.size,
    ready: s.workers,
    starting: s.starting,
    busy: s.busy,
    idle: s.idle,
    capacity: s.capacity,
    inFlight: s.inFlight,
    queueDepth: s.queued,
    requests: { completed: s.completed, failed: s.failed, rejected: s.rejected },
    failuresByCode: Object.fromEntries(rec.failuresByCode),
    recycles: { total: s.recycles, byReason: withEarlier(rec.recyclesByReason, rec.baseline.recycles) },
    crashes: { total: s.crashes, byReason: withEarlier(rec.crashesByReason, rec.baseline.crashes) },
    degraded: s.degraded ? { reason: s.degraded.reason, since: new Date(s.degraded.since).toISOString() } : null,
    recordingSince: new Date(rec.since).toISOString(),
    recordingMs: now - rec.since,
    runTime: rec.runTime.count ? rec.runTime.summary() : EMPTY_SUMMARY,
    waitTime: rec.waitTime.count ? rec.waitTime.summary() : EMPTY_SUMMARY,
    memory: measured.length
      ? { rssBytes: sum(measured.map((w) => w.rssBytes!)), pssBytes: sum(measured.map((w) => w.pssBytes!)) }
      : null,
    runtime,
    workers,
  };
}

/** Counts by reason since recording began, plus `before_tracking` for what the pool counted earlier. */
function withEarlier(byReason: Map<string, number>, earlier: number): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(byReason);
  if (earlier > 0) out["before_tracking"] = earlier;
  return out;
}

/** The adapter and interpreter rarely change: asked once per pool. */
const described = new WeakMap<Pool, RuntimeSnapshot>();

async function describeOf(pool: Pool): Promise<RuntimeSnapshot | null> {
  const known = described.get(pool);
  if (known) return known;
  try {
    const d = await pool.describe();
    const runtime: RuntimeSnapshot = {
      adapter: d.adapter,
      adapterThreadSafe: d.worker.adapterThreadSafe,
      pythonVersion: d.worker.pythonVersion,
      implementation: d.worker.implementation,
      freeThreaded: d.worker.freeThreaded,
      gilEnabled: d.worker.gilEnabled,
      threads: d.worker.threads,
      tools: d.tools.map((t) => t.name),
    };
    described.set(pool, runtime);
    return runtime;
  } catch {
    return null;
  }
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
