/**
 * Recording per pool, from core's events: run-time and wait-time histograms
 * (`snakepit:request:finished`), failures by code, recycles by reason
 * (`snakepit:worker:recycled`), crashes by how the worker died
 * (`snakepit:worker:exited`), and each worker's memory as `inspect` samples it.
 *
 * Recording for a pool starts when it is first tracked: by `trackPool`, or
 * implicitly by the first `inspect`/`serveDiagnostics` that sees it. Events from
 * before that are not in the histograms. The channels are subscribed while at
 * least one open pool is tracked.
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import {
  SNAKEPIT_EVENTS,
  type Pool,
  type PoolClosedEvent,
  type RequestFinishedEvent,
  type WorkerExitedEvent,
  type WorkerRecycledEvent,
} from "@snakepit/core";
import { LatencyHistogram } from "./latency-histogram.js";
import { poolsOf, type DiagnosticsTarget } from "./targets.js";

/** Memory samples kept per worker (the oldest are dropped, the first one is kept). */
const MAX_SAMPLES = 60;

export interface MemorySample {
  /** Epoch milliseconds. */
  readonly at: number;
  readonly rssBytes: number;
  readonly pssBytes: number;
}

export interface PoolRecord {
  /** When recording started (epoch ms). */
  readonly since: number;
  /** `stats()` counters when recording started, to tell older recycles and crashes apart. */
  readonly baseline: { readonly recycles: number; readonly crashes: number };
  readonly runTime: LatencyHistogram;
  readonly waitTime: LatencyHistogram;
  readonly failuresByCode: Map<string, number>;
  readonly recyclesByReason: Map<string, number>;
  readonly crashesByReason: Map<string, number>;
  readonly memory: Map<string, MemorySample[]>;
}

const records = new WeakMap<Pool, PoolRecord>();
const open = new Set<Pool>();
let subscribed = false;

function increment(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

const handlers = {
  [SNAKEPIT_EVENTS.requestFinished]: (m: unknown) => {
    const e = m as RequestFinishedEvent;
    const rec = records.get(e.pool);
    if (!rec) return;
    rec.waitTime.record(e.waitMs);
    if (e.workerId !== undefined) rec.runTime.record(e.runMs);
    if (e.outcome === "error") increment(rec.failuresByCode, e.errorCode ?? "internal");
  },
  [SNAKEPIT_EVENTS.workerRecycled]: (m: unknown) => {
    const e = m as WorkerRecycledEvent;
    const rec = records.get(e.pool);
    if (rec) increment(rec.recyclesByReason, e.reason);
  },
  [SNAKEPIT_EVENTS.workerExited]: (m: unknown) => {
    const e = m as WorkerExitedEvent;
    const rec = records.get(e.pool);
    if (!rec) return;
    if (!e.expected) increment(rec.crashesByReason, e.signal ? `signal:${e.signal}` : `exit_code:${e.exitCode ?? "unknown"}`);
    rec.memory.delete(e.workerId);
  },
  [SNAKEPIT_EVENTS.poolClosed]: (m: unknown) => {
    open.delete((m as PoolClosedEvent).pool);
    if (open.size === 0) setSubscribed(false);
  },
} as const;

function setSubscribed(on: boolean): void {
  if (on === subscribed) return;
  subscribed = on;
  for (const [name, handler] of Object.entries(handlers)) {
    if (on) subscribe(name, handler);
    else unsubscribe(name, handler);
  }
}

/** Start recording for these pools (a no-op for pools already recorded). */
export function trackPool(target: DiagnosticsTarget): void {
  for (const pool of poolsOf(target)) {
    if (!records.has(pool)) {
      const s = pool.stats();
      records.set(pool, {
        since: Date.now(),
        baseline: { recycles: s.recycles, crashes: s.crashes },
        runTime: new LatencyHistogram(),
        waitTime: new LatencyHistogram(),
        failuresByCode: new Map(),
        recyclesByReason: new Map(),
        crashesByReason: new Map(),
        memory: new Map(),
      });
    }
    const state = pool.state();
    if (state !== "stopped" && state !== "failed") {
      open.add(pool);
      setSubscribed(true);
    }
  }
}

/** Stop recording for these pools and forget what was recorded. */
export function untrackPool(target: DiagnosticsTarget): void {
  for (const pool of poolsOf(target)) {
    records.delete(pool);
    open.delete(pool);
  }
  if (open.size === 0) setSubscribed(false);
}

/** Open pools being recorded, in the order they were first tracked. */
export function trackedPools(): Pool[] {
  for (const pool of open) {
    const state = pool.state();
    if (state === "stopped" || state === "failed") open.delete(pool);
  }
  if (open.size === 0) setSubscribed(false);
  return [...open];
}

export function recordOf(pool: Pool): PoolRecord | undefined {
  return records.get(pool);
}

/** Add a memory sample of a worker (inspect does, each time it asks the workers). */
export function addMemorySample(rec: PoolRecord, workerId: string, sample: MemorySample): MemorySample[] {
  let list = rec.memory.get(workerId);
  if (!list) {
    list = [];
    rec.memory.set(workerId, list);
  }
  list.push(sample);
  // Keep the first sample (the baseline) and the most recent ones.
  if (list.length > MAX_SAMPLES) list.splice(1, 1);
  return list;
}
