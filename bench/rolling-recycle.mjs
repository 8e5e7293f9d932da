// Throughput while every worker of a pool is recycled in turn, against steady
// state, with a start-up as slow as a real model's; the pool's ready workers are
// sampled every 20 ms throughout. Part of `pnpm bench`; alone:
//
//   node bench/rolling-recycle.mjs
import { fileURLToPath } from "node:url";
import { createPool, silentLogger } from "@snakepit/core";

const root = fileURLToPath(new URL("..", import.meta.url));

/**
 * Throughput while every worker is recycled in turn, against steady state, with a
 * start-up as slow as a real model's (setup() sleeps START_DELAY_S seconds); the
 * pool's ready workers are sampled every 20 ms throughout.
 */
export const START_DELAY_S = 3;
export async function rollingRecycle({ python = `${root}python/.venv/bin/python`, log = () => {} } = {}) {
  log("rolling recycle");
  const slow = "snakepit_fixtures.slow_start:SlowStartAdapter";
  const pool = await createPool({
    size: 2,
    logger: silentLogger,
    startTimeoutMs: 60_000,
    python: {
      executable: python,
      adapter: slow,
      env: { PYTHONPATH: `${root}python/tests/fixtures`, SNAKEPIT_FIXTURE_START_DELAY: String(START_DELAY_S) },
    },
  });
  let failed = 0;
  let minReady = Infinity;
  let samples = 0;
  const sampler = setInterval(() => {
    samples++;
    minReady = Math.min(minReady, pool.stats().workers);
  }, 20);
  const run = async (until) => {
    let n = 0;
    const from = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (performance.now() < until()) await pool.execute("ping").then(() => n++, () => failed++);
      }),
    );
    return (n / (performance.now() - from)) * 1000;
  };
  try {
    const steadyEnd = performance.now() + 2000;
    const steady = await run(() => steadyEnd);
    let recyclingDone = false;
    const during = run(() => (recyclingDone ? 0 : Infinity));
    const t0 = performance.now();
    for (const w of pool.stats().perWorker) await pool.recycleWorker(w.id, { reason: "manual" });
    const recycleMs = performance.now() - t0;
    recyclingDone = true;
    return { steady, during: await during, failed, recycles: pool.stats().recycles, minReady, samples, recycleMs, size: 2 };
  } finally {
    clearInterval(sampler);
    await pool.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await rollingRecycle({ log: console.error });
  console.log(
    `rolling recycle (setup() ${START_DELAY_S} s, 2 workers, 8 callers): steady ${r.steady.toFixed(0)} calls/s, ` +
      `${r.during.toFixed(0)} calls/s while both workers were replaced in turn (${(r.recycleMs / 1000).toFixed(1)} s), ` +
      `${r.failed} failed calls, fewest ready workers ${r.minReady} of ${r.size} over ${r.samples} samples`,
  );
}
