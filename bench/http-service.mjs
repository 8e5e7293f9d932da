#!/usr/bin/env node
// An HTTP service over a small scikit-learn model (LogisticRegression on sklearn's digits,
// bench/bench_model.py), as a Node team would build it, loaded with wrk:
//   (a) a Node `http` front (bench/http/front.mjs) over the pool, 2 process workers;
//   (b) the same front over one python-shell-style JSON-lines process;
//   (c) the same front over FastAPI + uvicorn with 2 workers, undici keep-alive;
//   (d) FastAPI + uvicorn alone, wrk straight at it.
// 1 row and 500 rows per request, cells alternating over rounds; requests/s, p99, and CPU
// per request of the Node front and of the Python processes (/proc/PID/stat). Then, unless
// --no-profile, `node --cpu-prof` of the pool front under the same load: its top self-time
// functions.
//
//   node bench/http-service.mjs                   # writes its block into docs/performance.md
//   node bench/http-service.mjs --rounds 1 --seconds 3 --no-write
// Needs wrk (Debian/Ubuntu: apt-get install -y wrk) and python[bench]; without wrk it says
// so and skips.
import { spawn } from "node:child_process";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { benchDir, cpuUs, descendants, digitRows, hasWrk, killLeftovers, load, machine, median, python, range, startUvicorn, stopGroup, track, writeBlock } from "./http/backends.mjs";

const { values: flags } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "10" },
    connections: { type: "string", default: "32" },
    threads: { type: "string", default: "2" },
    "no-profile": { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
  },
});
const ROUNDS = Number(flags.rounds);
const SECONDS = Number(flags.seconds);
const CONNS = Number(flags.connections);
const THREADS = Number(flags.threads);
const log = (...a) => console.error(...a);

if (!hasWrk()) {
  log("bench/http-service.mjs: wrk is not installed, so the HTTP-service benchmark is skipped (docs/performance.md keeps its previous figures).");
  log("  Install it with: apt-get install -y wrk   (Debian/Ubuntu; other systems: https://github.com/wg/wrk)");
  process.exit(0);
}
try {
  execFileSync(python, ["-c", "import numpy, sklearn, fastapi, uvicorn"], { stdio: "ignore" });
} catch {
  log("bench/http-service.mjs needs numpy, scikit-learn, fastapi and uvicorn in the venv: python/.venv/bin/pip install -e 'python[bench]'");
  process.exit(1);
}

const tmp = mkdtempSync(join(tmpdir(), "snakepit-bench-http-"));
const SIZES = [1, 500];
const rows = await digitRows(500);
const bodies = Object.fromEntries(
  SIZES.map((n) => {
    const file = join(tmp, `rows-${n}.json`);
    writeFileSync(file, JSON.stringify({ rows: rows.slice(0, n) }));
    return [n, file];
  }),
);

/** A front (bench/http/front.mjs) in its own process group; resolves once it listens. */
async function startFront(backend, extra = []) {
  const child = track(
    spawn(process.execPath, [`${benchDir}/http/front.mjs`, "--backend", backend, "--exit-with-stdin", ...extra], {
      stdio: ["pipe", "pipe", "inherit"],
      detached: true,
    }),
  );
  const lines = createInterface({ input: child.stdout });
  const ready = await new Promise((resolve, reject) => {
    lines.once("line", (l) => resolve(JSON.parse(l)));
    child.once("exit", (code) => reject(new Error(`front --backend ${backend} exited with ${code} before it was ready`)));
  });
  const kids = descendants(child.pid);
  return {
    url: `http://127.0.0.1:${ready.port}`,
    pid: child.pid,
    pythonPids: ready.pythonPids,
    nextLine: () => new Promise((resolve) => lines.once("line", resolve)),
    async close() {
      await stopGroup(child, 15_000);
      killLeftovers(kids);
    },
  };
}

