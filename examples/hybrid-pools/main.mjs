// One Snakepit, two pools, each with the profile that suits its work:
//   cpu: the process profile. Pure-Python CPU work holds the GIL, so only separate
//        processes run it in parallel.
//   io:  the thread profile. Calls that mostly wait (network, disk, here a sleep)
//        share one process and its memory, up to 8 at a time on 8 threads.
// Run it with `node main.mjs` after `pnpm run setup` (it uses the built @snakepit/core).
import { createSnakepit } from "@snakepit/core";

const MiB = 1024 * 1024;

const snakepit = await createSnakepit({
  pools: {
    cpu: { profile: "process", size: 2, python: { adapter: "snakepit_bridge.adapters.showcase:ShowcaseAdapter" } },
    io: {
      profile: "thread",
      size: 1,
      threadsPerWorker: 8,
      // Declared thread-safe (a ThreadSafeAdapter), so the thread profile runs it.
      python: { adapter: "snakepit_bridge.adapters.threaded_showcase:ThreadedShowcaseAdapter" },
    },
  },
});
try {
  const cpu = snakepit.pool("cpu");
  const io = snakepit.pool("io");

  for (const [name, pool] of snakepit.pools()) {
    const s = pool.stats();
    console.log(`${name}: ${pool.profile} profile, ${s.workers} worker process(es), ${s.capacity} calls at once`);
  }

  let t = performance.now();
  await Promise.all(Array.from({ length: 8 }, () => io.execute("sleep", { seconds: 0.25 })));
  console.log(`\nio: 8 x sleep(0.25 s) on 1 process x 8 threads took ${Math.round(performance.now() - t)} ms (one after another: 2000 ms)`);
  const pids = new Set((await Promise.all(Array.from({ length: 8 }, () => io.execute("whoami")))).map((w) => w.pid));
  console.log(`io: those calls share ${pids.size} Python process`);

  t = performance.now();
  await Promise.all([cpu.execute("cpu_burn", { n: 1_000_000 }), cpu.execute("cpu_burn", { n: 1_000_000 })]);
  console.log(`cpu: 2 x cpu_burn(1e6) (pure Python, holds the GIL) on 2 processes took ${Math.round(performance.now() - t)} ms`);

  // Shared state in the thread pool, done right: a counter behind a lock.
  await Promise.all(Array.from({ length: 20 }, () => io.execute("increment", { key: "visits", pause: 0.001 })));
  console.log(`io: 20 concurrent increments of a locked counter -> ${JSON.stringify(await io.execute("counts"))}`);

  // PSS shares each shared page out among the processes using it, so it adds up across pools.
  console.log("");
  for (const [name, pool] of snakepit.pools()) {
    const health = await pool.health();
    const pss = health.reduce((sum, h) => sum + h.pssBytes, 0) / MiB;
    console.log(`memory ${name}: ${health.length} process(es), PSS ${pss.toFixed(1)} MiB`);
  }
  for (const [name, s] of Object.entries(snakepit.stats())) {
    console.log(`stats ${name}: ${s.completed} completed, ${s.failed} failed, ${s.queued} queued`);
  }
} finally {
  await snakepit.close();
}
console.log("\nboth pools closed; no Python process left behind");
