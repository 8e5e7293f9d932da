/**
 * A CLIENT span per call, from core's request events:
 *
 * - `snakepit:request:started` (published in the call's own async context, after any
 *   queue wait) starts the span as a child of `context.active()` — the caller's
 *   context at `pool.execute()`/stream iteration — back-dated by the queue wait,
 *   and injects its trace context (`traceparent`) into the headers sent to Python;
 * - `snakepit:request:finished` sets the outcome and ends it. A call that never
 *   reached a worker (queue full, queue timeout, aborted while queued) gets its
 *   span there, covering its time in the queue.
 */
import {
  context,
  defaultTextMapSetter,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapPropagator,
  type Tracer,
} from "@opentelemetry/api";
import type { Pool, RequestFinishedEvent, RequestStartedEvent, WorkerExitedEvent, WorkerReadyEvent } from "@snakepit/core";
import { RPC_SERVICE, SNAKEPIT_ATTRIBUTES as A } from "./attributes.js";
import { grpcStatusFor } from "./rpc-status.js";

export interface RequestSpansOptions {
  /** Returns the tracer to use now (the global one may be replaced after instrumentation). */
  tracer: () => Tracer;
  /** Used instead of the global propagator when given. */
  propagator: TextMapPropagator | undefined;
}

/** Epoch milliseconds with sub-millisecond precision, on the same clock the SDK uses. */
function nowEpochMs(): number {
  return performance.timeOrigin + performance.now();
}

export class RequestSpans {
  /** This instance's key in each call's `context` map. */
  private readonly key = Symbol("snakepit.otel.span");
  private readonly open = new Set<Span>();
  /** Each pool's workers: pid and, for a worker on another host, its "host:port". */
  private readonly workers = new WeakMap<Pool, Map<string, WorkerSeen>>();

  constructor(private readonly options: RequestSpansOptions) {}

  onWorkerReady(e: WorkerReadyEvent): void {
    this.workersOf(e.pool).set(e.workerId, { pid: e.pid, host: e.info?.host });
  }

  onWorkerExited(e: WorkerExitedEvent): void {
    this.workers.get(e.pool)?.delete(e.workerId);
  }

  onStarted(e: RequestStartedEvent): void {
    const parent = context.active();
    const attributes: Attributes = {
      ...this.baseAttributes(e),
      [A.workerId]: e.workerId,
      [A.queueWaitMs]: e.waitMs,
    };
    const worker = this.workerOf(e.pool, e.workerId);
    if (worker.pid !== undefined) attributes[A.workerPid] = worker.pid;
    if (worker.host !== undefined) {
      // A worker on another host (@snakepit/remote): the server it was sent to, over TCP.
      const { address, port } = splitHost(worker.host);
      attributes[A.serverAddress] = address;
      if (port !== undefined) attributes[A.serverPort] = port;
      attributes[A.networkTransport] = "tcp";
    }
    if (e.sessionId !== undefined) attributes[A.sessionId] = e.sessionId;
    const span = this.start(e, parent, attributes);
    e.context.set(this.key, span);
    this.open.add(span);
    const withSpan = trace.setSpan(parent, span);
    if (this.options.propagator) this.options.propagator.inject(withSpan, e.headers, defaultTextMapSetter);
    else propagation.inject(withSpan, e.headers);
  }

  onFinished(e: RequestFinishedEvent): void {
    let span = e.context.get(this.key) as Span | undefined;
    if (span === undefined) {
      // It never reached a worker: its span covers the time it spent queued.
      span = this.start(e, context.active(), { ...this.baseAttributes(e), [A.queueWaitMs]: e.waitMs });
    } else {
      e.context.delete(this.key);
      this.open.delete(span);
    }
    if (!span.isRecording()) {
      span.end();
      return;
    }
    span.setAttribute(A.outcome, e.outcome);
    span.setAttribute(A.rpcGrpcStatusCode, grpcStatusFor(e.errorCode));
    if (e.outcome === "error") {
      const code = e.errorCode ?? "internal";
      span.setAttribute(A.errorCode, code);
      span.setAttribute(A.errorType, code);
      const pythonType = (e.error as { pythonType?: unknown } | undefined)?.pythonType;
      if (typeof pythonType === "string" && pythonType) span.setAttribute(A.pythonType, pythonType);
      if (e.error) span.recordException(e.error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: e.error?.message ?? code });
    }
    span.end();
  }

  /** End the spans of calls still running (when the instrumentation is disabled). */
  endOpen(): void {
    for (const span of this.open) span.end();
    this.open.clear();
  }

  private start(e: RequestStartedEvent | RequestFinishedEvent, parent: Context, attributes: Attributes): Span {
    return this.options.tracer().startSpan(
      `snakepit.${e.kind} ${e.tool}`,
      { kind: SpanKind.CLIENT, startTime: nowEpochMs() - e.waitMs, attributes },
      parent,
    );
  }

  private baseAttributes(e: RequestStartedEvent | RequestFinishedEvent): Attributes {
    return {
      [A.rpcSystem]: "grpc",
      [A.rpcService]: RPC_SERVICE,
      [A.rpcMethod]: e.kind === "stream" ? "Stream" : "Execute",
      [A.networkTransport]: "unix",
      [A.poolName]: e.poolName,
      [A.profile]: e.profile,
      [A.tool]: e.tool,
      [A.callId]: e.callId,
      [A.callKind]: e.kind,
    };
  }

  private workersOf(pool: Pool): Map<string, WorkerSeen> {
    let map = this.workers.get(pool);
    if (!map) {
      map = new Map();
      this.workers.set(pool, map);
    }
    return map;
  }

  /** From the ready event, or (a worker started before instrumentation) from stats once. */
  private workerOf(pool: Pool, workerId: string): WorkerSeen {
    const map = this.workersOf(pool);
    let seen = map.get(workerId);
    if (!seen) {
      const w = pool.stats().perWorker.find((x) => x.id === workerId);
      seen = { pid: w?.pid, host: w?.info?.host };
      map.set(workerId, seen);
    }
    return seen;
  }
}

interface WorkerSeen {
  readonly pid: number | undefined;
  readonly host: string | undefined;
}

/** "10.0.0.7:50051", "[::1]:50051" or a bare host name, as server.address and server.port. */
export function splitHost(host: string): { address: string; port: number | undefined } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(host) ?? /^([^:]+):(\d+)$/.exec(host);
  if (!m) return { address: host, port: undefined };
  return { address: m[1]!, port: Number(m[2]) };
}