const pySpy = `${python.replace(/\/python3?$/, "")}/py-spy`;
const hasPySpy = (() => {
  try {
    execFileSync(pySpy, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/** py-spy record of one process for `seconds` (raw collapsed stacks), or null if it failed. */
function spy(pid, seconds, out) {
  return new Promise((resolve) => {
    const child = track(
      spawn(pySpy, ["record", "--pid", String(pid), "--duration", String(seconds), "--rate", "200", "--format", "raw", "--function", "--gil", "--nonblocking", "--output", out], {
        stdio: ["ignore", "ignore", "pipe"],
        detached: true,
      }),
    );
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    child.once("exit", (code) => {
      if (code !== 0) log(`http-service: py-spy on ${pid} failed: ${err.split("\n")[0]}`);
      resolve(code === 0 ? out : null);
    });
  });
}

/** Top self-time frames of py-spy raw files, merged, as table rows; and a few inclusive shares. */
function topPySelf(files, n = 12) {
  const self = new Map();
  const incl = new Map();
  let total = 0;
  for (const f of files) {
    for (const line of readFileSync(f, "utf8").split("\n")) {
      const i = line.lastIndexOf(" ");
      if (i < 0) continue;
      const count = Number(line.slice(i + 1));
      const frames = line.slice(0, i).split(";");
      total += count;
      const leaf = frames[frames.length - 1];
      self.set(leaf, (self.get(leaf) ?? 0) + count);
      for (const fr of new Set(frames)) incl.set(fr, (incl.get(fr) ?? 0) + count);
    }
  }
  const fmt = ([k, v]) => {
    const m = k.match(/^(.*) \((.*)\)$/);
    const where = m ? m[2].replace(/^.*\/site-packages\//, "").replace(/^.*\/(python3\.\d+|src|bench)\//, "") : "";
    return `| \`${m ? m[1] : k}\` | ${where} | ${((100 * v) / total).toFixed(1)}% |`;
  };
  const inclusive = [...incl.entries()].filter(([k]) => /\((.*snakepit_bridge\/|.*bench_model|.*sklearn\/|.*json\/)/.test(k));
  return {
    self: [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(fmt),
    inclusive: inclusive.sort((a, b) => b[1] - a[1]).slice(0, n).map(fmt),
    samples: total,
  };
}

const toMs = (v, unit) => Number(v) * { us: 0.001, ms: 1, s: 1000 }[unit];
function parseWrk(out) {
  const m = (re) => out.match(re);
  const p99 = m(/^\s*99%\s+([\d.]+)(us|ms|s)\s*$/m);
  const non2xx = m(/Non-2xx or 3xx responses: (\d+)/);
  const sock = m(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  return {
    perSec: Number(m(/Requests\/sec:\s+([\d.]+)/)?.[1] ?? 0),
    requests: Number(m(/(\d+) requests in/)?.[1] ?? 0),
    p99: p99 ? toMs(p99[1], p99[2]) : NaN,
    errors: Number(non2xx?.[1] ?? 0) + (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0),
  };
}

function wrk(url, size, seconds) {
  return new Promise((resolve, reject) => {
    const child = track(
      spawn("wrk", [`-t${THREADS}`, `-c${CONNS}`, `-d${seconds}s`, "--timeout", "30s", "--latency", "-s", `${benchDir}/http/post.lua`, url], {
        stdio: ["ignore", "pipe", "inherit"],
        env: { ...process.env, BENCH_BODY: bodies[size] },
        detached: true,
      }),
    );
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.once("exit", (code) => (code === 0 ? resolve(parseWrk(out)) : reject(new Error(`wrk exited with ${code}: ${out}`))));
  });
}

/** Top self-time functions of a .cpuprofile, as table rows. */
function topSelf(file, n = 15) {
  const prof = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(prof.nodes.map((x) => [x.id, x]));
  const self = new Map();
  let total = 0;
  let idle = 0;
  prof.samples.forEach((id, i) => {
    const dt = prof.timeDeltas[i] ?? 0;
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    if (functionName === "(idle)") {
      idle += dt;
      return;
    }
    total += dt;
    const key = `${functionName || "(anonymous)"} | ${url ? `${basename(url)}:${lineNumber + 1}` : ""}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  const rowsOut = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => {
      const [fn, where] = k.split(" | ");
      return `| \`${fn}\` | ${where} | ${((100 * v) / total).toFixed(1)}% |`;
    });
  return { rows: rowsOut, busyShare: total / (total + idle) };
}

const loadStart = load();
const closers = [];
const stopAll = async () => {
  for (const c of closers.splice(0).reverse()) await c().catch((e) => log("http-service: close failed:", e?.message ?? e));
  rmSync(tmp, { recursive: true, force: true });
};
process.once("SIGINT", () => stopAll().then(() => process.exit(130)));
process.once("SIGTERM", () => stopAll().then(() => process.exit(143)));

const cells = {};
const loadDuring = [];
const profiles = [];
let subjects;
try {
  log(`http-service: starting uvicorn and the fronts (load average ${loadStart})`);
  const uv = await startUvicorn(2);
  closers.push(() => uv.close());
  const fronts = {};
  for (const [k, backend, extra] of [["pool", "pool", []], ["pipe", "pipe", []], ["fastapiFront", "fastapi", ["--url", uv.url]]]) {
    fronts[k] = await startFront(backend, extra);
    closers.push(() => fronts[k].close());
  }
  subjects = {
    pool: { label: "Node front over the pool, 2 process workers", url: fronts.pool.url, nodePid: fronts.pool.pid, pids: () => fronts.pool.pythonPids },
    pipe: { label: "Node front over 1 python-shell-style process", url: fronts.pipe.url, nodePid: fronts.pipe.pid, pids: () => fronts.pipe.pythonPids },
    fastapiFront: { label: "Node front over FastAPI + uvicorn, 2 workers (undici keep-alive)", url: fronts.fastapiFront.url, nodePid: fronts.fastapiFront.pid, pids: () => uv.pids() },
    fastapi: { label: "FastAPI + uvicorn alone, 2 workers (no Node)", url: uv.url, nodePid: null, pids: () => uv.pids() },
  };
  // every path answers the same
  const expect = JSON.stringify(JSON.parse(execFileSync(python, ["-c", `import sys; sys.path.insert(0, ${JSON.stringify(benchDir)}); import bench_model, json; print(json.dumps(bench_model.predict(json.load(open(${JSON.stringify(bodies[500])}))["rows"])))`], { encoding: "utf8" })));
  for (const [k, s] of Object.entries(subjects)) {
    const res = await fetch(`${s.url}/predict`, { method: "POST", headers: { "content-type": "application/json", connection: "close" }, body: readFileSync(bodies[500]) });
    const got = JSON.stringify(await res.json());
    if (got !== expect) throw new Error(`${k} answered ${got.slice(0, 80)}, not ${expect.slice(0, 80)}`);
  }
  log("http-service: warm-up, 3 s per cell");
  for (const size of SIZES) for (const s of Object.values(subjects)) await wrk(`${s.url}/predict`, size, 3);

  for (const k of Object.keys(subjects)) for (const size of SIZES) cells[`${k}:${size}`] = { perSec: [], p99: [], node: [], py: [], errors: 0 };
  for (let r = 0; r < ROUNDS; r++) {
    loadDuring.push(load().split(" ")[0]);
    for (const size of SIZES) {
      const order = Object.keys(subjects);
      if ((r + SIZES.indexOf(size)) % 2) order.reverse();
      for (const k of order) {
        const s = subjects[k];
        log(`http-service: round ${r + 1}/${ROUNDS}, ${size} row(s), ${k} (load average ${load()})`);
        const n0 = s.nodePid ? cpuUs([s.nodePid]) : 0;
        const p0 = cpuUs(s.pids());
        const w = await wrk(`${s.url}/predict`, size, SECONDS);
        const c = cells[`${k}:${size}`];
        c.perSec.push(w.perSec);
        c.p99.push(w.p99);
        c.node.push(s.nodePid ? (cpuUs([s.nodePid]) - n0) / w.requests : 0);
        c.py.push((cpuUs(s.pids()) - p0) / w.requests);
        c.errors += w.errors;
      }
    }
  }

  if (!flags["no-profile"]) {
    // The pool front again, alone: V8's CPU profiler in the front and py-spy on its workers,
    // both over the load window only.
    await fronts.pipe.close();
    await fronts.fastapiFront.close();
    await fronts.pool.close();
    await uv.close();
    if (!hasPySpy) log(`http-service: ${pySpy} not found, so the Python side is not profiled (pip install -e 'python[bench]' brings it)`);
    for (const size of SIZES) {
      const out = join(tmp, `front-${size}.cpuprofile`);
      log(`http-service: profiling the pool front and its workers, ${size} row(s), ${SECONDS} s`);
      const front = await startFront("pool", ["--profile-out", out]);
      closers.push(() => front.close());
      try {
        await wrk(`${front.url}/predict`, size, 2);
        const spies = hasPySpy ? front.pythonPids.map((pid) => spy(pid, SECONDS, join(tmp, `spy-${size}-${pid}.txt`))) : [];
        process.kill(front.pid, "SIGUSR2");
        const n0 = cpuUs([front.pid]);
        const p0 = cpuUs(front.pythonPids);
        const w = await wrk(`${front.url}/predict`, size, SECONDS);
        const node = (cpuUs([front.pid]) - n0) / w.requests;
        const py = (cpuUs(front.pythonPids) - p0) / w.requests;
        const written = front.nextLine();
        process.kill(front.pid, "SIGUSR2");
        await written;
        const spyFiles = (await Promise.all(spies)).filter(Boolean);
        profiles.push({ size, w, node, pyCpu: py, ...topSelf(out), spy: spyFiles.length ? topPySelf(spyFiles) : null });
      } finally {
        await front.close();
      }
    }
  }
} finally {
  await stopAll();
}

const loadEnd = load();
const f0 = (x) => x.toFixed(0);
const f2 = (x) => (x / 1000).toFixed(2);
const cmd = `node bench/http-service.mjs --rounds ${ROUNDS} --seconds ${SECONDS} --connections ${CONNS} --threads ${THREADS}`;
const med = (k, size, f) => median(cells[`${k}:${size}`][f]);
const table = Object.entries(subjects)
  .map(([k, s]) => {
    const cell = (size) => {
      const c = cells[`${k}:${size}`];
      return `${f0(median(c.perSec))} (${range(c.perSec, f0)}) | ${f0(median(c.p99))} (${range(c.p99, f0)})`;
    };
    const cpu = (size) => `${k === "fastapi" ? "-" : f2(med(k, size, "node"))} / ${f2(med(k, size, "py"))}`;
    return `| ${s.label} | ${cell(1)} | ${cell(500)} | ${cpu(1)} | ${cpu(500)} |`;
  })
  .join("\n");
const errors = Object.entries(cells).filter(([, c]) => c.errors).map(([k, c]) => `${k}: ${c.errors}`);
const ratio = (a, b) => `${(a / b).toFixed(2)}x`;
const verdict = (size) => {
  const pool = med("pool", size, "perSec");
  const pipe = med("pipe", size, "perSec");
  const fa = med("fastapiFront", size, "perSec");
  const alone = med("fastapi", size, "perSec");
  return `- ${size} row${size > 1 ? "s" : ""}: pool / python-shell ${ratio(pool, pipe)} (target at least 1x: **${pool >= pipe ? "met" : "not met"}**); pool / FastAPI behind the front ${ratio(pool, fa)} (target at least 2x: **${pool >= 2 * fa ? "met" : "not met"}**); pool / FastAPI alone ${ratio(pool, alone)}.`;
};
const rowsLabel = (n) => `${n} row${n > 1 ? "s" : ""}`;
const profMd = profiles.length
  ? `### Where the pool's time goes

The pool front alone (the other fronts and uvicorn stopped) under the same wrk load for ${SECONDS} s, after 2 s of
warm-up; V8's CPU profiler (what \`node --cpu-prof\` records) in the front and \`py-spy record --gil --nonblocking\` on each
worker, both over the load window only. Under the profilers: ${profiles.map((p) => `${rowsLabel(p.size)}: ${f0(p.w.perSec)} requests/s, ${f2(p.node)} / ${f2(p.pyCpu)} ms CPU per request Node / Python, front busy ${(100 * p.busyShare).toFixed(0)}% of its samples`).join("; ")}.
Node: self time as a share of the front's busy samples. Python: self time (leaf frame) and time inside (any frame)
as a share of the workers' samples holding the GIL (time in a syscall such as the socket read or write is not in them), both workers merged.

${profiles
  .map(
    (p) => `${rowsLabel(p.size)} per request, Node front:

| function | where | self time |
|---|---|---|
${p.rows.join("\n")}
${
  p.spy
    ? `
${rowsLabel(p.size)} per request, Python workers (${p.spy.samples} samples), self time:

| function | where | self time |
|---|---|---|
${p.spy.self.join("\n")}

and time inside (the worker's code, json, the model):

| function | where | share |
|---|---|---|
${p.spy.inclusive.join("\n")}`
    : ""
}`,
  )
  .join("\n\n")}
`
  : "";
const md = `## An HTTP service over a scikit-learn model

\`\`\`
${cmd}
\`\`\`

Machine: ${machine()}; wrk ${THREADS} threads, ${CONNS} connections, loopback. Date: ${new Date().toISOString().slice(0, 10)}. Load average (1, 5, 15 min) ${loadStart}
at the start, ${loadEnd} at the end; 1-min load at each round's start: ${loadDuring.join(", ")}. wrk, the front and the
Python processes share the ${machine().split(" ")[0]} cores with whatever else the machine runs: read the ratios.

\`POST /predict {"rows": [[64 floats], ...]}\` answers the digit each row shows, from a \`LogisticRegression\`
trained on \`sklearn.datasets.load_digits\` at start-up (\`bench/bench_model.py\`; rows are digits scaled to 0..1).
The Node front (\`bench/http/front.mjs\`) parses the body, calls its back end, and writes the JSON answer; the
same front for (a)-(c). FastAPI validates the body with a pydantic model in \`async def\` handlers, access log
off (\`bench/http/fastapi_app.py\`). ${ROUNDS} rounds of ${SECONDS} s per cell, cells alternating, after 3 s of warm-up each;
medians of the rounds, (ranges). CPU per request: the front's process and the back end's Python processes,
utime + stime from \`/proc/PID/stat\`, over the requests wrk counted.${errors.length ? ` Errors (non-2xx or socket): ${errors.join(", ")}.` : " No errors."}

| back end | 1 row: requests/s | 1 row: p99 ms | 500 rows: requests/s | 500 rows: p99 ms | CPU per request, Node / Python ms, 1 row | same, 500 rows |
|---|---|---|---|---|---|---|
${table}

Targets (issue 10): the pool with 2 workers at or above python-shell with one process, and at least twice FastAPI's.

${SIZES.map(verdict).join("\n")}

CPU per request, pool against python-shell, Node / Python: ${SIZES.map((n) => `${f2(med("pool", n, "node"))} / ${f2(med("pool", n, "py"))} ms against ${f2(med("pipe", n, "node"))} / ${f2(med("pipe", n, "py"))} ms with ${rowsLabel(n)}`).join("; ")}.
The pool spends more CPU per request on both sides; on a machine this loaded (see the load average) CPU per request
decides requests/s more than the pool's second worker does.

${profMd}`;
console.log(md);
if (!flags["no-write"]) {
  writeBlock("http-service.mjs", md);
  log("http-service: wrote its block in docs/performance.md");
}
