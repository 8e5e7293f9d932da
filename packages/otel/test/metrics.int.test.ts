// Metrics against real Python workers, read back through the SDK's in-memory reader.
import { metrics } from "@opentelemetry/api";
import {
  AggregationTemporality,
  MeterProvider,
  MetricReader,
  type DataPoint,
  type Histogram,
  type MetricData,
} from "@opentelemetry/sdk-metrics";
import type { Pool, RequestQueuedEvent, RequestStartedEvent, WorkerExitedEvent, WorkerReadyEvent } from "@snakepit/core";
import { instrumentSnakepit, SNAKEPIT_METRICS as M, type SnakepitInstrumentation } from "@snakepit/otel";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fixturePool, nextEvents, SHOWCASE } from "./otel-helpers.js";

/** A pull reader: `collect()` on demand, as in the SDK's own tests. */
class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

type Attrs = Record<string, unknown>;

async function read(reader: TestReader): Promise<Map<string, MetricData>> {
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  const out = new Map<string, MetricData>();
  for (const scope of resourceMetrics.scopeMetrics) {
    expect(scope.scope.name).toBe("@snakepit/otel");
    for (const m of scope.metrics) out.set(m.descriptor.name, m);
  }
  return out;
}

function points<T>(data: Map<string, MetricData>, name: string, where: Attrs = {}): Array<DataPoint<T>> {
  const metric = data.get(name);
  if (!metric) return [];
  return (metric.dataPoints as Array<DataPoint<T>>).filter((p) => Object.entries(where).every(([k, v]) => p.attributes[k] === v));
}

function sum(data: Map<string, MetricData>, name: string, where: Attrs = {}): number {
  return points<number>(data, name, where).reduce((acc, p) => acc + p.value, 0);
}

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function setUp(): { reader: TestReader; instrumentation: SnakepitInstrumentation } {
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const instrumentation = instrumentSnakepit({ meterProvider, traces: false });
  cleanup.push(() => meterProvider.shutdown(), () => instrumentation.disable());
  return { reader, instrumentation };
}

async function pool(extra: Parameters<typeof fixturePool>[1] = {}): Promise<Pool> {
  const p = await fixturePool(SHOWCASE, { size: 1, ...extra });
  cleanup.push(() => p.close());
  return p;
}

