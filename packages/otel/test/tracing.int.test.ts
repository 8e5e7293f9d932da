// Spans against real Python workers and the real OpenTelemetry SDK: the Snakepit
// client span is a child of the caller's span, and the worker's server span (and
// the tool's own spans) continue the same trace in Python.
import { context, propagation, SpanKind, SpanStatusCode, trace, type Span } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import type { Pool, RequestQueuedEvent, RequestStartedEvent } from "@snakepit/core";
import { instrumentSnakepit, type SnakepitInstrumentation } from "@snakepit/otel";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { byName, fixturePool, nextEvents, parentId, pythonSpans, TRACED, type PySpan } from "./otel-helpers.js";

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = trace.getTracer("test-caller");
let instrumentation: SnakepitInstrumentation;
let pool: Pool;

beforeAll(async () => {
  // What a user does: register the SDK globally (AsyncLocalStorage context manager,
  // W3C propagator), then instrument with no arguments.
  provider.register();
  instrumentation = instrumentSnakepit();
  pool = await fixturePool(TRACED, { size: 1 });
});

afterAll(async () => {
  await pool?.close();
  instrumentation?.disable();
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

beforeEach(async () => {
  await pool.execute("clear_spans");
  exporter.reset();
});

function nodeSpan(name: string): ReadableSpan {
  return byName(exporter.getFinishedSpans(), name);
}

/** Run `fn` inside an active span of the caller's own; returns its ids. */
async function underParent<T>(name: string, fn: () => Promise<T>): Promise<{ result: T; traceId: string; spanId: string }> {
  return tracer.startActiveSpan(name, async (span: Span) => {
    try {
      const result = await fn();
      return { result, traceId: span.spanContext().traceId, spanId: span.spanContext().spanId };
    } finally {
      span.end();
    }
  });
}

describe("the client span", () => {
  it("is a child of the span active around pool.execute, with the RPC and Snakepit attributes", async () => {
    const { result, traceId, spanId } = await underParent("caller", () => pool.execute<number>("add", { a: 2, b: 3 }));
    expect(result).toBe(5);
    const span = nodeSpan("snakepit.execute add");
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.spanContext().traceId).toBe(traceId);
    expect(parentId(span)).toBe(spanId);
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    const worker = pool.stats().perWorker[0]!;
    expect(span.attributes).toMatchObject({
      "rpc.system": "grpc",
      "rpc.service": "snakepit.worker.v1.WorkerService",
      "rpc.method": "Execute",
      "rpc.grpc.status_code": 0,
      "network.transport": "unix",
      "snakepit.pool.name": pool.name,
      "snakepit.profile": "process",
      "snakepit.tool": "add",
      "snakepit.call.kind": "execute",
      "snakepit.worker.id": worker.id,
      "snakepit.worker.pid": worker.pid,
      "snakepit.outcome": "ok",
    });
    expect(typeof span.attributes["snakepit.call.id"]).toBe("string");
    expect(span.attributes["snakepit.queue.wait_ms"]).toBeGreaterThanOrEqual(0);
  });

  it("carries traceparent to Python: the server span's parent is the client span, the tool's span nests under it", async () => {
    const { result: inner, traceId } = await underParent("caller", () =>
      pool.execute<{ trace_id: string; span_id: string; parent_id: string }>("user_span", { name: "model-inference" }),
    );
    const client = nodeSpan("snakepit.execute user_span");
    const py = await pythonSpans(pool);
    const server = byName(py, "snakepit.tool user_span");
    const user = byName(py, "model-inference");
    expect(server.trace_id).toBe(traceId);
    expect(server.parent_id).toBe(client.spanContext().spanId);
    expect(server.kind).toBe("SERVER");
    expect(server.attributes).toMatchObject({ "rpc.system": "grpc", "rpc.method": "Execute", "snakepit.tool": "user_span" });
    expect(user.trace_id).toBe(traceId);
    expect(user.parent_id).toBe(server.span_id);
    expect(inner.span_id).toBe(user.span_id);
  });

  it("parents an async tool's spans the same way", async () => {
    const { traceId } = await underParent("caller", () => pool.execute("async_user_span"));
    const client = nodeSpan("snakepit.execute async_user_span");
    const py = await pythonSpans(pool);
    const server = byName(py, "snakepit.tool async_user_span");
    expect(server.trace_id).toBe(traceId);
    expect(server.parent_id).toBe(client.spanContext().spanId);
    expect(byName(py, "async-user-work").parent_id).toBe(server.span_id);
  });

  it("keeps each queued call under its own caller, and covers its queue wait", async () => {
    // One worker: the first call holds it, the next two queue behind it.
    const queued = nextEvents<RequestQueuedEvent>("requestQueued", 2, (e) => e.pool === pool);
    const calls = [
      underParent("caller-a", () => pool.execute("sleep", { seconds: 0.3 })),
      underParent("caller-b", () => pool.execute("add", { a: 1, b: 1 })),
      underParent("caller-c", () => pool.execute("add", { a: 2, b: 2 })),
    ];
    expect(await queued).toHaveLength(2);
    const [a, b, c] = await Promise.all(calls);
    const adds = exporter.getFinishedSpans().filter((s) => s.name === "snakepit.execute add");
    expect(adds).toHaveLength(2);
    const byParent = new Map(adds.map((s) => [parentId(s), s]));
    for (const caller of [b!, c!]) {
      const span = byParent.get(caller.spanId);
      expect(span, "a snakepit span under each caller").toBeDefined();
      expect(span!.spanContext().traceId).toBe(caller.traceId);
      // It waited behind the 0.3 s call, and the span starts when the call was made.
      expect(span!.attributes["snakepit.queue.wait_ms"]).toBeGreaterThan(150);
      const durationMs = span!.duration[0] * 1e3 + span!.duration[1] / 1e6;
      expect(durationMs).toBeGreaterThan(150);
    }
    expect(parentId(nodeSpan("snakepit.execute sleep"))).toBe(a!.spanId);
    // And in Python, each add's server span hangs off its own client span.
    const py = (await pythonSpans(pool)).filter((s) => s.name === "snakepit.tool add");
    expect(new Set(py.map((s) => s.parent_id))).toEqual(new Set(adds.map((s) => s.spanContext().spanId)));
  });

  it("spans a stream from the loop that consumes it, and the worker's generator steps nest under it", async () => {
    const { result: items, traceId, spanId } = await underParent("consumer", async () => {
      const out: Array<{ name: string; parent_id: string }> = [];
      for await (const item of pool.stream<{ name: string; parent_id: string }>("stream_spans", { steps: 3 })) out.push(item);
      return out;
    });
    const client = nodeSpan("snakepit.stream stream_spans");
    expect(client.attributes["rpc.method"]).toBe("Stream");
    expect(client.attributes["snakepit.call.kind"]).toBe("stream");
    expect(parentId(client)).toBe(spanId);
    const py = await pythonSpans(pool);
    const server = byName(py, "snakepit.tool stream_spans");
    expect(server.trace_id).toBe(traceId);
    expect(server.parent_id).toBe(client.spanContext().spanId);
    expect(server.attributes["rpc.method"]).toBe("Stream");
    expect(items.map((i) => i.name)).toEqual(["step-0", "step-1", "step-2"]);
    for (const item of items) expect(item.parent_id).toBe(server.span_id);
  });

  it("records a Python error with its code on both sides", async () => {
    await expect(underParent("caller", () => pool.execute("fail", { message: "bad input" }))).rejects.toMatchObject({ code: "python_error" });
    const client = nodeSpan("snakepit.execute fail");
    expect(client.status.code).toBe(SpanStatusCode.ERROR);
    expect(client.status.message).toContain("bad input");
    expect(client.attributes).toMatchObject({
      "snakepit.outcome": "error",
      "snakepit.error.code": "python_error",
      "error.type": "python_error",
      "snakepit.python.type": "ValueError",
      "rpc.grpc.status_code": 2,
    });
    expect(client.events.map((e) => e.name)).toContain("exception");
    const server = byName(await pythonSpans(pool), "snakepit.tool fail");
    expect(server.status).toBe("ERROR");
    expect(server.attributes["error.type"]).toBe("ValueError");
    expect(server.parent_id).toBe(client.spanContext().spanId);
  });

  it("gives a call refused in the queue a span of its own under the caller", async () => {
    const small = await fixturePool(TRACED, { size: 1, maxQueue: 0 });
    try {
      const started = nextEvents<RequestStartedEvent>("requestStarted", 1, (e) => e.pool === small);
      const hold = small.execute("sleep", { seconds: 0.3 });
      await started;
      const { spanId } = await underParent("refused-caller", async () => {
        await expect(small.execute("add", { a: 1, b: 2 })).rejects.toMatchObject({ code: "queue_full" });
      });
      await hold;
      const refused = exporter.getFinishedSpans().find((s) => s.name === "snakepit.execute add" && s.attributes["snakepit.pool.name"] === small.name);
      expect(refused).toBeDefined();
      expect(parentId(refused!)).toBe(spanId);
      expect(refused!.status.code).toBe(SpanStatusCode.ERROR);
      expect(refused!.attributes["snakepit.error.code"]).toBe("queue_full");
      expect(refused!.attributes["rpc.grpc.status_code"]).toBe(8);
      expect(refused!.attributes["snakepit.worker.id"]).toBeUndefined();
    } finally {
      await small.close();
    }
  });

  it("sends no trace context, and makes no span, once disabled", async () => {
    const headersBefore = await underParent("caller", () => pool.execute<Record<string, string>>("headers"));
    expect(headersBefore.result["traceparent"]).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    instrumentation.disable();
    instrumentation.disable(); // idempotent
    try {
      exporter.reset();
      const after = await underParent("caller", () => pool.execute<Record<string, string>>("headers"));
      expect(after.result).toEqual({});
      expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(["caller"]);
    } finally {
      instrumentation = instrumentSnakepit();
    }
  });
});

describe("on the thread profile", () => {
  it("keeps concurrent calls on one worker's threads in their own traces", async () => {
    const threaded = await fixturePool(TRACED, { name: "threaded", profile: "thread", size: 1, threadsPerWorker: 4 });
    try {
      const started = nextEvents<RequestStartedEvent>("requestStarted", 4, (e) => e.pool === threaded);
      const calls = [0, 1, 2, 3].map((i) =>
        underParent(`caller-${i}`, async () => {
          // Each caller runs a sleep and a span-making call at once: eight calls share four threads.
          const held = threaded.execute("sleep", { seconds: 0.2 });
          const inner = threaded.execute<{ trace_id: string; parent_id: string }>("user_span", { name: `work-${i}` });
          return Promise.all([held, inner]);
        }),
      );
      await started;
      const results = await Promise.all(calls);
      const py = await pythonSpans(threaded);
      const clients = exporter.getFinishedSpans().filter((s) => s.attributes["snakepit.pool.name"] === "threaded" && s.name === "snakepit.execute user_span");
      expect(clients).toHaveLength(4);
      results.forEach(({ result: [, inner], traceId, spanId }, i) => {
        const client = clients.find((s) => parentId(s) === spanId)!;
        expect(client.spanContext().traceId).toBe(traceId);
        const server = py.find((s) => s.name === "snakepit.tool user_span" && s.parent_id === client.spanContext().spanId)!;
        expect(server.trace_id).toBe(traceId);
        expect(inner.trace_id).toBe(traceId);
        expect(inner.parent_id).toBe(server.span_id);
        expect(byName(py, `work-${i}`).parent_id).toBe(server.span_id);
      });
      // They really ran on several threads of the one worker.
      expect(new Set(py.filter((s) => s.name === "snakepit.tool user_span").map((s) => s.attributes["thread.name"])).size).toBeGreaterThan(1);
    } finally {
      await threaded.close();
    }
  });
});

describe("the server span in Python", () => {
  it("is a root when the caller has no trace (no traceparent is invented)", async () => {
    // No active span: the Snakepit span is the root, and Python continues its trace.
    await pool.execute("add", { a: 1, b: 2 });
    const client = nodeSpan("snakepit.execute add");
    expect(parentId(client)).toBeUndefined();
    const server = byName(await pythonSpans(pool), "snakepit.tool add");
    expect(server.trace_id).toBe(client.spanContext().traceId);
    expect(server.parent_id).toBe(client.spanContext().spanId);
  });
});

export type { PySpan };
