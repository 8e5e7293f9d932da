// The main demo: a pool of Python worker processes, called from Node.
// Run it with `pnpm demo` from the repository root (it sets everything up first).
import { createPool, isSnakepitError } from "@snakepit/core";

const pool = await createPool({
  profile: "process",
  size: 2,
  python: { adapter: "snakepit_bridge.adapters.showcase:ShowcaseAdapter" },
});

try {
  const { worker, tools } = await pool.describe();
  console.log(`Python ${worker.pythonVersion} (${worker.implementation}), ${pool.stats().workers} workers ready`);
  console.log(`tools: ${tools.map((t) => t.name).join(", ")}\n`);

  console.log("add(1, 2) =", await pool.execute("add", { a: 1, b: 2 }));

  console.log("\nstreaming progress(steps=5):");
  for await (const chunk of pool.stream("progress", { steps: 5, delay: 0.05 })) console.log("  ", chunk);

  const data = new TextEncoder().encode("bytes travel as bytes");
  const rt = await pool.execute("bytes_roundtrip", { data });
  console.log(`\nbytes_roundtrip: ${rt.length} bytes back as ${rt.data.constructor.name}, sha256 ${rt.sha256.slice(0, 16)}...`);

  const started = Date.now();
  await Promise.all([pool.execute("sleep", { seconds: 0.3 }), pool.execute("sleep", { seconds: 0.3 })]);
  console.log(`two 0.3 s sleeps on two workers took ${Date.now() - started} ms`);

  try {
    await pool.execute("fail", { message: "something went wrong in Python", kind: "ValueError" });
  } catch (err) {
    if (!isSnakepitError(err)) throw err;
    console.log(`\nPython errors arrive typed: code=${err.code} pythonType=${err.pythonType}`);
    console.log(`  ${err.message}`);
  }

  try {
    await pool.execute("sleep", { seconds: 5 }, { timeoutMs: 200 });
  } catch (err) {
    if (!isSnakepitError(err)) throw err;
    console.log(`deadlines reach Python: code=${err.code}`);
  }

  const s = pool.stats();
  console.log(`\nstats: ${s.completed} completed, ${s.failed} failed, ${s.workers} workers, ${s.queued} queued`);
} finally {
  await pool.close();
}
console.log("pool closed; no Python process left behind");
