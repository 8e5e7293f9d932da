// Arrays through the pool (the local transport with and without its shared-memory path,
// and the Connect transport), against the same numbers as JSON lists through a pipe and
// through FastAPI + uvicorn with fetch (JSON and raw bytes).
//
//   node bench/arrays.mjs              # writes its section of docs/performance.md
//   node bench/arrays.mjs --no-write   # print only
//   node bench/arrays.mjs --rounds 3 --calls 100
//
// Two workloads: a 64 MiB float32 array sent and returned (128 MiB moved per call), and
// a 500 x 64 float32 matrix in with 500 float32 scores out. Each peer is one Python
// process doing the same numpy arithmetic; only how the numbers travel differs.
// Reported per case: MB/s of array data moved (in + out, 10^6 bytes), p50 latency, and
// CPU time per MiB moved in Node and in the Python process (/proc/PID/stat).
import { execFileSync, spawn } from "node:child_process";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { availableParallelism, cpus, totalmem } from "node:os";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createPool, ndarray, ndarrayStats, processProfile, silentLogger } from "@snakepit/core";

const { values: flags } = parseArgs({
  options: {
    rounds: { type: "string", default: "8" },
    "json-rounds": { type: "string", default: "1" },
    calls: { type: "string", default: "300" },
    "no-write": { type: "boolean", default: false },
  },
});
const ROUNDS = Number(flags.rounds);
const JSON_ROUNDS = Number(flags["json-rounds"]);
const CALLS = Number(flags.calls);
const root = fileURLToPath(new URL("..", import.meta.url));
const python = process.env.SNAKEPIT_PYTHON ?? `${root}python/.venv/bin/python`;
const log = (...a) => console.error(...a);
const MiB = 1024 * 1024;
const BIG = 64 * MiB;
const ROWS = 500;
const COLS = 64;

// ---- measuring ---------------------------------------------------------------------------

const CLK_TCK = 100; // Linux's USER_HZ
function processCpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK; // utime + stime
}
const nodeCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** `n` sequential calls after `warm` untimed ones; bytes = array bytes moved per call (in + out). */
async function measure(label, { call, check, pid, bytes, n, warm = 1 }) {
  for (let i = 0; i < warm; i++) check(await call());
  const times = [];
  const node0 = nodeCpuMs();
  const py0 = processCpuMs(pid);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const out = await call();
    times.push(performance.now() - t);
    if (i === 0) check(out);
  }
  const wallMs = performance.now() - t0;
  const movedMiB = (bytes * n) / MiB;
  const row = {
    label,
    n,
    mbps: (bytes * n) / 1e6 / (wallMs / 1000),
    p50Ms: median(times),
    nodeCpuMsPerMiB: (nodeCpuMs() - node0) / movedMiB,
    pyCpuMsPerMiB: (processCpuMs(pid) - py0) / movedMiB,
  };
  log(`  ${label}: ${row.mbps.toFixed(0)} MB/s, p50 ${row.p50Ms.toFixed(2)} ms, CPU/MiB node ${row.nodeCpuMsPerMiB.toFixed(2)} ms, python ${row.pyCpuMsPerMiB.toFixed(2)} ms`);
  return row;
}

function assert(cond, what) {
  if (!cond) throw new Error(`bench/arrays.mjs: wrong result (${what})`);
}

// ---- the data ------------------------------------------------------------------------------

function randomFloats(n) {
  // Normal-ish values: what features and embeddings look like (and what JSON spells longest).
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (Math.random() + Math.random() + Math.random() - 1.5) * 2;
  return out;
}
const big = randomFloats(BIG / 4);
const matrix = randomFloats(ROWS * COLS);
const matrixRows = Array.from({ length: ROWS }, (_, r) => Array.from(matrix.subarray(r * COLS, (r + 1) * COLS)));
const W = Float32Array.from({ length: COLS }, (_, i) => -1 + (2 * i) / (COLS - 1));
const expectedScore0 = matrix.subarray(0, COLS).reduce((s, v, i) => s + v * W[i], 0);
const checkScores = (scores) => {
  assert(scores.length === ROWS, `${scores.length} scores`);
  assert(Math.abs(Number(scores[0]) - expectedScore0) < 1e-3, `score 0 is ${scores[0]}, not ${expectedScore0}`);
};
const checkBig = (x) => {
  assert(x.length === big.length, `length ${x.length}`);
  for (const i of [0, 1, big.length >> 1, big.length - 1]) assert(Math.fround(Number(x[i])) === big[i], `element ${i}`);
};
const bigBytes = 2 * BIG;
const smallBytes = ROWS * COLS * 4 + ROWS * 4;

