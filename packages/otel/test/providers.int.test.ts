// Which providers the instrumentation uses: none registered (it must cost nothing
// and send nothing), ones passed in explicitly, and a global one registered later.
import { context, propagation, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import type { Pool } from "@snakepit/core";
import { instrumentSnakepit } from "@snakepit/otel";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { byName, fixturePool, pythonSpans, TRACED } from "./otel-helpers.js";

let pool: Pool;

beforeAll(async () => {
  pool = await fixturePool(TRACED, { size: 1 });
});

afterAll(async () => {
  await pool?.close();
});

afterEach(() => {
  trace.disable();
  context.disable();
  propagation.disable();
});

describe("with no OpenTelemetry SDK registered", () => {
  it("sends no trace context and the calls behave as without it", async () => {
    const instrumentation = instrumentSnakepit();
    try {
      expect(await pool.execute("add", { a: 1, b: 2 })).toBe(3);
      expect(await pool.execute("headers")).toEqual({});
      const chunks = [];
      for await (const c of pool.stream("stream_spans", { steps: 2 })) chunks.push(c);
      expect(chunks).toHaveLength(2);
      await expect(pool.execute("fail")).rejects.toMatchObject({ code: "python_error" });
    } finally {
      instrumentation.disable();
    }
  });
});

describe("with providers passed in", () => {
  it("sends spans to that provider (not the global one) and injects with the given propagator", async () => {
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const instrumentation = instrumentSnakepit({ tracerProvider, propagator: new W3CTraceContextPropagator() });
    try {
      await pool.execute("clear_spans");
      const headers = await pool.execute<Record<string, string>>("headers");
      const client = byName(exporter.getFinishedSpans(), "snakepit.execute headers");
      const { traceId, spanId } = client.spanContext();
      expect(headers["traceparent"]).toBe(`00-${traceId}-${spanId}-01`);
      const server = byName(await pythonSpans(pool), "snakepit.tool headers");
      expect(server.parent_id).toBe(spanId);
      // The global tracer provider is still the no-op one.
      expect(trace.getTracer("x").startSpan("probe").isRecording()).toBe(false);
    } finally {
      instrumentation.disable();
      await tracerProvider.shutdown();
    }
  });
});

describe("with the global SDK registered after instrumenting", () => {
  it("picks it up (the global tracer is a proxy)", async () => {
    const instrumentation = instrumentSnakepit();
    const exporter = new InMemorySpanExporter();
    const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    provider.register();
    try {
      const headers = await pool.execute<Record<string, string>>("headers");
      const client = byName(exporter.getFinishedSpans(), "snakepit.execute headers");
      expect(headers["traceparent"]).toContain(client.spanContext().spanId);
    } finally {
      instrumentation.disable();
      await provider.shutdown();
    }
  });
});
