#!/usr/bin/env node
// The per-call overhead suite. Everything that is compared is measured side by
// side in one run (the machine is shared and noisy: read medians and ratios), and
// the results are written to docs/performance.md with the machine and the command.
//
//   pnpm bench                                   # from the repository root, after `pnpm run setup`
//   node bench/run.mjs --calls 1000 --rounds 3   # quicker
//   node bench/run.mjs --no-write                # print only
import { execFileSync, spawn } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, totalmem } from "node:os";
import { createHistogram } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { createPool, silentLogger } from "@snakepit/core";
import { startPipeBaseline } from "./pipe-client.mjs";
import { START_DELAY_S, rollingRecycle as measureRollingRecycle } from "./rolling-recycle.mjs";

const { values: flags } = parseArgs({
  options: {
    calls: { type: "string", default: "2000" },
    rounds: { type: "string", default: "5" },
    inflight: { type: "string", default: "32" },
    "startup-runs": { type: "string", default: "3" },
    // Untimed calls on each path first (ms), so what is measured is the steady state.
    "warmup-ms": { type: "string", default: "3000" },
    // Each throughput round: calls with --inflight in flight for this long (ms).
    "throughput-ms": { type: "string", default: "1000" },
    "no-write": { type: "boolean", default: false },
    // Leave the sections bench/arrays.mjs, matrix.mjs and http-service.mjs write as they are.
    "no-peers": { type: "boolean", default: false },
  },
});
const CALLS = Number(flags.calls);
const ROUNDS = Number(flags.rounds);
const INFLIGHT = Number(flags.inflight);
const STARTUP_RUNS = Number(flags["startup-runs"]);
const WARMUP_MS = Number(flags["warmup-ms"]);
const THROUGHPUT_MS = Number(flags["throughput-ms"]);
const root = fileURLToPath(new URL("..", import.meta.url));
const python = process.env.SNAKEPIT_PYTHON ?? `${root}python/.venv/bin/python`;
const adapter = "snakepit_bridge.adapters.showcase:ShowcaseAdapter";
const poolOptions = (extra = {}) => ({ size: 2, logger: silentLogger, python: { executable: python, adapter }, ...extra });
const log = (...a) => console.error(...a);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const us = (ns) => Math.round(ns / 1000);

async function sequential(call, n, hist) {
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await call();
    hist.record(Number(process.hrtime.bigint() - t));
  }
}

/** Calls for `ms`: bursts with `inflight` in flight, then some one at a time; nothing recorded. */
async function warmUp(call, ms, inflight) {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    await concurrent(call, 2000, inflight);
    await sequential(call, 200, createHistogram());
  }
}

/** `inflight` calls at a time for `ms` (then the last ones finish); calls per second, and how many. */
async function concurrentFor(call, ms, inflight) {
  let calls = 0;
  const t = performance.now();
  const until = t + ms;
  const lane = async () => {
    while (performance.now() < until) {
      calls++;
      await call();
    }
  };
  await Promise.all(Array.from({ length: inflight }, lane));
  return { perSec: (calls / (performance.now() - t)) * 1000, calls };
}

/** `inflight` calls at a time until n are done; calls per second. */
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

/** The engine behind a grpcio server, for the grpc-js baseline (grpcio is a dev-venv baseline only). */
async function startGrpcWorker() {
  const sock = `/tmp/snakepit-bench-${process.pid}.sock`;
  const child = spawn(python, [`${root}bench/grpc_baseline_server.py`, adapter, sock], { stdio: ["pipe", "pipe", "inherit"] });
  await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on("line", (l) => l === "ready" && resolve());
    child.once("exit", (c) => reject(new Error(`grpc baseline server exited with ${c}`)));
  });
  const def = protoLoader.loadSync(`${root}proto/snakepit/worker/v1/worker.proto`, { longs: Number, defaults: true });
  const Service = grpc.loadPackageDefinition(def).snakepit.worker.v1.WorkerService;
  const client = new Service(`unix:${sock}`, grpc.credentials.createInsecure());
  let n = 0;
  const empty = Buffer.from("{}");
  return {
    call: () =>
      new Promise((resolve, reject) =>
        client.Execute({ callId: `g${n++}`, tool: "noop", args: { json: empty } }, (err, res) => (err ? reject(err) : resolve(res))),
      ),
    close() {
      client.close();
      child.stdin.end();
      child.kill("SIGTERM");
      rmSync(sock, { force: true });
    },
  };
}