// ---- the peers -----------------------------------------------------------------------------

const env = { ...process.env, PYTHONPATH: `${root}bench` };
const children = new Set();
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});

/** `sharedMemoryMinBytes: false` keeps every byte on the socket (the default puts large ones in /dev/shm). */
async function snakepitPool(transport, { sharedMemoryMinBytes } = {}) {
  return createPool({
    name: `arrays-${transport}${sharedMemoryMinBytes === false ? "-socket" : ""}`,
    size: 1,
    transport,
    profile: processProfile(sharedMemoryMinBytes === undefined ? {} : { sharedMemoryMinBytes }),
    logger: silentLogger,
    maxPayloadBytes: 80 * MiB,
    python: { executable: python, adapter: "arrays_peers:ArraysBenchAdapter", env: { PYTHONPATH: `${root}bench` } },
  });
}

function startPipe() {
  const child = spawn(python, [`${root}bench/arrays_peers.py`, "pipe"], { stdio: ["pipe", "pipe", "inherit"], env });
  children.add(child);
  const pending = new Map();
  let next = 1;
  createInterface({ input: child.stdout, crlfDelay: Infinity }).on("line", (line) => {
    const msg = JSON.parse(line);
    pending.get(msg.id)?.(msg.result);
    pending.delete(msg.id);
  });
  return {
    pid: child.pid,
    call(tool, args) {
      const id = next++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        child.stdin.write(`${JSON.stringify({ id, tool, args })}\n`);
      });
    },
    close: () => new Promise((resolve) => (child.stdin.end(), child.once("exit", resolve))),
  };
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startHttp() {
  const port = await freePort();
  const child = spawn(python, [`${root}bench/arrays_peers.py`, "http", String(port)], { stdio: ["ignore", "inherit", "inherit"], env });
  children.add(child);
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/health`)).ok) break;
    } catch {
      if (i > 300 || child.exitCode !== null) throw new Error("the FastAPI peer did not start");
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const post = async (path, body, headers) => {
    const res = await fetch(`${base}${path}`, { method: "POST", body, headers });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return res;
  };
  return {
    pid: child.pid,
    json: async (path, value) => (await post(path, JSON.stringify(value), { "content-type": "application/json" })).json(),
    bin: async (path, bytes, headers = {}) => {
      const res = await post(path, bytes, { "content-type": "application/octet-stream", ...headers });
      return new Float32Array(await res.arrayBuffer());
    },
    close: () => new Promise((resolve) => (child.kill("SIGTERM"), child.once("exit", resolve))),
  };
}

// ---- the run -----------------------------------------------------------------------------

const pythonVersion = execFileSync(python, ["-c", "import sys, numpy; print(sys.version.split()[0], numpy.__version__)"], { encoding: "utf8" }).trim().split(" ");
const machine = `${availableParallelism()} cores (${cpus()[0]?.model.trim()}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, CPython ${pythonVersion[0]}, numpy ${pythonVersion[1]}`;
const bigRows = [];
const smallRows = [];

log("arrays: snakepit, local transport, every byte on the socket");
const local = await snakepitPool("local", { sharedMemoryMinBytes: false });
const localPid = local.stats().perWorker[0].pid;
const statsBefore = ndarrayStats();
bigRows.push(
  await measure("snakepit, `NDArray` (local socketpair)", {
    call: async () => (await local.execute("roundtrip", { x: ndarray(big, [big.length]) })).data,
    check: checkBig,
    pid: localPid,
    bytes: bigBytes,
    n: ROUNDS,
  }),
);
const statsAfter = ndarrayStats();
const alignment = { views: statsAfter.views - statsBefore.views, copies: statsAfter.alignmentCopies - statsBefore.alignmentCopies };

log("arrays: snakepit, local transport, large attachments through /dev/shm (the default)");
const shmPool = await snakepitPool("local");
const shmBefore = ndarrayStats();
bigRows.push(
  await measure("snakepit, `NDArray` (local, shared memory: the default over 1 MiB)", {
    call: async () => (await shmPool.execute("roundtrip", { x: ndarray(big, [big.length]) })).data,
    check: checkBig,
    pid: shmPool.stats().perWorker[0].pid,
    bytes: bigBytes,
    n: ROUNDS,
  }),
);
const shmAfter = ndarrayStats();
const shmUse = {
  sent: shmAfter.sharedSegmentsSent - shmBefore.sharedSegmentsSent,
  received: shmAfter.sharedSegmentsReceived - shmBefore.sharedSegmentsReceived,
  copies: shmAfter.alignmentCopies - shmBefore.alignmentCopies,
};
await shmPool.close();
smallRows.push(
  await measure("snakepit, `NDArray` (local socketpair)", {
    call: async () => (await local.execute("score", { x: ndarray(matrix, [ROWS, COLS]) })).data,
    check: checkScores,
    pid: localPid,
    bytes: smallBytes,
    n: CALLS,
    warm: 20,
  }),
);
// The 500 x 64 matrix (128 KB) is under the default threshold: this pool puts it in a segment, to show what that costs a small call.
const smallShmPool = await snakepitPool("local", { sharedMemoryMinBytes: 64 * 1024 });
smallRows.push(
  await measure("snakepit, `NDArray` (local, shared memory from 64 KiB)", {
    call: async () => (await smallShmPool.execute("score", { x: ndarray(matrix, [ROWS, COLS]) })).data,
    check: checkScores,
    pid: smallShmPool.stats().perWorker[0].pid,
    bytes: smallBytes,
    n: CALLS,
    warm: 20,
  }),
);
await smallShmPool.close();
smallRows.push(
  await measure("snakepit, lists of numbers (JSON)", {
    call: () => local.execute("score_list", { rows: matrixRows }),
    check: checkScores,
    pid: localPid,
    bytes: smallBytes,
    n: CALLS,
    warm: 20,
  }),
);
bigRows.push(
  await measure("snakepit, a list of numbers (JSON)", {
    call: () => local.execute("roundtrip_list", { x: Array.from(big) }),
    check: checkBig,
    pid: localPid,
    bytes: bigBytes,
    n: JSON_ROUNDS,
    warm: 0,
  }).catch((err) => ({ label: "snakepit, a list of numbers (JSON)", failed: String(err.code ?? err.message ?? err) })),
);
await local.close();
const shmLeft = readdirSync("/dev/shm").filter((n) => n.startsWith(`snakepit-${process.pid}-`)).length;

log("arrays: snakepit, Connect transport (as to a worker on another host, here over loopback)");
const connect = await snakepitPool("connect");
bigRows.push(
  await measure("snakepit, `NDArray` (Connect over HTTP/1.1, the remote path)", {
    call: async () => (await connect.execute("roundtrip", { x: ndarray(big, [big.length]) })).data,
    check: checkBig,
    pid: connect.stats().perWorker[0].pid,
    bytes: bigBytes,
    n: ROUNDS,
  }),
);
smallRows.push(
  await measure("snakepit, `NDArray` (Connect over HTTP/1.1, the remote path)", {
    call: async () => (await connect.execute("score", { x: ndarray(matrix, [ROWS, COLS]) })).data,
    check: checkScores,
    pid: connect.stats().perWorker[0].pid,
    bytes: smallBytes,
    n: CALLS,
    warm: 20,
  }),
);
await connect.close();

log("arrays: JSON-lines pipe");
const pipe = startPipe();
smallRows.push(
  await measure("JSON-lines pipe, lists", { call: () => pipe.call("score", { rows: matrixRows }), check: checkScores, pid: pipe.pid, bytes: smallBytes, n: CALLS, warm: 20 }),
);
bigRows.push(
  await measure("JSON-lines pipe, a list", { call: () => pipe.call("roundtrip", { x: Array.from(big) }), check: checkBig, pid: pipe.pid, bytes: bigBytes, n: JSON_ROUNDS, warm: 0 }),
);
await pipe.close();

log("arrays: FastAPI + uvicorn, fetch");
const http = await startHttp();
smallRows.push(
  await measure("FastAPI + uvicorn, raw bytes", {
    call: () => http.bin("/score.bin", matrix, { "x-shape": `${ROWS},${COLS}` }),
    check: checkScores,
    pid: http.pid,
    bytes: smallBytes,
    n: CALLS,
    warm: 20,
  }),
);
smallRows.push(
  await measure("FastAPI + uvicorn, JSON lists", { call: () => http.json("/score.json", { rows: matrixRows }), check: checkScores, pid: http.pid, bytes: smallBytes, n: CALLS, warm: 20 }),
);
bigRows.push(await measure("FastAPI + uvicorn, raw bytes", { call: () => http.bin("/roundtrip.bin", big), check: checkBig, pid: http.pid, bytes: bigBytes, n: ROUNDS }));
bigRows.push(
  await measure("FastAPI + uvicorn, a JSON list", { call: () => http.json("/roundtrip.json", { x: Array.from(big) }), check: checkBig, pid: http.pid, bytes: bigBytes, n: JSON_ROUNDS, warm: 0 }),
);
await http.close();

// ---- the report ----------------------------------------------------------------------------

const fmt = (v, d) => (v >= 100 ? v.toFixed(0) : v.toFixed(d));
function table(rows) {
  const lines = ["| path | MB/s | p50 ms | Node CPU ms/MiB | Python CPU ms/MiB | calls |", "|---|---|---|---|---|---|"];
  for (const r of rows) {
    if (r.failed) lines.push(`| ${r.label} | failed: ${r.failed} | | | | |`);
    else lines.push(`| ${r.label} | ${fmt(r.mbps, 1)} | ${fmt(r.p50Ms, 2)} | ${r.nodeCpuMsPerMiB.toFixed(2)} | ${r.pyCpuMsPerMiB.toFixed(2)} | ${r.n} |`);
  }
  return lines.join("\n");
}
const byLabel = (rows, start) => rows.find((r) => r.label.startsWith(start) && !r.failed);
const sp = byLabel(bigRows, "snakepit, `NDArray` (local");
const shm = byLabel(bigRows, "snakepit, `NDArray` (local, shared");
const pipeBig = byLabel(bigRows, "JSON-lines pipe");
const spSmall = byLabel(smallRows, "snakepit, `NDArray` (local");
const pipeSmall = byLabel(smallRows, "JSON-lines pipe");
const ratio = (a, b) => (a && b ? `${(a / b).toFixed(1)}x` : "n/a");

const section = `<!-- bench/arrays.mjs: begin -->
## Arrays: \`NDArray\` against JSON lists and FastAPI, over the socket and shared memory

\`node bench/arrays.mjs\` (part of \`pnpm bench\`), on ${machine}. One Python process per
peer, sequential calls; MB/s counts the array bytes moved per call (in + out) in 10^6 bytes;
CPU is process time (Node: \`process.cpuUsage()\`, Python: \`/proc/PID/stat\`, 10 ms ticks) per
MiB moved. JSON cases ran ${JSON_ROUNDS} call(s), the others ${ROUNDS} (64 MiB) or ${CALLS} (500 x 64).

### 64 MiB of float32, sent and returned (128 MiB moved per call)

${table(bigRows)}

### 500 x 64 float32 in, 500 float32 scores out

${table(smallRows)}

- The pool moved the 64 MiB round trip ${ratio(sp?.mbps, pipeBig?.mbps)} faster than the JSON-lines pipe with a list, and the
  500 x 64 call ran at ${ratio(pipeSmall?.p50Ms, spSmall?.p50Ms)} the pipe's speed at p50.
- ${alignment.views + alignment.copies} arrays came back from Python over the socket in the 64 MiB runs: ${alignment.views} as views over the received bytes, ${alignment.copies} copied for alignment.
- Shared memory (the pool's default for attachments of 1 MiB and more): ${shm && sp ? `${shm.mbps.toFixed(0)} MB/s against the socket's ${sp.mbps.toFixed(0)} MB/s (${ratio(shm.mbps, sp.mbps)})` : "n/a"};
  ${shmUse.sent} segment(s) sent, ${shmUse.received} received, ${shmUse.copies} alignment copies, ${shmLeft} segment(s) left in /dev/shm
  after the pools closed. Which copies remain: see [arrays](arrays.md#shared-memory).
<!-- bench/arrays.mjs: end -->`;

console.log(section);
if (!flags["no-write"]) {
  const path = `${root}docs/performance.md`;
  const previous = readFileSync(path, "utf8");
  const marker = /<!-- bench\/arrays\.mjs: begin -->[\s\S]*?<!-- bench\/arrays\.mjs: end -->/;
  writeFileSync(path, marker.test(previous) ? previous.replace(marker, () => section) : `${previous.trimEnd()}\n\n${section}\n`);
  log("wrote the arrays section of docs/performance.md");
}
