#!/usr/bin/env node
// The process profile against the thread profile at equal concurrency: throughput
// on an I/O-bound tool and on GIL-releasing CPU tools, and the total memory of the
// worker processes as PSS (RSS counts shared pages once per process). Usage:
//   node bench/profiles.mjs                       # after `pnpm run setup`; about 100 s
//   node bench/profiles.mjs --seconds 5 --concurrency 8,16 --blob-mib 1 --json
// Machines are noisy: read ratios within one run.
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { execFileSync } from "node:child_process";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { createPool, silentLogger } from "@snakepit/core";

const { values: flags } = parseArgs({
  options: {
    seconds: { type: "string", default: "1" },
    concurrency: { type: "string", default: "8,16" },
    "blob-mib": { type: "string", default: "1" },
    "payload-mib": { type: "string", default: "4" },
    "sleep-ms": { type: "string", default: "50" },
    rounds: { type: "string", default: "3" },
    json: { type: "boolean", default: false },
  },
});
const SECONDS = Number(flags.seconds);
const ROUNDS = Number(flags.rounds);
const MEMORY_LOAD_SECONDS = 0.5;
const CONCURRENCY = flags.concurrency.split(",").map(Number);
const BLOB_MIB = Number(flags["blob-mib"]);
const PAYLOAD_MIB = Number(flags["payload-mib"]);
const SLEEP_S = Number(flags["sleep-ms"]) / 1000;
const DIGEST_ROUNDS = 8;
const python = process.env.SNAKEPIT_PYTHON ?? fileURLToPath(new URL("../python/.venv/bin/python", import.meta.url));
const adapter = "snakepit_bridge.adapters.threaded_showcase:ThreadedShowcaseAdapter";
const MiB = 1024 * 1024;
const payload = new Uint8Array(PAYLOAD_MIB * MiB).map((_, i) => (i * 7) % 251);

const WORKLOADS = [
  { key: "sleep", label: `sleep(${SLEEP_S * 1000} ms)`, call: (pool) => pool.execute("sleep", { seconds: SLEEP_S }) },
  { key: "hash", label: `hash_bytes(${PAYLOAD_MIB} MiB from Node)`, call: (pool) => pool.execute("hash_bytes", { data: payload }) },
  {
    key: "digest",
    label: `digest_blob(${DIGEST_ROUNDS} x ${BLOB_MIB} MiB in Python)`,
    call: (pool) => pool.execute("digest_blob", { rounds: DIGEST_ROUNDS }),
  },
];

/** `inflight` lanes calling back to back for `seconds`; returns completed calls per second. */
async function throughput(call, inflight, seconds) {
  // A short warm-up at full concurrency, not counted.
  await Promise.all(Array.from({ length: inflight }, () => call()));
  let done = 0;
  const until = performance.now() + seconds * 1000;
  const started = performance.now();
  const lane = async () => {
    while (performance.now() < until) {
      await call();
      done++;
    }
  };
  await Promise.all(Array.from({ length: inflight }, lane));
  return done / ((performance.now() - started) / 1000);
}

async function memory(pool) {
  const health = await pool.health({ timeoutMs: 5_000 });
  const sum = (k) => health.reduce((a, h) => a + h[k], 0);
  return { pss: sum("pssBytes") / MiB, rss: sum("rssBytes") / MiB, uss: sum("ussBytes") / MiB, processes: health.length };
}

function startPool(config) {
  return createPool({
    name: config.label.replace(/[^\w]+/g, "-"),
    profile: config.profile,
    size: config.size,
    ...(config.profile === "thread" ? { threadsPerWorker: config.threads } : {}),
    startupConcurrency: 4,
    logger: silentLogger,
    defaultTimeoutMs: 120_000,
    queueTimeoutMs: 120_000,
    python: { executable: python, adapter, env: { SNAKEPIT_SHOWCASE_BLOB_BYTES: String(BLOB_MIB * MiB) } },
  });
}

