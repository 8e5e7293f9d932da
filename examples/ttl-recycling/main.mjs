// Workers replaced by age while calls keep succeeding. Each worker lives about
// 1.5-2 s (ttlMs plus its own jitter); lifecycle replaces them one at a time,
// starting each replacement before the old worker stops taking calls.
// Run: node main.mjs (after `pnpm run build`).
import { subscribe } from "node:diagnostics_channel";
import { SNAKEPIT_EVENTS, createPool, silentLogger } from "@snakepit/core";
import { lifecycle, lifecycleStats } from "@snakepit/lifecycle";

const pool = await createPool({
  profile: "process",
  size: 2,
  logger: silentLogger,
  python: { adapter: "snakepit_bridge.adapters.showcase:ShowcaseAdapter" },
  plugins: [lifecycle({ ttlMs: 1_500, ttlJitterMs: 500 })],
});

const t0 = Date.now();
const at = () => `${((Date.now() - t0) / 1000).toFixed(1).padStart(4)} s`;
const onEvent = (name, show) => subscribe(name, (e) => e.pool === pool && console.log(`${at()}  ${show(e)}`));
onEvent(SNAKEPIT_EVENTS.workerRecycled, (e) => `recycled ${e.workerId} (${e.reason}) after ${e.uptimeMs} ms and ${e.requestsServed} calls`);
onEvent(SNAKEPIT_EVENTS.workerReady, (e) => `ready    ${e.workerId} (pid ${e.pid}, started in ${Math.round(e.startMs)} ms)`);
onEvent(SNAKEPIT_EVENTS.workerExited, (e) => `stopped  ${e.workerId}`);

console.log(`${at()}  workers: ${pool.stats().perWorker.map((w) => `${w.id} (pid ${w.pid})`).join(", ")}`);
let ok = 0;
let failed = 0;
let fewest = Infinity;
const pids = new Set();
const until = Date.now() + 5_000;
try {
  // Four callers for five seconds.
  await Promise.all(
    [1, 2, 3, 4].map(async () => {
      while (Date.now() < until) {
        try {
          pids.add((await pool.execute("whoami")).pid);
          ok++;
        } catch (err) {
          failed++;
          console.log(`call failed: ${err.code}: ${err.message}`);
        }
        const s = pool.stats();
        fewest = Math.min(fewest, s.workers + s.starting);
        await new Promise((r) => setTimeout(r, 5));
      }
    }),
  );
  const { recycles } = lifecycleStats(pool);
  console.log(`\ncalls: ${ok} ok, ${failed} failed`);
  console.log(`worker processes that served calls: ${pids.size}`);
  console.log(`recycled for ttl: ${recycles.ttl ?? 0}`);
  console.log(`fewest workers ready or starting at any time: ${fewest} (pool size 2)`);
} finally {
  await pool.close();
}
console.log("pool closed");