/** The floor: a 40-byte echo over a socketpair to a Python process doing nothing else. */
function startSocketEcho() {
  const child = spawn(python, [`${root}bench/socket_echo.py`], { stdio: ["ignore", "inherit", "inherit", "pipe"] });
  const sock = child.stdio[3];
  let waiting;
  sock.on("data", () => waiting?.());
  const message = Buffer.alloc(40);
  return {
    call: () =>
      new Promise((resolve) => {
        waiting = resolve;
        sock.write(message);
      }),
    close() {
      sock.end();
      child.kill();
    },
  };
}

/** The pool's own cost of a no-op call, hot: a profile whose channel answers at once. */
async function poolCallPath(calls) {
  const response = { $typeName: "snakepit.worker.v1.CallResponse", outcome: { case: "result", value: { $typeName: "snakepit.worker.v1.Payload", json: Buffer.from("null"), attachments: [] } } };
  const channel = {
    execute: async () => response,
    stream() {
      throw new Error("not used");
    },
    cancel: async () => ({ found: false, finished: true }),
    describe: async () => {
      throw new Error("not used");
    },
    health: async () => ({}),
    drain: async () => ({}),
    close() {},
  };
  const profile = {
    name: "instant",
    async startWorker(ctx) {
      let gone;
      const exited = new Promise((resolve) => (gone = () => resolve({ exitCode: 0, signal: null, stderrTail: [], expected: true })));
      return { id: ctx.workerId, pid: undefined, capacity: 1, info: {}, channel, exited, stop: async () => gone(), kill: () => gone() };
    },
  };
  const pool = await createPool({ size: 1, profile, logger: silentLogger, python: { adapter: "bench:Instant" } });
  try {
    for (let i = 0; i < calls / 10; i++) await pool.execute("noop");
    const t = performance.now();
    for (let i = 0; i < calls; i++) await pool.execute("noop");
    return ((performance.now() - t) * 1000) / calls;
  } finally {
    await pool.destroy();
  }
}

async function overhead() {
  log("overhead: starting pools and baselines");
  const local = await createPool(poolOptions({ transport: "local" }));
  const connect = await createPool(poolOptions({ transport: "connect" }));
  const pipe = startPipeBaseline(python);
  const grpcJs = await startGrpcWorker();
  const echo = startSocketEcho();
  const subjects = {
    local: () => local.execute("noop"),
    connect: () => connect.execute("noop"),
    grpcJs: grpcJs.call,
    pipe: () => pipe.call("noop", {}),
    echo: echo.call,
  };
  const hist = Object.fromEntries(Object.keys(subjects).map((k) => [k, createHistogram()]));
  const tput = Object.fromEntries(Object.keys(subjects).map((k) => [k, []]));
  // CPU spent per sequential call on each side of the local transport: where the time goes.
  const localPids = local.stats().perWorker.map((w) => w.pid);
  const cpu = { node: 0, python: 0, calls: 0 };
  // The same with 32 in flight, for the pool and the pipe: what bounds calls/s on shared cores.
  const loaded = { local: { node: 0, python: 0, calls: 0 }, pipe: { node: 0, python: 0, calls: 0 } };
  const pidsOf = { local: localPids, pipe: [pipe.pid] };
  try {
    // Steady state, as in a long-running service: V8 optimises the pool's call path only
    // after some 10^5 calls, so every path is warmed the same way before anything is timed.
    for (const [name, call] of Object.entries(subjects)) await warmUp(call, WARMUP_MS, name === "echo" ? 1 : INFLIGHT);
    for (let r = 0; r < ROUNDS; r++) {
      log(`overhead: round ${r + 1}/${ROUNDS}`);
      for (const [name, call] of Object.entries(subjects)) {
        const node0 = process.cpuUsage();
        const py0 = name === "local" ? processCpuUs(localPids) : 0;
        await sequential(call, CALLS, hist[name]);
        if (name === "local") {
          const node = process.cpuUsage(node0);
          cpu.node += node.user + node.system;
          cpu.python += processCpuUs(localPids) - py0;
          cpu.calls += CALLS;
        }
      }
      for (const [name, call] of Object.entries(subjects)) {
        if (name === "echo") continue;
        const acc = loaded[name];
        const node0 = process.cpuUsage();
        const py0 = acc ? processCpuUs(pidsOf[name]) : 0;
        const { perSec, calls } = await concurrentFor(call, THROUGHPUT_MS, INFLIGHT);
        tput[name].push(perSec);
        if (acc) {
          const node = process.cpuUsage(node0);
          acc.node += node.user + node.system;
          acc.python += processCpuUs(pidsOf[name]) - py0;
          acc.calls += calls;
        }
      }
    }
  } finally {
    await local.close();
    await connect.close();
    await pipe.close();
    grpcJs.close();
    echo.close();
  }
  const rows = Object.fromEntries(
    Object.keys(subjects).map((k) => [k, { p50: us(hist[k].percentile(50)), p99: us(hist[k].percentile(99)), perSec: tput[k].length ? Math.round(median(tput[k])) : 0 }]),
  );
  const perCall = (a) => ({ nodeUs: Math.round(a.node / a.calls), pythonUs: Math.round(a.python / a.calls) });
  return { ...rows, cpu: perCall(cpu), loadedCpu: { local: perCall(loaded.local), pipe: perCall(loaded.pipe) } };
}

