/**
 * One call instruments every Snakepit pool in the process, through core's
 * process-wide pool hooks: spans and trace propagation from the call hooks,
 * metrics from the call and worker hooks plus `pool.stats()`. It uses the global OpenTelemetry providers unless
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
import { registerPoolHooks, type Pool, type PoolHooks, type Snakepit } from "@snakepit/core";
import { INSTRUMENTATION_SCOPE } from "./attributes.js";
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
  /** Stop: remove the hooks, end the spans of calls still running, remove the gauges. Idempotent. */
  disable(): void;
}

export function instrumentSnakepit(options: InstrumentSnakepitOptions = {}): SnakepitInstrumentation {
  const registry = new PoolRegistry();
  for (const target of options.pools ?? []) registry.add(target);
  const learn = (e: { pool: Pool }) => registry.add(e.pool);
  // Core calls these hooks for every pool in the process; the trace context is
  // added to a call's headers in onCallStart, before the call is sent.
  const hooks: PoolHooks = {
    onPoolCreated: learn,
    onCallQueued: learn,
    onPoolClosed: (e) => registry.remove(e.pool),
  };

  let spans: RequestSpans | undefined;
  if (options.traces !== false) {
    const tracer: Tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_SCOPE);
    spans = new RequestSpans({ tracer: () => tracer, propagator: options.propagator });
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
    meters = new RequestMetrics(currentMeter, registry);
    meters.start();
  }

  const s = spans;
  const m = meters;
  hooks.onWorkerReady = (e) => {
    if (m) learn(e);
    s?.onWorkerReady(e);
  };
  hooks.onWorkerExit = (e) => {
    s?.onWorkerExited(e);
    m?.onExited(e);
  };
  hooks.onCallStart = (e) => {
    if (m) learn(e);
    s?.onStarted(e);
  };
  hooks.onCallEnd = (e) => {
    s?.onFinished(e);
    if (m) {
      learn(e);
      m.onFinished(e);
    }
  };
  if (m) hooks.onWorkerRecycled = (e) => m.onRecycled(e);
  const unregister = registerPoolHooks(hooks);

  let disabled = false;
  return {
    disable() {
      if (disabled) return;
      disabled = true;
      unregister();
      spans?.endOpen();
      meters?.stop();
    },
  };
}
