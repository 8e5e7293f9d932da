// @ts-check
// The main demo: a pool of Python worker processes, called from Node.
// Run it with `pnpm demo` from the repository root (it sets everything up first).
//
// The tools are called through a typed client: tools.gen.ts is generated from the
// Python tools' type hints (`snakepit types`, see docs/typed-calls.md), and this file
// is type-checked against it (`pnpm --filter @snakepit/example-quickstart typecheck`).
import { createPool, isSnakepitError } from "@snakepit/core";

/** @typedef {import("./tools.gen.js").Tools} Tools */

const pool = await createPool({
  profile: "process",
  size: 2,
  python: { adapter: "snakepit_bridge.adapters.showcase:ShowcaseAdapter" },
});

try {
  const { worker, tools: described } = await pool.describe();
  console.log(`Python ${worker.pythonVersion} (${worker.implementation}), ${pool.stats().workers} workers ready`);
  console.log(`tools: ${described.map((t) => t.name).join(", ")}\n`);

  // One method per tool; arguments and results typed from the Python signatures.
  /** @type {import("@snakepit/core").TypedClient<Tools>} */
  const tools = pool.client({ validate: true });

  const sum = await tools.add({ a: 1, b: 2 }); // sum: number
  console.log("add(1, 2) =", sum);

  console.log("\nstreaming progress(steps=5):");
  for await (const chunk of tools.progress({ steps: 5, delay: 0.05 })) console.log("  ", chunk); // chunk: Step

  const data = new TextEncoder().encode("bytes travel as bytes");
  const rt = await tools.bytes_roundtrip({ data }); // rt: RoundTrip
  console.log(`\nbytes_roundtrip: ${rt.length} bytes back as ${rt.data.constructor.name}, sha256 ${rt.sha256.slice(0, 16)}...`);

  const started = Date.now();
  await Promise.all([tools.sleep({ seconds: 0.3 }), tools.sleep({ seconds: 0.3 })]);
  console.log(`two 0.3 s sleeps on two workers took ${Date.now() - started} ms`);

  try {
    await tools.fail({ message: "something went wrong in Python", kind: "ValueError" });
  } catch (err) {
    if (!isSnakepitError(err)) throw err;
    console.log(`\nPython errors arrive typed: code=${err.code} pythonType=${err.pythonType}`);
    console.log(`  ${err.message}`);
  }

  try {
    await tools.sleep({ seconds: 5 }, { timeoutMs: 200 });
  } catch (err) {
    if (!isSnakepitError(err)) throw err;
    console.log(`deadlines reach Python: code=${err.code}`);
  }

  // Arguments from outside the program (JSON from a request) are checked against the
  // tool's schema before the call leaves Node: every problem, with its path.
  const untrusted = JSON.parse('{"a": "1", "c": 3}');
  try {
    await tools.add(untrusted);
  } catch (err) {
    if (!isSnakepitError(err)) throw err;
    console.log(`bad arguments never reach Python: code=${err.code}`);
    for (const issue of err.issues ?? []) console.log(`  ${issue.path}: ${issue.message}`);
  }

  const s = pool.stats();
  console.log(`\nstats: ${s.completed} completed, ${s.failed} failed, ${s.workers} workers, ${s.queued} queued`);
} finally {
  await pool.close();
}
console.log("pool closed; no Python process left behind");
