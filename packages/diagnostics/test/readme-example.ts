import { createPool } from "@snakepit/core";
import { inspect, recommend, serveDiagnostics } from "@snakepit/diagnostics";

export async function watchPool(): Promise<{ busyOrIdle: string[]; metrics: string }> {
  const pool = await createPool({ size: 2, python: { adapter: "snakepit_bridge.adapters.showcase:ShowcaseAdapter" } });
  // /snapshot and /metrics on 127.0.0.1; from a terminal: snakepit inspect --url <server.url>
  const server = await serveDiagnostics(pool, { port: 0 });
  try {
    await pool.execute("add", { a: 1, b: 2 });
    const snapshot = await inspect(pool);
    const [stats] = snapshot.pools;
    console.log(`${stats?.name}: ${stats?.busy} busy, ${stats?.idle} idle, p50 run time ${stats?.runTime.p50Ms} ms`);
    for (const r of await recommend(snapshot)) console.log(`[${r.severity}] ${r.message}`);
    const metrics = await (await fetch(`${server.url}/metrics`)).text(); // snakepit_* for Prometheus
    return { busyOrIdle: stats?.workers.map((w) => w.state) ?? [], metrics };
  } finally {
    await server.close();
    await pool.close();
  }
}
