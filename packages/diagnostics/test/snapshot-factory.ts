/** Synthetic snapshots for the rule and format tests (the integration tests use real pools). */
import type { HistogramSummary, PoolSnapshot, WorkerSnapshot } from "@snakepit/diagnostics";

export function histogram(count: number, p50Ms: number, p95Ms = p50Ms, sumMs = count * p50Ms): HistogramSummary {
  return { count, sumMs, minMs: p50Ms, meanMs: count ? sumMs / count : 0, p50Ms, p90Ms: p95Ms, p95Ms, p99Ms: p95Ms, maxMs: p95Ms };
}

export function worker(over: Partial<WorkerSnapshot> = {}): WorkerSnapshot {
  return {
    id: "p/w1",
    pid: 1234,
    state: "idle",
    load: 0,
    capacity: 1,
    requestsServed: 10,
    uptimeMs: 60_000,
    rssBytes: 40 * 2 ** 20,
    pssBytes: 30 * 2 ** 20,
    memoryHistory: [],
    ...over,
  };
}

export function pool(over: Partial<PoolSnapshot> = {}): PoolSnapshot {
  const workers = over.workers ?? [worker({ id: "p/w1" }), worker({ id: "p/w2", pid: 1235 })];
  return {
    name: "p",
    profile: "process",
    state: "ready",
    size: workers.length,
    ready: workers.length,
    starting: 0,
    busy: 0,
    idle: workers.length,
    capacity: workers.reduce((n, w) => n + w.capacity, 0),
    inFlight: 0,
    queueDepth: 0,
    requests: { completed: 100, failed: 0, rejected: 0 },
    failuresByCode: {},
    recycles: { total: 0, byReason: {} },
    crashes: { total: 0, byReason: {} },
    degraded: null,
    recordingSince: "2026-01-01T00:00:00.000Z",
    recordingMs: 60_000,
    runTime: histogram(100, 300),
    waitTime: histogram(100, 0.1),
    memory: { rssBytes: workers.reduce((n, w) => n + (w.rssBytes ?? 0), 0), pssBytes: workers.reduce((n, w) => n + (w.pssBytes ?? 0), 0) },
    runtime: {
      adapter: "app.tools:Tools",
      adapterThreadSafe: true,
      pythonVersion: "3.11.7",
      implementation: "CPython",
      freeThreaded: false,
      gilEnabled: true,
      threads: 1,
      tools: ["a"],
    },
    ...over,
    workers,
  };
}