/** User + system CPU of these processes so far, in microseconds (Linux /proc, 100 Hz ticks). */
function processCpuUs(pids) {
  let ticks = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks * 10_000;
}

/** MB/s moving `size` bytes as bytes or as JSON text, to Python, from Python, and both ways. */
async function payloads() {
  const pool = await createPool(poolOptions({ size: 1, maxPayloadBytes: 64 * 1024 * 1024 }));
  const pipe = startPipeBaseline(python);
  const sizes = [["1 KiB", 1024], ["1 MiB", 1024 * 1024], ["16 MiB", 16 * 1024 * 1024]];
  const rows = [];
  try {
    for (const [label, size] of sizes) {
      log(`payloads: ${label}`);
      const bytes = new Uint8Array(size);
      const text = "x".repeat(size);
      const b64 = { b64: Buffer.from(bytes).toString("base64") };
      const reps = Math.max(3, Math.min(200, Math.floor((64 * 1024 * 1024) / size)));
      const cases = [
        ["bytes to Python", () => pool.execute("consume", { data: bytes }), () => pipe.call("consume", { data: b64 })],
        ["bytes from Python", () => pool.execute("produce", { size }), () => pipe.call("produce", { size })],
        ["bytes round trip", () => pool.execute("echo", { value: bytes }), () => pipe.call("echo_bytes", { data: b64 })],
        ["JSON text to Python", () => pool.execute("consume", { data: text }), () => pipe.call("consume", { data: text })],
        ["JSON text from Python", () => pool.execute("produce", { size, kind: "text" }), () => pipe.call("produce", { size, kind: "text" })],
      ];
      for (const [what, ours, theirs] of cases) {
        const rate = async (fn) => {
          const times = [];
          for (let r = 0; r < 3; r++) {
            const t = performance.now();
            for (let i = 0; i < reps; i++) await fn();
            times.push((performance.now() - t) / reps);
          }
          const ms = median(times);
          const moved = what.includes("round trip") ? 2 * size : size;
          return { ms, mbps: moved / 1e6 / (ms / 1000) };
        };
        const a = await rate(ours);
        const b = await rate(theirs);
        rows.push({ label, what, pool: a, pipe: b });
      }
    }
  } finally {
    await pool.close();
    await pipe.close();
  }
  return rows;
}

/** A pure-Python CPU tool on 1 and 2 process workers, 2 calls in flight. */
async function cpuScaling() {
  log("cpu scaling");
  const out = {};
  for (const size of [1, 2]) {
    const pool = await createPool(poolOptions({ size }));
    try {
      await pool.execute("cpu_burn", { n: 100_000 });
      const rates = [];
      for (let r = 0; r < 3; r++) rates.push(await concurrent(() => pool.execute("cpu_burn", { n: 300_000 }), 40, 2));
      out[size] = median(rates);
    } finally {
      await pool.close();
    }
  }
  return out;
}

async function startup() {
  log("start-up");
  const out = {};
  for (const size of [1, 4, 8]) {
    const times = [];
    for (let i = 0; i < STARTUP_RUNS; i++) {
      const t = performance.now();
      const pool = await createPool(poolOptions({ size, startupConcurrency: size }));
      times.push(performance.now() - t);
      await pool.close();
    }
    out[size] = Math.round(median(times));
  }
  return out;
}


