#!/usr/bin/env node
// A realistic payload: a 500 x 64 float matrix in (number[][]), a 500-long vector out
// (`score_matrix`, bench/bench_model.py: rows @ w + b with numpy), through three paths
// measured side by side in alternating rounds:
//   - the pool, 2 process workers (bench/bench_tools.py:BenchAdapter);
//   - one python-shell-style process reading JSON lines from a pipe (bench/http/pipe_server.py);
//   - FastAPI + uvicorn, 2 workers (bench/http/fastapi_app.py), called with Node's fetch
//     over keep-alive.
// Per path: p50 of sequential calls, calls/s with 8 in flight, and CPU per call on the Node
// side (process.cpuUsage) and the Python side (/proc/PID/stat utime+stime of its processes).
//
//   node bench/matrix.mjs                      # writes its block into docs/performance.md
//   node bench/matrix.mjs --rounds 3 --no-write
// Needs `python/.venv/bin/pip install -e 'python[bench]'` (numpy, scikit-learn, FastAPI, uvicorn).
import { execFileSync } from "node:child_process";
import { parseArgs } from "node:util";
import { cpuUs, load, machine, median, poolPids, python, range, startPipe, startPool, startUvicorn, writeBlock } from "./http/backends.mjs";

const { values: flags } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    calls: { type: "string", default: "100" },
    inflight: { type: "string", default: "8" },
    "no-write": { type: "boolean", default: false },
  },
});
const ROUNDS = Number(flags.rounds);
const CALLS = Number(flags.calls);
const INFLIGHT = Number(flags.inflight);
const log = (...a) => console.error(...a);

try {
  execFileSync(python, ["-c", "import numpy, sklearn, fastapi, uvicorn"], { stdio: "ignore" });
} catch {
  console.error("bench/matrix.mjs needs numpy, scikit-learn, fastapi and uvicorn in the venv: python/.venv/bin/pip install -e 'python[bench]'");
  process.exit(1);
}

const N_ROWS = 500;
const WIDTH = 64;
let seed = 1;
const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
const matrix = Array.from({ length: N_ROWS }, () => Array.from({ length: WIDTH }, rand));
const argBytes = JSON.stringify({ rows: matrix }).length;

const loadStart = load();
log(`matrix: starting back ends (load average ${loadStart})`);
const closers = [];
const stopAll = async () => {
  for (const c of closers.splice(0).reverse()) await c().catch((e) => log("matrix: close failed:", e?.message ?? e));
};
process.once("SIGINT", () => stopAll().then(() => process.exit(130)));
process.once("SIGTERM", () => stopAll().then(() => process.exit(143)));

const results = {};
let loadDuring = [];
try {
  const pool = await startPool(2);
  closers.push(() => pool.close());
  const pipe = await startPipe();
  closers.push(() => pipe.close());
  const uv = await startUvicorn(2);
  closers.push(() => uv.close());
  const fetchScore = async () => {
    const res = await fetch(`${uv.url}/score_matrix`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ rows: matrix }) });
    if (!res.ok) throw new Error(`FastAPI answered ${res.status}`);
    return res.json();
  };
  const subjects = {
    pool: { label: "pool, 2 process workers", call: () => pool.execute("score_matrix", { rows: matrix }), pids: () => poolPids(pool) },
    pipe: { label: "JSON lines over a pipe, 1 process", call: () => pipe.call("score_matrix", { rows: matrix }), pids: () => pipe.pids },
    fastapi: { label: "FastAPI + uvicorn, 2 workers, fetch keep-alive", call: fetchScore, pids: () => uv.pids() },
  };

  // the same answer from every path
  const answers = await Promise.all(Object.values(subjects).map((s) => s.call()));
  for (const a of answers) {
    if (a.length !== N_ROWS || a.some((x, i) => Math.abs(x - answers[0][i]) > 1e-9)) throw new Error("the paths disagree on score_matrix");
  }
  for (const s of Object.values(subjects)) for (let i = 0; i < 20; i++) await s.call();

  for (const k of Object.keys(subjects)) results[k] = { p50: [], perSec: [], seqNode: [], seqPy: [], node: [], py: [] };
  for (let r = 0; r < ROUNDS; r++) {
    loadDuring.push(load().split(" ")[0]);
    log(`matrix: round ${r + 1}/${ROUNDS} (load average ${load()})`);
    const order = Object.keys(subjects);
    if (r % 2) order.reverse();
    for (const k of order) {
      const s = subjects[k];
      const out = results[k];
      // sequential
      let n0 = process.cpuUsage();
      let p0 = cpuUs(s.pids());
      const times = [];
      for (let i = 0; i < CALLS; i++) {
        const t = performance.now();
        await s.call();
        times.push(performance.now() - t);
      }
      let n = process.cpuUsage(n0);
      out.seqNode.push((n.user + n.system) / CALLS);
      out.seqPy.push((cpuUs(s.pids()) - p0) / CALLS);
      out.p50.push(median(times));
      // INFLIGHT at a time
      const total = CALLS * 2;
      let started = 0;
      n0 = process.cpuUsage();
      p0 = cpuUs(s.pids());
      const t = performance.now();
      await Promise.all(
        Array.from({ length: INFLIGHT }, async () => {
          while (started < total) {
            started++;
            await s.call();
          }
        }),
      );
      const ms = performance.now() - t;
      n = process.cpuUsage(n0);
      out.perSec.push((total / ms) * 1000);
      out.node.push((n.user + n.system) / total);
      out.py.push((cpuUs(s.pids()) - p0) / total);
    }
  }
  for (const k of Object.keys(subjects)) results[k].label = subjects[k].label;
} finally {
  await stopAll();
}

