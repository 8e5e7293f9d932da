// Traces across Node and Python: run a few calls under one request span and print
// the whole trace as a tree. Run it with `node main.mjs` (after `pnpm run setup`).
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { createPool, isSnakepitError, silentLogger } from "@snakepit/core";
import { instrumentSnakepit } from "@snakepit/otel";

// 1. The usual OpenTelemetry set-up. Here spans stay in memory so we can print them;
//    in production, give the provider an OTLP exporter instead.
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register();

// 2. One call instruments every Snakepit pool in the process.
const instrumentation = instrumentSnakepit();

// 3. The Python side (text_tools.py) configures its own tracer provider in setup().
const here = dirname(fileURLToPath(import.meta.url));
const pool = await createPool({
  size: 1,
  logger: silentLogger,
  python: { adapter: "text_tools:TextTools", env: { PYTHONPATH: here } },
});

const text = "the quick brown fox jumps over the lazy dog";
const tracer = trace.getTracer("telemetry-example");
let traceId = "";
try {
  await tracer.startActiveSpan("handle-request", async (root) => {
    traceId = root.spanContext().traceId;
    try {
      // Two calls at once on one worker: the second waits (its span shows the wait).
      const [count, summary] = await Promise.all([
        pool.execute("word_count", { text }),
        pool.execute("summarize", { text, max_words: 4 }),
      ]);
      console.log(`word_count = ${count}, summarize = "${summary}"`);
      const parts = [];
      for await (const part of pool.stream("chunks", { text, size: 4 })) parts.push(part);
      console.log(`chunks = ${JSON.stringify(parts)}`);
      try {
        await pool.execute("word_count", { text: 42 });
      } catch (err) {
        if (!isSnakepitError(err)) throw err;
        console.log(`word_count(42) failed: ${err.code} ${err.pythonType}`);
      }
    } finally {
      root.end();
    }
  });

  // 4. Gather both sides' spans (a tracing backend does this for you) and print the tree.
  const pythonSpans = await pool.execute("collected_spans");
  const spans = [
    ...exporter.getFinishedSpans().map((s) => ({
      name: s.name,
      side: "node",
      kind: ["internal", "server", "client", "producer", "consumer"][s.kind],
      traceId: s.spanContext().traceId,
      spanId: s.spanContext().spanId,
      parentId: s.parentSpanContext?.spanId ?? null,
      startMs: s.startTime[0] * 1e3 + s.startTime[1] / 1e6,
      durationMs: s.duration[0] * 1e3 + s.duration[1] / 1e6,
      error: s.status.code === 2 ? String(s.attributes["snakepit.error.code"] ?? "error") : undefined,
      detail: s.attributes["snakepit.worker.id"]
        ? `worker=${s.attributes["snakepit.worker.id"]} wait=${Number(s.attributes["snakepit.queue.wait_ms"]).toFixed(1)}ms`
        : "",
    })),
    ...pythonSpans.map((s) => ({
      ...s,
      side: "python",
      startMs: s.startMs,
      error: s.status === "ERROR" ? "error" : undefined,
      detail: `pid=${s.pid}`,
    })),
  ].filter((s) => s.traceId === traceId);

  console.log(`\ntrace ${traceId}`);
  printTree(spans);
} finally {
  await pool.close();
  instrumentation.disable();
  await provider.shutdown();
}

function printTree(spans) {
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map();
  for (const s of spans) {
    const key = s.parentId && ids.has(s.parentId) ? s.parentId : "root";
    if (!children.has(key)) children.set(key, []);
    children.get(key).push(s);
  }
  for (const list of children.values()) list.sort((a, b) => a.startMs - b.startMs);
  const walk = (key, prefix) => {
    const list = children.get(key) ?? [];
    list.forEach((s, i) => {
      const last = i === list.length - 1;
      const tags = [`${s.side} ${s.kind}`, `${s.durationMs.toFixed(1)} ms`, s.detail, s.error ? `ERROR ${s.error}` : ""].filter(Boolean);
      console.log(`${prefix}${last ? "└─ " : "├─ "}${s.name}  (${tags.join(", ")})`);
      walk(s.spanId, prefix + (last ? "   " : "│  "));
    });
  };
  walk("root", "");
}