const pythonVersion = execFileSync(python, ["-c", "import sys; print(sys.version.split()[0])"], { encoding: "utf8" }).trim();
const machine = `${availableParallelism()} cores (${cpus()[0]?.model.trim()}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, CPython ${pythonVersion}`;
const o = await overhead();
log("call paths, hot");
const hot = {
  poolUs: await poolCallPath(50_000),
  pythonUs: Number(execFileSync(python, [`${root}bench/python_call_path.py`, "20000"], { encoding: "utf8" }).trim()),
};
const p = await payloads();
const c = await cpuScaling();
const s = await startup();
const rr = await measureRollingRecycle({ python, log });
log("process against thread profile (bench/profiles.mjs --json, about 100 s)");
const profilesRun = JSON.parse(
  execFileSync(process.execPath, [`${root}bench/profiles.mjs`, "--json"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 24 }),
);

log("free-threaded CPython against the GIL build (bench/free-threaded.mjs, about 2 minutes)");
const freeThreaded = execFileSync(process.execPath, [`${root}bench/free-threaded.mjs`], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
// bench/arrays.mjs writes its own section of docs/performance.md (kept below, as the others are).
if (!flags["no-peers"]) execFileSync(process.execPath, [`${root}bench/arrays.mjs`, ...(flags["no-write"] ? ["--no-write"] : [])], { stdio: ["ignore", "inherit", "inherit"] });

// Each writes its own marked block in docs/performance.md (kept below): the 500 x 64 matrix, and the HTTP service (needs wrk).
for (const b of flags["no-peers"] ? [] : ["matrix.mjs", "http-service.mjs"]) {
  log(`bench/${b}`);
  try {
    execFileSync(process.execPath, [`${root}bench/${b}`, ...(flags["no-write"] ? ["--no-write"] : [])], { stdio: ["ignore", "ignore", "inherit"] });
  } catch {
    log(`bench/${b} failed (above); its block in docs/performance.md is left as it was`);
  }
}

const ratio = (a, b) => `${(a / b).toFixed(2)}x`;
const bigRt = p.find((r) => r.label === "16 MiB" && r.what === "bytes round trip");

/** Process pool vs 1 x N thread pool at each concurrency, from bench/profiles.mjs --json. */
function pairs(run) {
  return [...new Set(run.results.map((r) => r.concurrency))].map((c) => ({
    c,
    proc: run.results.find((r) => r.concurrency === c && r.profile === "process"),
    thread: run.results.find((r) => r.concurrency === c && r.profile === "thread" && r.size === 1),
  }));
}

function profilesTable(run) {
  const rows = pairs(run).map(
    ({ c, proc, thread }) =>
      `| ${c} | ${proc.rates.sleep.toFixed(0)} / ${thread.rates.sleep.toFixed(0)} | ${proc.rates.hash.toFixed(0)} / ${thread.rates.hash.toFixed(0)} | ` +
      `${(proc.idle.pss / 1).toFixed(0)} / ${(thread.idle.pss / 1).toFixed(0)} MiB | ${proc.loaded.pss.toFixed(0)} / ${thread.loaded.pss.toFixed(0)} MiB | ` +
      `${proc.startS.toFixed(1)} / ${thread.startS.toFixed(1)} s |`,
  );
  return [
    "Process profile with N workers / thread profile with 1 worker x N threads, N calls in flight:",
    "",
    "| N | sleep calls/s | hash_bytes calls/s (GIL-releasing) | PSS idle | PSS after load | start-up |",
    "|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

function claims(run) {
  const p = pairs(run);
  const mem = p.map(({ c, proc, thread }) => `${ratio(proc.idle.pss, thread.idle.pss)} idle and ${ratio(proc.loaded.pss, thread.loaded.pss)} after load at ${c}`).join("; ");
  const cpu = p.map(({ c, proc, thread }) => `${ratio(thread.rates.hash, proc.rates.hash)} at ${c}`).join(", ");
  const start = p.map(({ c, proc, thread }) => `${ratio(proc.startS, thread.startS)} at ${c}`).join(", ");
  return `## The original project's claims, checked here

| claim (Snakepit v0.6.0) | measured in this run (thread profile, 1 process x N threads, against N process workers) | reading |
|---|---|---|
| 9.4x less memory | ${mem} (PSS, which does not count shared pages twice) | holds only near its best case (many threads, idle); the saving shrinks under load, as each thread's working memory adds up |
| 4x the CPU throughput | GIL-releasing hash_bytes: ${cpu} | does not hold at equal concurrency on ${availableParallelism()} cores: the process profile already keeps every core busy; a 4x gain needs more idle cores than processes, or free-threaded CPython for pure-Python work |
| 2.5x faster start-up | ${start} | holds: fewer interpreters to start |`;
}

const command = `node bench/run.mjs --calls ${CALLS} --rounds ${ROUNDS}`;
const md = `# Performance

Every figure on this page comes from one run of \`${command}\` (also \`pnpm bench\`),
which wrote this file. Comparisons were measured side by side in that run: the machine
is shared and noisy, so read the ratios; absolute numbers move from run to run.

Machine: ${machine}. Date: ${new Date().toISOString().slice(0, 10)}.

## Per-call overhead: a no-op tool

${ROUNDS} rounds of ${CALLS} sequential calls (latency) and ${THROUGHPUT_MS / 1000} s of calls with ${INFLIGHT}
in flight (throughput, median of rounds), taking turns, after ${WARMUP_MS / 1000} s of untimed calls on each
path (the steady state of a long-running service: V8 optimises the pool's call path only
after some 10^5 calls). Pools have 2 process workers.

| path | p50, one at a time | p99, one at a time | calls/s, ${INFLIGHT} in flight |
|---|---|---|---|
| pool, local transport (frames on a socketpair; the default) | ${o.local.p50} us | ${o.local.p99} us | ${o.local.perSec} |
| pool, Connect transport (Connect over HTTP/1.1 on a Unix socket) | ${o.connect.p50} us | ${o.connect.p99} us | ${o.connect.perSec} |
| baseline: @grpc/grpc-js unary call to the engine behind a grpcio server | ${o.grpcJs.p50} us | ${o.grpcJs.p99} us | ${o.grpcJs.perSec} |
| baseline: JSON lines over a pipe to one plain Python process | ${o.pipe.p50} us | ${o.pipe.p99} us | ${o.pipe.perSec} |
| floor: 40-byte echo over a socketpair, no protocol, no work | ${o.echo.p50} us | ${o.echo.p99} us | (one at a time only) |

Ratios: local / pipe p50 ${ratio(o.local.p50, o.pipe.p50)}, calls/s ${ratio(o.local.perSec, o.pipe.perSec)};
local / Connect p50 ${ratio(o.local.p50, o.connect.p50)}, calls/s ${ratio(o.local.perSec, o.connect.perSec)};
local / grpc-js p50 ${ratio(o.local.p50, o.grpcJs.p50)}.

The pipe baseline has none of the pool's work: no deadline, no cancellation, no call
tracking, no crash detection, one process; its ${INFLIGHT} calls in flight are pipelined into one
process that answers them back to back.

## Payloads (1 worker; MB/s, median of 3)

Bytes travel raw in the pool; the pipe baseline must base64 them inside JSON.

| size | direction | pool MB/s | pipe MB/s | pool / pipe |
|---|---|---|---|---|
${p.map((r) => `| ${r.label} | ${r.what} | ${r.pool.mbps.toFixed(1)} | ${r.pipe.mbps.toFixed(1)} | ${ratio(r.pool.mbps, r.pipe.mbps)} |`).join("\n")}

## CPU scaling (pure-Python \`cpu_burn\`, 2 calls in flight)

1 worker: ${c[1].toFixed(1)} calls/s; 2 workers: ${c[2].toFixed(1)} calls/s (${ratio(c[2], c[1])} on ${availableParallelism()} cores).

## Start-up (spawn to every worker ready, median of ${STARTUP_RUNS})

| workers | ms |
|---|---|
| 1 | ${s[1]} |
| 4 | ${s[4]} |
| 8 | ${s[8]} |

## Throughput during a rolling recycle

8 callers of a no-op tool on 2 workers whose \`setup()\` takes ${START_DELAY_S} s (as a real model's load does):
${rr.steady.toFixed(0)} calls/s steady, ${rr.during.toFixed(0)} calls/s while both workers were replaced one after the
other (${rr.recycles} recycles in ${(rr.recycleMs / 1000).toFixed(1)} s), ${rr.failed} failed calls. Ready workers, sampled
every 20 ms throughout (${rr.samples} samples): never fewer than ${rr.minReady} (size ${rr.size}).

${claims(profilesRun)}

## Where the time of a no-op call goes, and the targets

Targets: no-op p50 at or below the pipe's, calls/s with 32 in flight at or above the
pipe's, and 16 MiB of bytes at no less than half the pipe's bandwidth.

- **16 MiB of bytes: ${bigRt.pool.mbps >= bigRt.pipe.mbps / 2 ? "met" : "not met"}**: a round trip of 16 MiB moved ${bigRt.pool.mbps.toFixed(0)} MB/s through the pool
  against ${bigRt.pipe.mbps.toFixed(0)} MB/s through the pipe (${ratio(bigRt.pool.mbps, bigRt.pipe.mbps)}), which must base64 its bytes inside JSON.
- **p50: ${o.local.p50 <= o.pipe.p50 ? "met" : "not met"}** (${ratio(o.local.p50, o.pipe.p50)} the pipe's, ${ratio(o.local.p50, o.connect.p50)} the Connect transport's).
  The floor, a bare echo over a socketpair, took ${o.echo.p50} us at p50 in this run.
  In this run each sequential call through the local transport cost ${o.cpu.nodeUs} us of CPU in
  Node and ${o.cpu.pythonUs} us in the worker (process accounting, \`/proc/PID/stat\`), while the same
  work in a hot loop costs ${hot.poolUs.toFixed(1)} us in the pool (with a channel that answers at once) and
  ${hot.pythonUs.toFixed(1)} us in the worker's call path (\`bench/python_call_path.py\`). The rest is the
  crossing (profiled with \`node --cpu-prof\` and \`py-spy record\`): on each side a read and a
  write, the wake-up of the other process, and caches gone cold after every switch on
  ${availableParallelism()} vCPUs. The pipe pays the same crossing; what it does not have is the pool's own
  work: in Python the call context and call tracking (deadline, cancellation, withdraw),
  the tool's dispatch record and result encoding; in Node admission, the call's signal
  and deadline entry, and the frame encoding and decoding. A caller making one call at a
  time stays on the worker it used last (selection prefers the warm one), so 2 workers
  cost what 1 does.
- **calls/s with ${INFLIGHT} in flight: ${o.local.perSec >= o.pipe.perSec ? "met" : "not met"}** (${ratio(o.local.perSec, o.pipe.perSec)} the pipe's, ${ratio(o.local.perSec, o.connect.perSec)} the Connect
  transport's). Under load, calls to tools known to be fast (recent calls under 1 ms) are
  pipelined to workers up to 32 beyond their capacity (ADR 6: withdrawn when they would
  wait behind a long call while another worker is free), and a worker writes the replies
  of a burst together, within 100 us so that the pool reads the first while it runs the
  rest (ADR 10: its progress page says after a crash which calls it never began, and those
  run elsewhere). With ${INFLIGHT} in flight a call cost ${o.loadedCpu.local.nodeUs} us of CPU in Node and ${o.loadedCpu.local.pythonUs} us in the
  workers, against ${o.loadedCpu.pipe.nodeUs} and ${o.loadedCpu.pipe.pythonUs} us for the pipe: on ${availableParallelism()} cores shared by Node and the
  workers, that sum is what bounds calls/s. The pipe's one process answers its ${INFLIGHT} calls back to
  back with one JSON line each way and none of the pool's work.

## Process against thread profile

${profilesTable(profilesRun)}

\`node bench/profiles.mjs\` prints the same comparison with more detail (RSS, 2 x N threads,
1 against 2 threads); [choosing a profile](choosing-a-profile.md) explains what it means for
your workload.

${freeThreaded}`;
console.log(md);
if (!flags["no-write"]) {
  // Sections other benchmarks write (bench/remote.mjs needs network namespaces) are kept as they are.
  const previous = readFileSync(`${root}docs/performance.md`, "utf8");
  const kept = [...previous.matchAll(/<!-- (bench\/[\w.-]+): begin -->[\s\S]*?<!-- \1: end -->/g)].map((m) => m[0]);
  writeFileSync(`${root}docs/performance.md`, [md, ...kept].join("\n\n") + "\n");
  log("wrote docs/performance.md");
}
