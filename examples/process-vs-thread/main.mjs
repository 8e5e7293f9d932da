// The same job on both built-in profiles, at the same concurrency: throughput and
// memory. The adapter is ThreadedShowcaseAdapter, declared thread-safe, so both can
// run it. Usage: `node main.mjs [concurrency]` (default 4) after `pnpm run setup`.
//   process: `concurrency` worker processes, one call each.
//   thread:  one worker process running `concurrency` calls on threads.
// For the full comparison (8 and 16 in flight, more tools) see bench/profiles.mjs.
import { createPool, silentLogger } from "@snakepit/core";

const CONCURRENCY = Number(process.argv[2] ?? 4);
const MiB = 1024 * 1024;
const adapter = "snakepit_bridge.adapters.threaded_showcase:ThreadedShowcaseAdapter";

const JOBS = [
  { name: "io (sleep 0.1 s)", calls: 4 * CONCURRENCY, run: (pool) => pool.execute("sleep", { seconds: 0.1 }) },
  { name: "cpu, GIL released (hashlib over 4 MiB)", calls: 16 * CONCURRENCY, run: (pool) => pool.execute("digest_blob", { rounds: 4 }) },
  { name: "cpu, GIL held (pure-Python loop)", calls: 2 * CONCURRENCY, run: (pool) => pool.execute("cpu_burn", { n: 300_000 }) },
];

/** Run `calls` calls with CONCURRENCY in flight; returns calls per second. */
async function throughput(pool, job) {
  let started = 0;
  const t = performance.now();
  const lane = async () => {
    while (started < job.calls) {
      started++;
      await job.run(pool);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  return job.calls / ((performance.now() - t) / 1000);
}

async function measure(profile) {
  const pool = await createPool({
    profile,
    ...(profile === "process" ? { size: CONCURRENCY } : { size: 1, threadsPerWorker: CONCURRENCY }),
    logger: silentLogger,
    python: { adapter, env: { SNAKEPIT_SHOWCASE_BLOB_BYTES: String(1 * MiB) } },
  });
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, () => pool.execute("whoami"))); // warm up
    const rates = [];
    for (const job of JOBS) rates.push(await throughput(pool, job));
    // PSS: each shared page counted once in total, unlike RSS.
    const health = await pool.health();
    const pss = health.reduce((sum, h) => sum + h.pssBytes, 0) / MiB;
    const rss = health.reduce((sum, h) => sum + h.rssBytes, 0) / MiB;
    return { profile, processes: health.length, rates, pss, rss };
  } finally {
    await pool.close();
  }
}

console.log(`${CONCURRENCY} calls in flight on each profile\n`);
const results = [];
for (const profile of ["process", "thread"]) {
  const r = await measure(profile);
  results.push(r);
  console.log(`${profile}: ${r.processes} Python process(es)`);
  JOBS.forEach((job, i) => console.log(`  ${job.name}: ${r.rates[i].toFixed(1)} calls/s`));
  console.log(`  memory: PSS ${r.pss.toFixed(1)} MiB (RSS ${r.rss.toFixed(1)} MiB)`);
}
const [proc, thread] = results;
console.log("\nthread / process:");
JOBS.forEach((job, i) => console.log(`  ${job.name}: ${(thread.rates[i] / proc.rates[i]).toFixed(2)}x the throughput`));
console.log(`  memory: ${(thread.pss / proc.pss).toFixed(2)}x the PSS`);
