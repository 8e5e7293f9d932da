#!/usr/bin/env node
// Pure-Python CPU work on a free-threaded CPython (python/.venv-ft) against the GIL
// build (python/.venv), side by side in one run: calls/s and cores used for
// 1 process x 1 thread, 1 process x 2 threads and 2 processes, with the workers' PSS;
// and what grpcio cost a local worker (import time, memory, start-up), measured on the
// GIL venv, which still has grpcio (grpcio-tools brings it).
//
//   node bench/free-threaded.mjs             # after pnpm run setup and pnpm run setup:free-threaded; about 2 minutes
//   node bench/free-threaded.mjs --seconds 1 --rounds 3 --n 200000
//
// Progress goes to stderr; stdout is one markdown section, which bench/run.mjs puts
// into docs/performance.md. Without python/.venv-ft the section says so and shows the
// GIL build's figures only.
//
// Machines are noisy: cells alternate between pools round by round, figures are
// medians, and ratios within one run are what to read.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createPool, silentLogger } from "@snakepit/core";

const { values: flags } = parseArgs({
  options: {
    seconds: { type: "string", default: "2" },
    rounds: { type: "string", default: "3" },
    n: { type: "string", default: "200000" },
    "startup-runs": { type: "string", default: "5" },
  },
});
const SECONDS = Number(flags.seconds);
const ROUNDS = Number(flags.rounds);
const N = Number(flags.n);
const STARTUP_RUNS = Number(flags["startup-runs"]);
const root = fileURLToPath(new URL("..", import.meta.url));
const fixtures = `${root}python/tests/fixtures`;
const GIL = { key: "gil", label: "GIL build", python: process.env.SNAKEPIT_PYTHON ?? `${root}python/.venv/bin/python` };
const FT = { key: "ft", label: "free-threaded build", python: process.env.SNAKEPIT_FREE_THREADED_VENV_PYTHON ?? `${root}python/.venv-ft/bin/python` };
const TOOLS = "snakepit_fixtures.free_threaded:FreeThreadedTools";
const GRPC_TOOLS = "snakepit_fixtures.free_threaded:GrpcImportingTools";
const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
const MiB = 1024 * 1024;
const log = (...a) => console.error(...a);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const f0 = (x) => x.toFixed(0);
const f1 = (x) => x.toFixed(1);
const f2 = (x) => x.toFixed(2);

const CONFIGS = [
  { key: "1x1", label: "1 process x 1 thread", profile: "process", size: 1, inflight: 1 },
  { key: "1x2", label: "1 process x 2 threads", profile: "thread", size: 1, threads: 2, inflight: 2 },
  { key: "2x1", label: "2 processes", profile: "process", size: 2, inflight: 2 },
];

function startPool(build, config, adapter = TOOLS) {
  return createPool({
    name: `ft-bench-${build.key}-${config.key}`,
    profile: config.profile,
    size: config.size,
    ...(config.threads ? { threadsPerWorker: config.threads } : {}),
    logger: silentLogger,
    defaultTimeoutMs: 120_000,
    queueTimeoutMs: 120_000,
    python: { executable: build.python, adapter, env: { PYTHONPATH: fixtures } },
  });
}

function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

const pidsOf = (pool) => pool.stats().perWorker.map((w) => w.pid).filter((p) => p !== undefined);

/** `inflight` lanes calling spin(N) back to back for `seconds`: calls/s, and the workers' CPU over wall. */
async function throughput(pool, inflight, seconds) {
  await Promise.all(Array.from({ length: inflight }, () => pool.execute("spin", { n: N }))); // warm-up
  const pids = pidsOf(pool);
  const cpu0 = pids.reduce((s, p) => s + cpuSeconds(p), 0);
  const started = performance.now();
  const until = started + seconds * 1000;
  let done = 0;
  const lane = async () => {
    while (performance.now() < until) {
      await pool.execute("spin", { n: N });
      done++;
    }
  };
  await Promise.all(Array.from({ length: inflight }, lane));
  const wall = (performance.now() - started) / 1000;
  const cpu = pids.reduce((s, p) => s + cpuSeconds(p), 0) - cpu0;
  return { rate: done / wall, cores: cpu / wall };
}

async function pss(pool) {
  const health = await pool.health({ timeoutMs: 5_000 });
  return health.reduce((a, h) => a + h.pssBytes, 0) / MiB;
}

/** Every pool alive at once; cells alternate round by round; medians. */
async function measureThroughput(builds) {
  const cells = builds.flatMap((build) => CONFIGS.map((config) => ({ build, config, rates: [], cores: [] })));
  const pools = [];
  try {
    for (const cell of cells) pools.push(await startPool(cell.build, cell.config));
    for (let round = 0; round < ROUNDS; round++) {
      log(`  throughput round ${round + 1}/${ROUNDS}`);
      for (let i = 0; i < cells.length; i++) {
        const r = await throughput(pools[i], cells[i].config.inflight, SECONDS);
        cells[i].rates.push(r.rate);
        cells[i].cores.push(r.cores);
      }
    }
  } finally {
    await Promise.all(pools.map((p) => p.close()));
  }
  return Object.fromEntries(cells.map((c) => [`${c.build.key}/${c.config.key}`, { rate: median(c.rates), cores: median(c.cores) }]));
}

