#!/usr/bin/env node
// Per-call overhead and start-up, side by side in one run (machines are noisy:
// compare within a run, read medians and ratios). Usage:
//   pnpm bench                 # from the repository root, after `pnpm run setup`
//   node bench/run.mjs --calls 3000 --rounds 5 --json
import { createHistogram } from "node:perf_hooks";
import { availableParallelism, cpus } from "node:os";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { execFileSync } from "node:child_process";
import { createPool, silentLogger } from "@snakepit/core";
import { startPipeBaseline } from "./pipe-client.mjs";

const { values: flags } = parseArgs({
  options: {
    calls: { type: "string", default: "2000" },
    rounds: { type: "string", default: "5" },
    inflight: { type: "string", default: "32" },
    "startup-runs": { type: "string", default: "5" },
    json: { type: "boolean", default: false },
  },
});
const CALLS = Number(flags.calls);
const ROUNDS = Number(flags.rounds);
const INFLIGHT = Number(flags.inflight);
const STARTUP_RUNS = Number(flags["startup-runs"]);
const python = process.env.SNAKEPIT_PYTHON ?? fileURLToPath(new URL("../python/.venv/bin/python", import.meta.url));
const adapter = "snakepit_bridge.adapters.showcase:ShowcaseAdapter";

/** Sequential calls: each one's latency goes into the histogram (ns). */
async function sequential(call, n, hist) {
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await call();
    hist.record(Number(process.hrtime.bigint() - t));
  }
}

/** `inflight` calls at a time until n are done; returns calls per second. */
async function concurrent(call, n, inflight) {
  let started = 0;
  const t = performance.now();
  const lane = async () => {
    while (started < n) {
      started++;
      await call();
    }
  };
  await Promise.all(Array.from({ length: inflight }, lane));
  return (n / (performance.now() - t)) * 1000;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const us = (ns) => (ns / 1000).toFixed(0);

async function overhead() {
  const local = await createPool({ size: 2, transport: "local", logger: silentLogger, python: { executable: python, adapter } });
  const connect = await createPool({ size: 2, transport: "connect", logger: silentLogger, python: { executable: python, adapter } });
  const pipe = startPipeBaseline(python);
  const subjects = {
    local: () => local.execute("noop"),
    connect: () => connect.execute("noop"),
    pipe: () => pipe.call("noop", {}),
  };
  const hist = Object.fromEntries(Object.keys(subjects).map((k) => [k, createHistogram()]));
  const tput = Object.fromEntries(Object.keys(subjects).map((k) => [k, []]));
  try {
    for (const call of Object.values(subjects)) await sequential(call, 300, createHistogram()); // warm-up
    // Alternate A/B in rounds, so drift on a shared machine hits both alike.
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, call] of Object.entries(subjects)) await sequential(call, CALLS, hist[name]);
      for (const [name, call] of Object.entries(subjects)) tput[name].push(await concurrent(call, CALLS * 2, INFLIGHT));
    }
  } finally {
    await local.close();
    await connect.close();
    await pipe.close();
  }
  const row = (name) => ({
    p50us: Number(us(hist[name].percentile(50))),
    p99us: Number(us(hist[name].percentile(99))),
    callsPerSec: Math.round(median(tput[name])),
  });
  return { local: row("local"), connect: row("connect"), pipe: row("pipe") };
}

async function startup() {
  const time = async (size) => {
    const t = performance.now();
    const pool = await createPool({ size, startupConcurrency: size, logger: silentLogger, python: { executable: python, adapter } });
    const ms = performance.now() - t;
    await pool.close();
    return ms;
  };
  const one = [];
  const four = [];
  for (let i = 0; i < STARTUP_RUNS; i++) {
    one.push(await time(1));
    four.push(await time(4));
  }
  return { oneMs: Math.round(median(one)), fourMs: Math.round(median(four)) };
}

const pythonVersion = execFileSync(python, ["-c", "import sys; print(sys.version.split()[0])"], { encoding: "utf8" }).trim();
const machine = `${availableParallelism()} cores (${cpus()[0]?.model.trim()}), Node ${process.version}, Python ${pythonVersion}`;
const o = await overhead();
const s = await startup();
const result = { machine, calls: CALLS, rounds: ROUNDS, inflight: INFLIGHT, overhead: o, startup: s };
if (flags.json) {
  console.log(JSON.stringify(result, null, 2));
} else {
  console.log(`machine: ${machine}`);
  console.log(`no-op tool, ${ROUNDS} rounds x ${CALLS} sequential calls, then ${INFLIGHT} in flight (median of rounds)\n`);
  console.log("| path | p50 one at a time | p99 one at a time | calls/s, 32 in flight |");
  console.log("|---|---|---|---|");
  console.log(`| pool, 2 process workers, local transport (frames on a socketpair) | ${o.local.p50us} us | ${o.local.p99us} us | ${o.local.callsPerSec} |`);
  console.log(`| pool, 2 process workers, Connect-RPC transport (gRPC over Unix sockets) | ${o.connect.p50us} us | ${o.connect.p99us} us | ${o.connect.callsPerSec} |`);
  console.log(`| JSON lines over a pipe to one plain Python process | ${o.pipe.p50us} us | ${o.pipe.p99us} us | ${o.pipe.callsPerSec} |`);
  console.log(`| ratio local / pipe | ${(o.local.p50us / o.pipe.p50us).toFixed(2)}x | ${(o.local.p99us / o.pipe.p99us).toFixed(2)}x | ${(o.local.callsPerSec / o.pipe.callsPerSec).toFixed(2)}x |`);
  console.log(`\nstart-up to ready (median of ${STARTUP_RUNS}): 1 worker ${s.oneMs} ms, 4 workers ${s.fourMs} ms (${(s.fourMs / s.oneMs).toFixed(2)}x)`);
}
