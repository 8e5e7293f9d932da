/**
 * A call to a worker on another host carries that host on its span (server.address,
 * server.port, network.transport tcp). The pool is real; its workers are in-memory
 * ones that report a host, as @snakepit/remote's do.
 */
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { createPool, silentLogger, type WorkerProfile } from "@snakepit/core";
import { memoryProfile } from "@snakepit/core/profile";
import { describe, expect, it } from "vitest";
import { instrumentSnakepit } from "../src/index.js";
import { splitHost } from "../src/request-spans.js";

function onHost(host: string | undefined): WorkerProfile {
  const inner = memoryProfile({ tools: { noop: () => null } });
  return {
    name: "remote-like",
    async startWorker(ctx) {
      const handle = await inner.startWorker(ctx);
      return { ...handle, info: { ...handle.info, ...(host ? { host } : {}) } };
    },
  };
}

describe("spans of calls to workers on other hosts", () => {
  it.each([
    ["10.0.0.7:50051", { "server.address": "10.0.0.7", "server.port": 50051, "network.transport": "tcp" }],
    ["[fd00::7]:50051", { "server.address": "fd00::7", "server.port": 50051, "network.transport": "tcp" }],
  ])("a worker on %s", async (host, expected) => {
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const instrumentation = instrumentSnakepit({ tracerProvider, metrics: false });
    try {
      await using pool = await createPool({ size: 1, profile: onHost(host), logger: silentLogger, python: { adapter: "m:C" } });
      await pool.execute("noop");
      const [span] = exporter.getFinishedSpans();
      expect(span?.attributes).toMatchObject(expected);
    } finally {
      instrumentation.disable();
      await tracerProvider.shutdown();
    }
  });

  it("a local worker's span has no server address and stays on unix", async () => {
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const instrumentation = instrumentSnakepit({ tracerProvider, metrics: false });
    try {
      await using pool = await createPool({ size: 1, profile: onHost(undefined), logger: silentLogger, python: { adapter: "m:C" } });
      await pool.execute("noop");
      const [span] = exporter.getFinishedSpans();
      expect(span?.attributes["network.transport"]).toBe("unix");
      expect(span?.attributes["server.address"]).toBeUndefined();
    } finally {
      instrumentation.disable();
      await tracerProvider.shutdown();
    }
  });

  it("splits host names, IPv4 and bracketed IPv6 with or without a port", () => {
    expect(splitHost("worker-0.snakepit:50051")).toEqual({ address: "worker-0.snakepit", port: 50051 });
    expect(splitHost("[::1]:8080")).toEqual({ address: "::1", port: 8080 });
    expect(splitHost("worker-0")).toEqual({ address: "worker-0", port: undefined });
  });
});