/** PSS with the pool alone (PSS splits shared pages among all processes mapping them): idle, then after load. */
async function measureMemory(build, config) {
  const pool = await startPool(build, config);
  try {
    const idle = await pss(pool);
    await throughput(pool, config.inflight, 0.5);
    return { idle, loaded: await pss(pool) };
  } finally {
    await pool.close();
  }
}

/** Spawn to ready of a 1-worker pool, and that worker's idle PSS: medians of alternating runs. */
async function measureStartup(variants) {
  const samples = variants.map(() => ({ ms: [], pss: [] }));
  for (let run = 0; run < STARTUP_RUNS; run++) {
    for (let i = 0; i < variants.length; i++) {
      const t0 = performance.now();
      const pool = await startPool(variants[i].build, CONFIGS[0], variants[i].adapter);
      samples[i].ms.push(performance.now() - t0);
      samples[i].pss.push(await pss(pool));
      await pool.close();
    }
  }
  return samples.map((s) => ({ ms: median(s.ms), pss: median(s.pss) }));
}

/** `import grpc` in a bare interpreter: cumulative import time (-X importtime) and the RSS/PSS it adds. */
function measureGrpcImport(python) {
  const times = [];
  const rss = [];
  const pssDelta = [];
  const script = [
    "import re",
    "def mem():",
    "    t = open('/proc/self/smaps_rollup').read()",
    "    return [int(re.search(k + r':\\s+(\\d+)', t).group(1)) for k in ('Rss', 'Pss')]",
    "a = mem()",
    "import grpc",
    "b = mem()",
    "print(b[0] - a[0], b[1] - a[1], a[0], grpc.__version__)",
  ].join("\n");
  let version = "";
  let baseRssKiB = 0;
  for (let i = 0; i < 3; i++) {
    const r = spawnSync(python, ["-X", "importtime", "-c", "import grpc"], { encoding: "utf8" });
    if (r.status !== 0) return null;
    const line = r.stderr.split("\n").find((l) => /\|\s*grpc\s*$/.test(l));
    if (line) times.push(Number(line.split("|")[1].trim()) / 1000);
    const [dRss, dPss, base, v] = execFileSync(python, ["-c", script], { encoding: "utf8" }).trim().split(" ");
    rss.push(Number(dRss) / 1024);
    pssDelta.push(Number(dPss) / 1024);
    baseRssKiB = Number(base);
    version = v;
  }
  return { importMs: median(times), rssMiB: median(rss), pssMiB: median(pssDelta), baseRssMiB: baseRssKiB / 1024, version };
}

function pythonVersion(python) {
  return execFileSync(python, ["-c", "import sys; print(sys.version.split()[0])"], { encoding: "utf8" }).trim();
}

// ---- run ---------------------------------------------------------------------------------
const haveFt = existsSync(FT.python);
const builds = haveFt ? [GIL, FT] : [GIL];
const versions = Object.fromEntries(builds.map((b) => [b.key, pythonVersion(b.python)]));
const startLoad = loadavg()[0];

log(`pure-Python CPU throughput (${builds.map((b) => b.label).join(", ")}), about ${Math.round((ROUNDS * builds.length * 3 * (SECONDS + 0.5)) / 10) * 10} s`);
const tp = await measureThroughput(builds);
log("memory, each pool alone");
const mem = {};
for (const build of builds) for (const config of CONFIGS) mem[`${build.key}/${config.key}`] = await measureMemory(build, config);
log("grpcio: import, memory, worker start-up");
const grpcImport = measureGrpcImport(GIL.python);
const startupVariants = [
  { build: GIL, adapter: TOOLS, label: "GIL build, no grpc imported (the worker now)" },
  ...(grpcImport ? [{ build: GIL, adapter: GRPC_TOOLS, label: "GIL build, grpc imported while starting (what every worker paid before)" }] : []),
  ...(haveFt ? [{ build: FT, adapter: TOOLS, label: "free-threaded build, no grpc (none exists for it)" }] : []),
];
const startup = await measureStartup(startupVariants);

