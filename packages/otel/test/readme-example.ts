import { trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { createPool } from "@snakepit/core";
import { instrumentSnakepit } from "@snakepit/otel";

export async function tracedCall(): Promise<string[]> {
  // Once, at start-up: the OpenTelemetry SDK (in production, an OTLP exporter)...
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  provider.register();
  // ...then one call instruments every Snakepit pool in the process.
  const instrumentation = instrumentSnakepit();

  const pool = await createPool({ size: 1, python: { adapter: "snakepit_bridge.adapters.showcase:ShowcaseAdapter" } });
  try {
    await trace.getTracer("my-app").startActiveSpan("handle-request", async (span) => {
      await pool.execute("add", { a: 1, b: 2 }); // a child span: "snakepit.execute add"
      span.end();
    });
    return exporter.getFinishedSpans().map((s) => s.name);
  } finally {
    await pool.close();
    instrumentation.disable();
    await provider.shutdown();
  }
}
