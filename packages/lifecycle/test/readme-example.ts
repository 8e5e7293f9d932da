import { createPool } from "@snakepit/core";
import { lifecycle, lifecycleStats } from "@snakepit/lifecycle";

export async function main() {
  const pool = await createPool({
    profile: "process",
    size: 2,
    python: { adapter: "snakepit_bridge.adapters.showcase:ShowcaseAdapter" },
    plugins: [
      lifecycle({
        maxRequests: 500, // each worker draws its own limit in [500, 550]
        ttlMs: 3_600_000, // replace workers after an hour (plus jitter), one at a time
        maxMemoryBytes: 512 * 2 ** 20, // or once one has grown 512 MiB past its start-up memory
        hardTimeoutMs: 60_000, // kill a worker stuck in one request for a minute
      }),
    ],
  });
  try {
    for (let i = 0; i < 1_200; i++) await pool.execute("add", { a: i, b: 1 });

    const { recycles, workers } = lifecycleStats(pool);
    console.log(`recycled for max_requests: ${recycles["max_requests"] ?? 0}`);
    for (const w of workers) console.log(`${w.id}: ${w.requestsStarted} of ${w.requests?.limit} requests`);
    return { recycles, workers };
  } finally {
    await pool.close();
  }
}
