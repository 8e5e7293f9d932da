// A tool that leaks memory, and lifecycle replacing its worker once it has grown
// 64 MiB past its own start-up memory (measured on the Python process: PSS on Linux).
// Run: node main.mjs (after `pnpm run build`).
import { subscribe } from "node:diagnostics_channel";
import { SNAKEPIT_EVENTS, createPool, silentLogger } from "@snakepit/core";
import { lifecycle, lifecycleStats } from "@snakepit/lifecycle";

const MiB = 2 ** 20;
const mib = (bytes) => `${(bytes / MiB).toFixed(0)} MiB`;

const pool = await createPool({
  profile: "process",
  size: 1,
  logger: silentLogger,
  // leaky_model.py sits next to this file.
  python: { adapter: "leaky_model:LeakyModel", env: { PYTHONPATH: import.meta.dirname } },
  plugins: [lifecycle({ maxMemoryBytes: 64 * MiB, memoryMode: "growth" })],
});

subscribe(SNAKEPIT_EVENTS.workerRecycled, (e) => {
  if (e.pool !== pool) return;
  const d = e.detail ?? {};
  console.log(
    `  -> recycled ${e.workerId} (${e.reason}) after ${e.requestsServed} calls: ${d.memoryMetric} ${mib(d.memoryBytes)}, ` +
      `${mib(d.growthBytes)} over its start-up ${mib(d.baselineBytes)} (limit ${mib(d.limitBytes)})`,
  );
});

let ok = 0;
let failed = 0;
let most = 0;
const pids = new Set();
try {
  for (let i = 1; i <= 30; i++) {
    try {
      const { pid, cached_mb } = await pool.execute("predict", { size_mb: 8 });
      ok++;
      pids.add(pid);
      most = Math.max(most, cached_mb);
      console.log(`call ${String(i).padStart(2)}: pid ${pid} holds ${cached_mb} MiB of cache`);
    } catch (err) {
      failed++;
      console.log(`call ${i} failed: ${err.code}: ${err.message}`);
    }
  }
  const { recycles } = lifecycleStats(pool);
  console.log(`\ncalls: ${ok} ok, ${failed} failed`);
  console.log(`recycled for memory: ${recycles.memory ?? 0}; worker processes used: ${pids.size}`);
  console.log(`largest cache any worker reached: ${most} MiB`);
} finally {
  await pool.close();
}
console.log("pool closed");