describe("snakepit.* metrics", () => {
  it("counts completed, failed and rejected calls and records durations and waits, by tool and outcome", async () => {
    const { reader } = setUp();
    const p = await pool({ maxQueue: 0 });
    const base = { "snakepit.pool.name": p.name, "snakepit.profile": "process" };

    // Hold the only worker; with maxQueue 0 the next call is refused.
    const started = nextEvents<RequestStartedEvent>("requestStarted", 1, (e) => e.pool === p);
    const hold = p.execute("sleep", { seconds: 0.3 });
    await started;
    const busy = await read(reader);
    expect(sum(busy, M.workersBusy, base)).toBe(1);
    expect(sum(busy, M.workersIdle, base)).toBe(0);
    expect(sum(busy, M.requestsInFlight, base)).toBe(1);
    expect(sum(busy, M.workersCapacity, base)).toBe(1);
    await expect(p.execute("add", { a: 1, b: 1 })).rejects.toMatchObject({ code: "queue_full" });
    await hold;
    await p.execute("add", { a: 1, b: 2 });
    await p.execute("add", { a: 3, b: 4 });
    await expect(p.execute("fail", { message: "x" })).rejects.toMatchObject({ code: "python_error" });

    const data = await read(reader);
    expect(sum(data, M.requestsCompleted, { ...base, "snakepit.tool": "add", "snakepit.call.kind": "execute" })).toBe(2);
    expect(sum(data, M.requestsCompleted, { ...base, "snakepit.tool": "sleep" })).toBe(1);
    expect(sum(data, M.requestsFailed, { ...base, "snakepit.tool": "fail", "snakepit.error.code": "python_error" })).toBe(1);
    expect(sum(data, M.requestsRejected, { ...base, "snakepit.tool": "add", "snakepit.error.code": "queue_full" })).toBe(1);
    // The counters agree with the pool's own.
    const s = p.stats();
    expect(sum(data, M.requestsCompleted, base)).toBe(s.completed);
    expect(sum(data, M.requestsFailed, base)).toBe(s.failed);
    expect(sum(data, M.requestsRejected, base)).toBe(s.rejected);

    const duration = data.get(M.requestDuration)!;
    expect(duration.descriptor.unit).toBe("s");
    const sleep = points<Histogram>(data, M.requestDuration, { ...base, "snakepit.tool": "sleep", "snakepit.outcome": "ok" });
    expect(sleep).toHaveLength(1);
    expect(sleep[0]!.value.count).toBe(1);
    expect(sleep[0]!.value.sum).toBeGreaterThanOrEqual(0.29);
    expect(sleep[0]!.value.sum).toBeLessThan(5);
    // Four calls ran (the refused one has no run time), five waited (or not) for a worker.
    const runs = points<Histogram>(data, M.requestDuration, base).reduce((n, p) => n + p.value.count, 0);
    const waits = points<Histogram>(data, M.queueWait, base).reduce((n, p) => n + p.value.count, 0);
    expect(runs).toBe(4);
    expect(waits).toBe(5);
    const failed = points<Histogram>(data, M.requestDuration, { ...base, "snakepit.tool": "fail" });
    expect(failed[0]!.attributes).toMatchObject({ "snakepit.outcome": "error", "snakepit.error.code": "python_error" });

    // Idle again once everything finished.
    expect(sum(data, M.workersBusy, base)).toBe(0);
    expect(sum(data, M.workersIdle, base)).toBe(1);
  });

  it("reports the queue depth while calls wait, and the queue wait they had", async () => {
    const { reader } = setUp();
    const p = await pool();
    const base = { "snakepit.pool.name": p.name };
    const queued = nextEvents<RequestQueuedEvent>("requestQueued", 2, (e) => e.pool === p);
    const calls = [p.execute("sleep", { seconds: 0.3 }), p.execute("noop"), p.execute("noop")];
    await queued;
    expect(sum(await read(reader), M.queueDepth, base)).toBe(2);
    await Promise.all(calls);
    const data = await read(reader);
    expect(sum(data, M.queueDepth, base)).toBe(0);
    const waits = points<Histogram>(data, M.queueWait, { ...base, "snakepit.tool": "noop" });
    expect(waits[0]!.value.count).toBe(2);
    expect(waits[0]!.value.min).toBeGreaterThan(0.15);
  });

  it("counts recycles by reason and crashes by how the worker died", async () => {
    const { reader } = setUp();
    const p = await pool();
    const base = { "snakepit.pool.name": p.name };
    const first = p.stats().perWorker[0]!;
    await p.recycleWorker(first.id, { reason: "max_requests" });

    const victim = p.stats().perWorker.find((w) => w.state === "ready")!;
    const exited = nextEvents<WorkerExitedEvent>("workerExited", 1, (e) => e.workerId === victim.id);
    const replaced = nextEvents<WorkerReadyEvent>("workerReady", 1, (e) => e.pool === p);
    process.kill(victim.pid!, "SIGKILL");
    await exited;
    await replaced;

    const data = await read(reader);
    expect(sum(data, M.workerRecycles, { ...base, "snakepit.recycle.reason": "max_requests" })).toBe(1);
    expect(sum(data, M.workerCrashes, { ...base, "snakepit.crash.reason": "signal:SIGKILL" })).toBe(1);
    expect(sum(data, M.workerCrashes, base)).toBe(p.stats().crashes);
    expect(await p.execute("add", { a: 1, b: 1 })).toBe(2);
  });

  it("shows a thread-profile worker's capacity", async () => {
    const { reader } = setUp();
    const p = await pool({ profile: "thread", size: 1, threadsPerWorker: 4 });
    await p.execute("noop");
    const data = await read(reader);
    const base = { "snakepit.pool.name": p.name, "snakepit.profile": "thread" };
    expect(sum(data, M.workersCapacity, base)).toBe(4);
    expect(sum(data, M.requestsCompleted, { ...base, "snakepit.tool": "noop" })).toBe(1);
  });

  it("reports pools passed in before they publish anything, and forgets closed ones", async () => {
    const p = await pool({ name: "quiet" });
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const instrumentation = instrumentSnakepit({ meterProvider, traces: false, pools: [p] });
    cleanup.push(() => meterProvider.shutdown(), () => instrumentation.disable());
    expect(sum(await read(reader), M.workersIdle, { "snakepit.pool.name": "quiet" })).toBe(1);
    await p.close();
    // (The SDK keeps reporting the last value it saw in cumulative mode; what matters is
    // that a closed pool is no longer asked.)
    const stats = vi.spyOn(p, "stats");
    await read(reader);
    expect(stats).not.toHaveBeenCalled();
  });

  it("uses a global MeterProvider registered after instrumenting, and stops at disable()", async () => {
    const instrumentation = instrumentSnakepit({ traces: false });
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    metrics.setGlobalMeterProvider(meterProvider);
    cleanup.push(() => meterProvider.shutdown(), () => metrics.disable(), () => instrumentation.disable());
    const p = await pool();
    await p.execute("noop");
    expect(sum(await read(reader), M.requestsCompleted, { "snakepit.pool.name": p.name })).toBe(1);
    instrumentation.disable();
    await p.execute("noop");
    const stats = vi.spyOn(p, "stats");
    const after = await read(reader);
    expect(sum(after, M.requestsCompleted, { "snakepit.pool.name": p.name })).toBe(1);
    expect(stats, "the gauges' callback is removed").not.toHaveBeenCalled();
  });
});