// ---- the markdown section ---------------------------------------------------------------
const cmd = `node bench/free-threaded.mjs --seconds ${SECONDS} --rounds ${ROUNDS} --n ${N}`;
const out = [];
out.push("## Free-threaded CPython: pure-Python CPU work", "");
out.push(
  `From \`${cmd}\` (run by \`pnpm bench\`), on ${availableParallelism()} cores (${cpus()[0]?.model.trim()}), ${Math.round(totalmem() / 2 ** 30)} GiB, ` +
    `load average ${f1(startLoad)} at the start. Builds: GIL CPython ${versions.gil} (python/.venv)` +
    (haveFt ? `, free-threaded CPython ${versions.ft} (python/.venv-ft, \`pnpm run setup:free-threaded\`, GIL off).` : "."),
  "",
);
if (!haveFt) {
  out.push("The free-threaded figures were not measured in this run: python/.venv-ft does not exist (`pnpm run setup:free-threaded`).", "");
}
out.push(
  `Each call is \`spin(n=${N})\` (snakepit_fixtures.free_threaded, a pure-Python loop); as many callers as the pool has slots call back to back ` +
    `for ${SECONDS} s per cell, cells alternating over ${ROUNDS} rounds, medians. Cores = the workers' CPU time over wall time (/proc/PID/stat). ` +
    "PSS: sum over the pool's workers (pool.health(), /proc/PID/smaps_rollup), each pool alone, idle after start and after 0.5 s of load.",
  "",
);
const head = ["pool", ...builds.flatMap((b) => [`${b.label} calls/s`, "cores"]), ...(haveFt ? ["free-threaded / GIL"] : []), ...builds.map((b) => `PSS idle / loaded, ${b.label}`)];
out.push(`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`);
for (const config of CONFIGS) {
  const row = [config.label];
  for (const b of builds) row.push(f1(tp[`${b.key}/${config.key}`].rate), f2(tp[`${b.key}/${config.key}`].cores));
  if (haveFt) row.push(`${f2(tp[`ft/${config.key}`].rate / tp[`gil/${config.key}`].rate)}x`);
  for (const b of builds) row.push(`${f0(mem[`${b.key}/${config.key}`].idle)} / ${f0(mem[`${b.key}/${config.key}`].loaded)} MiB`);
  out.push(`| ${row.join(" | ")} |`);
}
out.push("");
if (haveFt) {
  const r = (a, b) => `${f2(tp[a].rate / tp[b].rate)}x`;
  out.push(
    `Threads in one worker: on the free-threaded build 1 x 2 threads ran ${r("ft/1x2", "ft/1x1")} the calls/s of 1 x 1 ` +
      `(GIL build: ${r("gil/1x2", "gil/1x1")}), and ${r("ft/1x2", "ft/2x1")} those of 2 processes on the same build. ` +
      `The free-threaded 1 x 2 threads against the GIL build's 1 x 2 threads: ${r("ft/1x2", "gil/1x2")}; ` +
      `against the GIL build's 2 processes (what the process profile gives today): ${r("ft/1x2", "gil/2x1")}. ` +
      `One thread is slower on the free-threaded build (1 x 1: ${r("ft/1x1", "gil/1x1")} the GIL build's; CPython 3.13's free-threaded ` +
      "build runs without the specialising interpreter, which 3.14 brings back).",
    "",
    `The original's "4x the CPU throughput" for the thread profile: on ${availableParallelism()} cores nothing exceeds ` +
      `${availableParallelism()}x one thread. Here the free-threaded 1 x 2 threads ran ${r("ft/1x2", "ft/1x1")} the calls/s of one free-threaded thread, ` +
      `${r("ft/1x2", "gil/1x1")} those of one GIL-build thread and ${r("ft/1x2", "ft/2x1")} those of 2 free-threaded processes, ` +
      `in ${f0(mem["ft/1x2"].idle)} MiB of PSS against ${f0(mem["ft/2x1"].idle)} MiB for the 2 processes (idle).`,
    "",
  );
}
out.push("## grpcio in the local worker: before and after it left", "");
if (grpcImport) {
  const [now, before, ft] = [startup[0], startup[1], haveFt ? startup[2] : undefined];
  out.push(
    `grpcio ${grpcImport.version} on the GIL build (python/.venv has it through grpcio-tools, a code generator; the worker no longer imports it). ` +
      `Start-up: a 1-worker pool from createPool to ready, median of ${STARTUP_RUNS} alternating runs; PSS of that idle worker.`,
    "",
    "| measure | with grpc imported | without | command |",
    "|---|---|---|---|",
    `| \`import grpc\`, cumulative import time | ${f0(grpcImport.importMs)} ms | 0 | \`python/.venv/bin/python -X importtime -c "import grpc"\` |`,
    `| memory \`import grpc\` adds to a bare interpreter (RSS ${f1(grpcImport.baseRssMiB)} MiB before) | +${f1(grpcImport.rssMiB)} MiB RSS, +${f1(grpcImport.pssMiB)} MiB PSS | 0 | /proc/self/smaps_rollup before and after the import |`,
    `| worker start-up, spawn to ready | ${f0(before.ms)} ms | ${f0(now.ms)} ms | this script (${GRPC_TOOLS.split(":")[1]} against ${TOOLS.split(":")[1]}) |`,
    `| idle worker PSS | ${f1(before.pss)} MiB | ${f1(now.pss)} MiB | pool.health() |`,
    "",
  );
  if (ft) out.push(`The free-threaded worker (no grpc; protobuf in pure Python): ${f0(ft.ms)} ms to ready, ${f1(ft.pss)} MiB PSS idle.`, "");
  out.push(
    "\"With grpc imported\" is the import only (what a local worker paid while the bridge served gRPC); the gRPC server's threads " +
      "and buffers came on top of it.",
    "",
  );
} else {
  out.push("Not measured: python/.venv has no grpcio to import.", "");
}
console.log(out.join("\n"));