/**
 * Memory, with the pool alone on the machine (PSS splits shared pages among every
 * process that maps them, so another live pool would make this one look smaller):
 * idle after start, then after a short run of every workload.
 */
async function measureMemory(config) {
  const t0 = performance.now();
  const pool = await startPool(config);
  const startS = (performance.now() - t0) / 1000;
  try {
    const info = (await pool.describe()).worker;
    const idle = await memory(pool);
    for (const w of WORKLOADS) await throughput(() => w.call(pool), config.inflight, MEMORY_LOAD_SECONDS);
    const loaded = await memory(pool);
    return { startS, idle, loaded, info };
  } finally {
    await pool.close();
  }
}

/**
 * Throughput: every pool of one concurrency level alive at once, cells run in
 * rounds that alternate between pools (drift on a shared machine hits all alike);
 * each figure is the median over the rounds.
 */
async function measureThroughput(configs, workloads) {
  const pools = [];
  try {
    for (const config of configs) pools.push(await startPool(config));
    const samples = configs.map(() => Object.fromEntries(workloads.map((w) => [w.key, []])));
    for (let round = 0; round < ROUNDS; round++) {
      for (const w of workloads) {
        for (let i = 0; i < configs.length; i++) {
          samples[i][w.key].push(await throughput(() => w.call(pools[i]), configs[i].inflight, SECONDS));
        }
      }
    }
    return samples.map((perWorkload) => Object.fromEntries(Object.entries(perWorkload).map(([k, xs]) => [k, median(xs)])));
  } finally {
    await Promise.all(pools.map((p) => p.close()));
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function machine(info) {
  let kernel = "";
  try {
    kernel = execFileSync("uname", ["-sr"], { encoding: "utf8" }).trim();
  } catch {
    /* not a Unix */
  }
  const model = cpus()[0]?.model ?? "unknown CPU";
  return (
    `${availableParallelism()} cores (${model}), ${(totalmem() / 1024 ** 3).toFixed(0)} GiB, ${kernel}; ` +
    `Node ${process.version}; Python ${info.pythonVersion} ${info.implementation}, ` +
    `free-threaded ${info.freeThreaded}, GIL ${info.gilEnabled ? "enabled" : "disabled"}`
  );
}

const loadBefore = loadavg();
const results = [];
for (const c of CONCURRENCY) {
  const configs = [
    { concurrency: c, label: `process, ${c} workers`, profile: "process", size: c, threads: 1, inflight: c },
    { concurrency: c, label: `thread, 1 x ${c}`, profile: "thread", size: 1, threads: c, inflight: c },
    { concurrency: c, label: `thread, 2 x ${c / 2}`, profile: "thread", size: 2, threads: c / 2, inflight: c },
  ];
  const mem = [];
  for (const config of configs) {
    if (!flags.json) process.stderr.write(`memory: ${config.label} ...\n`);
    mem.push(await measureMemory(config));
  }
  if (!flags.json) process.stderr.write(`throughput: concurrency ${c}, ${ROUNDS} rounds ...\n`);
  const rates = await measureThroughput(configs, WORKLOADS);
  configs.forEach((config, i) => results.push({ ...config, ...mem[i], rates: rates[i] }));
}
// Does a GIL-releasing CPU tool get faster with 2 threads than 1 (one process)?
const cpuOnly = WORKLOADS.filter((w) => w.key !== "sleep");
const scalingConfigs = [1, 2].map((threads) => ({
  concurrency: threads,
  label: `thread, 1 x ${threads}`,
  profile: "thread",
  size: 1,
  threads,
  inflight: threads,
}));
if (!flags.json) process.stderr.write("throughput: 1 thread vs 2 ...\n");
const scaling = (await measureThroughput(scalingConfigs, cpuOnly)).map((rates, i) => ({ ...scalingConfigs[i], rates }));
const loadAfter = loadavg();

if (flags.json) {
  console.log(JSON.stringify({ results, scaling }, null, 2));
  process.exit(0);
}

const f0 = (x) => x.toFixed(0);
const f1 = (x) => x.toFixed(1);
const ratio = (a, b) => `${(a / b).toFixed(2)}x`;
const lines = [];
lines.push(
  `Command: \`node bench/profiles.mjs --seconds ${SECONDS} --rounds ${ROUNDS} --concurrency ${CONCURRENCY.join(",")} ` +
    `--blob-mib ${BLOB_MIB} --payload-mib ${PAYLOAD_MIB} --sleep-ms ${SLEEP_S * 1000}\``,
);
lines.push(`Machine: ${machine(results[0].info)}`);
lines.push(
  `Load average (1 min): ${loadBefore[0].toFixed(2)} at the start (other work on the machine), ` +
    `${loadAfter[0].toFixed(2)} at the end (this benchmark's threads included).`,
);
lines.push(
  `Throughput: median of ${ROUNDS} rounds of ${SECONDS} s of back-to-back calls with "concurrency" calls in flight ` +
    "(after a warm-up), the pools of one concurrency level alive together and taking turns. Memory: each pool alone, " +
    `sum over its worker processes from pool.health() (/proc/PID/smaps_rollup), idle after start and after ` +
    `${MEMORY_LOAD_SECONDS} s of each workload. Adapter: ThreadedShowcaseAdapter with a ${BLOB_MIB} MiB blob per process.`,
);
lines.push("");
lines.push(
  `| concurrency | pool | start s | ${WORKLOADS.map((w) => `${w.label} calls/s`).join(" | ")} | PSS idle MiB | PSS after MiB | RSS after MiB |`,
);
lines.push(`|${" --- |".repeat(6 + WORKLOADS.length)}`);
for (const r of results) {
  lines.push(
    `| ${r.concurrency} | ${r.label} | ${f1(r.startS)} | ${WORKLOADS.map((w) => f0(r.rates[w.key])).join(" | ")} | ` +
      `${f0(r.idle.pss)} | ${f0(r.loaded.pss)} | ${f0(r.loaded.rss)} |`,
  );
}
lines.push("");
lines.push("Ratios, thread profile against the process profile at the same concurrency (throughput: thread / process; memory: process / thread, so >1 means the thread profile uses less):");
lines.push("");
lines.push(`| concurrency | thread pool | ${WORKLOADS.map((w) => `${w.key} throughput`).join(" | ")} | PSS idle | PSS after |`);
lines.push(`|${" --- |".repeat(4 + WORKLOADS.length)}`);
for (const c of CONCURRENCY) {
  const proc = results.find((r) => r.concurrency === c && r.profile === "process");
  for (const t of results.filter((r) => r.concurrency === c && r.profile === "thread")) {
    lines.push(
      `| ${c} | ${t.label} | ${WORKLOADS.map((w) => ratio(t.rates[w.key], proc.rates[w.key])).join(" | ")} | ` +
        `${ratio(proc.idle.pss, t.idle.pss)} | ${ratio(proc.loaded.pss, t.loaded.pss)} |`,
    );
  }
}
lines.push("");
lines.push("GIL-releasing CPU tools on one process, 1 thread against 2 (calls in flight = threads):");
lines.push("");
lines.push(`| pool | ${cpuOnly.map((w) => `${w.label} calls/s`).join(" | ")} |`);
lines.push(`|${" --- |".repeat(1 + cpuOnly.length)}`);
for (const s of scaling) lines.push(`| ${s.label} | ${cpuOnly.map((w) => f0(s.rates[w.key])).join(" | ")} |`);
lines.push(`| speed-up 2 threads / 1 | ${cpuOnly.map((w) => ratio(scaling[1].rates[w.key], scaling[0].rates[w.key])).join(" | ")} |`);
console.log(lines.join("\n"));
