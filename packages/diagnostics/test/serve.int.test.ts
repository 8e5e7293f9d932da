// serveDiagnostics(): real HTTP on 127.0.0.1 against a real pool.
import { connect } from "node:net";
import type { Pool, RequestStartedEvent } from "@snakepit/core";
import { PROMETHEUS_CONTENT_TYPE, serveDiagnostics, type DiagnosticsServer, type DiagnosticsSnapshot } from "@snakepit/diagnostics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixturePool, nextEvents, SHOWCASE } from "./diag-helpers.js";

let pool: Pool;
let server: DiagnosticsServer;

beforeAll(async () => {
  pool = await fixturePool(SHOWCASE, { name: "served", size: 2 });
  server = await serveDiagnostics(pool, { port: 0 });
});

afterAll(async () => {
  await server?.close();
  await pool?.close();
});

/** Prometheus samples as `name{labels}` → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

describe("serveDiagnostics", () => {
  it("listens on 127.0.0.1 only, on the port it reports", async () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.port).toBeGreaterThan(0);
    // Not on the IPv6 loopback (or any other address): the socket is bound to 127.0.0.1.
    const v6 = await new Promise<string>((resolve) => {
      const s = connect({ host: "::1", port: server.port });
      s.once("connect", () => {
        s.destroy();
        resolve("connected");
      });
      s.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "error"));
    });
    expect(v6).not.toBe("connected");
  });

  it("GET /snapshot gives the snapshot as JSON, with the calls running now", async () => {
    const started = nextEvents<RequestStartedEvent>("requestStarted", 1, (e) => e.pool === pool);
    const call = pool.execute("sleep", { seconds: 0.3 });
    await started;
    const res = await fetch(`${server.url}/snapshot`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    const snap = (await res.json()) as DiagnosticsSnapshot;
    expect(snap.pools).toHaveLength(1);
    const p = snap.pools[0]!;
    expect(p).toMatchObject({ name: "served", profile: "process", busy: 1, idle: 1, inFlight: 1 });
    expect(p.workers.map((w) => w.state).sort()).toEqual(["busy", "idle"]);
    expect(p.workers.every((w) => (w.rssBytes ?? 0) > 0)).toBe(true);
    await call;
    const quick = (await (await fetch(`${server.url}/snapshot?memory=0`)).json()) as DiagnosticsSnapshot;
    expect(quick.pools[0]!.workers.every((w) => w.rssBytes === null)).toBe(true);
    // Recording started when the server did: the sleep is in the run-time histogram.
    expect(quick.pools[0]!.runTime.count).toBeGreaterThanOrEqual(1);
    expect(quick.pools[0]!.runTime.maxMs).toBeGreaterThan(250);
  });

  it("GET /metrics gives the Prometheus text format with the snakepit_* names, matching the pool", async () => {
    await pool.execute("add", { a: 1, b: 2 });
    await expect(pool.execute("fail")).rejects.toMatchObject({ code: "python_error" });
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(PROMETHEUS_CONTENT_TYPE);
    const text = await res.text();
    expect(text).toContain("# TYPE snakepit_request_duration_seconds summary");
    const m = samples(text);
    const l = '{pool="served",profile="process"}';
    const s = pool.stats();
    expect(m.get(`snakepit_requests_completed_total${l}`)).toBe(s.completed);
    expect(m.get(`snakepit_requests_failed_total${l}`)).toBe(1);
    expect(m.get(`snakepit_workers_ready${l}`)).toBe(2);
    expect(m.get(`snakepit_workers_idle${l}`)).toBe(2);
    expect(m.get(`snakepit_queue_depth${l}`)).toBe(0);
    expect(m.get(`snakepit_request_duration_seconds_count${l}`)).toBe(s.completed + s.failed);
    for (const w of s.perWorker) {
      expect(m.get(`snakepit_worker_rss_bytes{pool="served",profile="process",worker="${w.id}"}`)).toBeGreaterThan(0);
    }
  });

  it("GET /recommendations runs the rules over a fresh snapshot", async () => {
    const res = await fetch(`${server.url}/recommendations`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { takenAt: string; recommendations: unknown[] };
    expect(Array.isArray(body.recommendations)).toBe(true);
    expect(typeof body.takenAt).toBe("string");
  });

  it("answers 404 for unknown paths and 405 for other methods", async () => {
    const missing = await fetch(`${server.url}/nope`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { endpoints: string[] }).endpoints).toContain("/metrics");
    const post = await fetch(`${server.url}/snapshot`, { method: "POST", body: "{}" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });

  it("rejects a bad port, and close() stops listening (idempotently)", async () => {
    await expect(serveDiagnostics(pool, { port: 70_000 })).rejects.toThrow(/port must be/);
    const extra = await serveDiagnostics(pool);
    expect((await fetch(`${extra.url}/`)).status).toBe(200);
    await Promise.all([extra.close(), extra.close()]);
    await expect(fetch(`${extra.url}/`)).rejects.toThrow();
  });

  it("refuses a port already in use", async () => {
    await expect(serveDiagnostics(pool, { port: server.port })).rejects.toMatchObject({ code: "EADDRINUSE" });
  });
});