const loadEnd = load();
const ms = (us) => (us / 1000).toFixed(2);
const f1 = (x) => x.toFixed(1);
const f0 = (x) => x.toFixed(0);
const command = `node bench/matrix.mjs --rounds ${ROUNDS} --calls ${CALLS} --inflight ${INFLIGHT}`;
const row = (k) => {
  const o = results[k];
  return `| ${o.label} | ${f1(median(o.p50))} (${range(o.p50, f1)}) | ${f0(median(o.perSec))} (${range(o.perSec, f0)}) | ${ms(median(o.node))} / ${ms(median(o.py))} | ${ms(median(o.seqNode))} / ${ms(median(o.seqPy))} |`;
};
const ratio = (a, b) => `${(a / b).toFixed(2)}x`;
const P = results.pool;
const S = results.pipe;
const F = results.fastapi;
const md = `## A 500 x 64 float matrix in, a 500-long vector out

\`\`\`
${command}
\`\`\`

Machine: ${machine()}. Date: ${new Date().toISOString().slice(0, 10)}. Load average (1, 5, 15 min) ${loadStart} at the start,
${loadEnd} at the end; 1-min load at each round's start: ${loadDuring.join(", ")}. The machine is shared and noisy: read the ratios.

Each call sends \`{"rows": number[500][64]}\` (random floats in -1..1, ${(argBytes / 1024).toFixed(0)} KiB as JSON) and gets back 500
floats: \`score_matrix\` in \`bench/bench_model.py\` (\`rows @ w + b\` with numpy), the same function
behind every path. ${ROUNDS} alternating rounds; per round and path ${CALLS} sequential calls (p50) and ${CALLS * 2}
calls with ${INFLIGHT} in flight (calls/s and CPU); medians of the rounds, (ranges). CPU per call: Node =
\`process.cpuUsage()\` of the calling process, Python = utime + stime of the path's Python
processes (\`/proc/PID/stat\`).

| path | p50 per call, ms | calls/s, ${INFLIGHT} in flight | CPU per call, Node / Python, ms (${INFLIGHT} in flight) | CPU per call, Node / Python, ms (sequential) |
|---|---|---|---|---|
${["pool", "pipe", "fastapi"].map(row).join("\n")}

Pool against the pipe: p50 ${ratio(median(P.p50), median(S.p50))}, calls/s ${ratio(median(P.perSec), median(S.perSec))}; against FastAPI: p50 ${ratio(median(P.p50), median(F.p50))},
calls/s ${ratio(median(P.perSec), median(F.perSec))}. The no-op p50 and calls/s with 32 in flight, pool against the pipe, are in
"Per-call overhead" above (\`bench/run.mjs\`).
`;
console.log(md);
if (!flags["no-write"]) {
  writeBlock("matrix.mjs", md);
  log("matrix: wrote its block in docs/performance.md");
}
