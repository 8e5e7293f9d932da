/**
 * Snakepit's metrics: histograms and counters fed by core's events, gauges read
 * from `pool.stats()` of every known pool at each collection.
 */
import type {
  Attributes,
  BatchObservableCallback,
  Counter,
  Histogram,
  Meter,
  ObservableUpDownCounter,
} from "@opentelemetry/api";
import type { RequestFinishedEvent, WorkerExitedEvent, WorkerRecycledEvent } from "@snakepit/core";
import { SNAKEPIT_ATTRIBUTES as A } from "./attributes.js";
import type { PoolRegistry } from "./pool-registry.js";

/** The metric names (OpenTelemetry form; Prometheus turns `.` into `_` and adds the unit/`_total`). */
export const SNAKEPIT_METRICS = {
  requestDuration: "snakepit.request.duration",
  queueWait: "snakepit.queue.wait",
  requestsCompleted: "snakepit.requests.completed",
  requestsFailed: "snakepit.requests.failed",
  requestsRejected: "snakepit.requests.rejected",
  requestsInFlight: "snakepit.requests.in_flight",
  queueDepth: "snakepit.queue.depth",
  workersBusy: "snakepit.workers.busy",
  workersIdle: "snakepit.workers.idle",
  workersCapacity: "snakepit.workers.capacity",
  workerRecycles: "snakepit.worker.recycles",
  workerCrashes: "snakepit.worker.crashes",
} as const;

/** Bucket boundaries (seconds) for both duration histograms: 0.5 ms to 2 min. */
export const DURATION_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** Failures that mean "refused without running", as core counts them in `stats().rejected`. */
const REJECTED = new Set(["queue_full", "queue_timeout", "pool_closed"]);

interface Instruments {
  readonly meter: Meter;
  readonly duration: Histogram;
  readonly wait: Histogram;
  readonly completed: Counter;
  readonly failed: Counter;
  readonly rejected: Counter;
  readonly recycles: Counter;
  readonly crashes: Counter;
  readonly gauges: ObservableUpDownCounter[];
  readonly callback: BatchObservableCallback;
}

export class RequestMetrics {
  private instruments: Instruments | undefined;

  /** `meter()` is asked at each event, so a global MeterProvider set later is picked up. */
  constructor(
    private readonly meter: () => Meter,
    private readonly registry: PoolRegistry,
  ) {}

  onFinished(e: RequestFinishedEvent): void {
    const m = this.current();
    const attrs: Attributes = { [A.poolName]: e.poolName, [A.profile]: e.profile, [A.tool]: e.tool, [A.callKind]: e.kind };
    if (e.outcome === "ok") {
      m.completed.add(1, attrs);
    } else {
      const code = e.errorCode ?? "internal";
      const refused = e.workerId === undefined && REJECTED.has(code);
      (refused ? m.rejected : m.failed).add(1, { ...attrs, [A.errorCode]: code });
    }
    const withOutcome: Attributes = { ...attrs, [A.outcome]: e.outcome };
    if (e.errorCode !== undefined) withOutcome[A.errorCode] = e.errorCode;
    m.wait.record(e.waitMs / 1000, withOutcome);
    // Only calls that ran on a worker have a run time.
    if (e.workerId !== undefined) m.duration.record(e.runMs / 1000, withOutcome);
  }

  onRecycled(e: WorkerRecycledEvent): void {
    this.current().recycles.add(1, { [A.poolName]: e.poolName, [A.profile]: e.profile, [A.recycleReason]: e.reason });
  }

  onExited(e: WorkerExitedEvent): void {
    if (e.expected) return;
    const reason = e.signal ? `signal:${e.signal}` : `exit_code:${e.exitCode ?? "unknown"}`;
    this.current().crashes.add(1, { [A.poolName]: e.poolName, [A.profile]: e.profile, [A.crashReason]: reason });
  }

  /** Create the instruments (now, so the gauges report before the first event). */
  start(): void {
    this.current();
  }

  stop(): void {
    if (!this.instruments) return;
    this.instruments.meter.removeBatchObservableCallback(this.instruments.callback, this.instruments.gauges);
    this.instruments = undefined;
  }

  private current(): Instruments {
    const meter = this.meter();
    if (this.instruments?.meter === meter) return this.instruments;
    this.stop();
    this.instruments = this.create(meter);
    return this.instruments;
  }

  private create(meter: Meter): Instruments {
    const advice = { explicitBucketBoundaries: DURATION_BUCKETS_S };
    const gauge = (name: string, description: string, unit: string) => meter.createObservableUpDownCounter(name, { description, unit });
    const inFlight = gauge(SNAKEPIT_METRICS.requestsInFlight, "Calls running on workers now.", "{request}");
    const depth = gauge(SNAKEPIT_METRICS.queueDepth, "Calls waiting for a free worker.", "{request}");
    const busy = gauge(SNAKEPIT_METRICS.workersBusy, "Ready workers with at least one call running.", "{worker}");
    const idle = gauge(SNAKEPIT_METRICS.workersIdle, "Ready workers with nothing running.", "{worker}");
    const capacity = gauge(SNAKEPIT_METRICS.workersCapacity, "Calls the ready workers can run at once.", "{request}");
    const callback: BatchObservableCallback = (result) => this.observe(result, { inFlight, depth, busy, idle, capacity });
    const gauges = [inFlight, depth, busy, idle, capacity];
    meter.addBatchObservableCallback(callback, gauges);
    return {
      meter,
      duration: meter.createHistogram(SNAKEPIT_METRICS.requestDuration, {
        description: "Time a call ran on its worker (sent to finished).",
        unit: "s",
        advice,
      }),
      wait: meter.createHistogram(SNAKEPIT_METRICS.queueWait, {
        description: "Time a call waited for a free worker.",
        unit: "s",
        advice,
      }),
      completed: meter.createCounter(SNAKEPIT_METRICS.requestsCompleted, { description: "Calls that succeeded.", unit: "{request}" }),
      failed: meter.createCounter(SNAKEPIT_METRICS.requestsFailed, { description: "Calls that failed.", unit: "{request}" }),
      rejected: meter.createCounter(SNAKEPIT_METRICS.requestsRejected, {
        description: "Calls refused without running (queue full, queue timeout, pool closed).",
        unit: "{request}",
      }),
      recycles: meter.createCounter(SNAKEPIT_METRICS.workerRecycles, { description: "Workers taken out of rotation, by reason.", unit: "{worker}" }),
      crashes: meter.createCounter(SNAKEPIT_METRICS.workerCrashes, { description: "Workers that died unexpectedly, by how.", unit: "{worker}" }),
      gauges,
      callback,
    };
  }

  private observe(
    result: Parameters<BatchObservableCallback>[0],
    g: Record<"inFlight" | "depth" | "busy" | "idle" | "capacity", ObservableUpDownCounter>,
  ): void {
    for (const pool of this.registry.live()) {
      const s = pool.stats();
      const attrs: Attributes = { [A.poolName]: s.name, [A.profile]: s.profile };
      result.observe(g.inFlight, s.inFlight, attrs);
      result.observe(g.depth, s.queued, attrs);
      result.observe(g.busy, s.busy, attrs);
      result.observe(g.idle, s.idle, attrs);
      result.observe(g.capacity, s.capacity, attrs);
    }
  }
}
