/**
 * One call instruments every Snakepit pool in the process: spans and trace
 * propagation from the request events, metrics from the request and worker
 * events plus `pool.stats()`. It uses the global OpenTelemetry providers unless
 * others are passed in; with no SDK registered the spans and instruments are
 * OpenTelemetry's no-ops.
 */
import {
  metrics,
  trace,
  type Meter,
  type MeterProvider,
  type TextMapPropagator,
  type Tracer,
  type TracerProvider,
} from "@opentelemetry/api";
import type {
  Pool,
  PoolClosedEvent,
  PoolCreatedEvent,
  RequestFinishedEvent,
  RequestQueuedEvent,
  RequestStartedEvent,
  Snakepit,
  WorkerExitedEvent,
  WorkerReadyEvent,
  WorkerRecycledEvent,
} from "@snakepit/core";
import { INSTRUMENTATION_SCOPE } from "./attributes.js";
import { onEvent } from "./channels.js";
import { PoolRegistry } from "./pool-registry.js";
import { RequestMetrics } from "./request-metrics.js";
import { RequestSpans } from "./request-spans.js";

export interface InstrumentSnakepitOptions {
  /** Where spans go. Default: the global tracer provider (also one registered later). */
  tracerProvider?: TracerProvider;
  /** Where metrics go. Default: the global meter provider, looked up again when it changes. */
  meterProvider?: MeterProvider;
  /**
   * Injects the trace context into the headers sent to Python. Default: the global
   * propagator (`NodeTracerProvider.register()` sets W3C trace context and baggage).
   */
  propagator?: TextMapPropagator;
  /** Spans and trace propagation. Default true. */
  traces?: boolean;
  /** Metrics. Default true. */
  metrics?: boolean;
  /**
   * Pools (or Snakepits) whose gauges to report from now on. Others are picked up
   * at their first event (any call, worker start or exit).
   */
  pools?: Iterable<Pool | Snakepit>;
}

export interface SnakepitInstrumentation {
  /** Stop: unsubscribe from every event, end the spans of calls still running, remove the gauges. Idempotent. */
  disable(): void;
}

export function instrumentSnakepit(options: InstrumentSnakepitOptions = {}): SnakepitInstrumentation {
  const registry = new PoolRegistry();
  for (const target of options.pools ?? []) registry.add(target);
  const unsubscribe: Array<() => void> = [];
  const learn = (e: { pool: Pool }) => registry.add(e.pool);

  unsubscribe.push(
    onEvent<PoolCreatedEvent>("poolCreated", learn),
    onEvent<RequestQueuedEvent>("requestQueued", learn),
    onEvent<PoolClosedEvent>("poolClosed", (e) => registry.remove(e.pool)),
  );

  let spans: RequestSpans | undefined;
  if (options.traces !== false) {
    const tracer: Tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_SCOPE);
    const s = new RequestSpans({ tracer: () => tracer, propagator: options.propagator });
    spans = s;
    unsubscribe.push(
      onEvent<WorkerReadyEvent>("workerReady", (e) => s.onWorkerReady(e)),
      onEvent<WorkerExitedEvent>("workerExited", (e) => s.onWorkerExited(e)),
      onEvent<RequestStartedEvent>("requestStarted", (e) => s.onStarted(e)),
      onEvent<RequestFinishedEvent>("requestFinished", (e) => s.onFinished(e)),
    );
  }

  let meters: RequestMetrics | undefined;
  if (options.metrics !== false) {
    let provider: MeterProvider | undefined;
    let meter: Meter | undefined;
    const currentMeter = (): Meter => {
      const now = options.meterProvider ?? metrics.getMeterProvider();
      if (now !== provider || !meter) {
        provider = now;
        meter = now.getMeter(INSTRUMENTATION_SCOPE);
      }
      return meter;
    };
    const m = new RequestMetrics(currentMeter, registry);
    meters = m;
    m.start();
    unsubscribe.push(
      onEvent<RequestStartedEvent>("requestStarted", learn),
      onEvent<RequestFinishedEvent>("requestFinished", (e) => {
        learn(e);
        m.onFinished(e);
      }),
      onEvent<WorkerReadyEvent>("workerReady", learn),
      onEvent<WorkerRecycledEvent>("workerRecycled", (e) => m.onRecycled(e)),
      onEvent<WorkerExitedEvent>("workerExited", (e) => m.onExited(e)),
    );
  }

  let disabled = false;
  return {
    disable() {
      if (disabled) return;
      disabled = true;
      for (const off of unsubscribe.splice(0)) off();
      spans?.endOpen();
      meters?.stop();
    },
  };
}
