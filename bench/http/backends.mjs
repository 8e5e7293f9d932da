// Back ends shared by bench/matrix.mjs, bench/http-service.mjs and bench/http/front.mjs:
// the pool over bench_tools.py, one python-shell-style JSON-lines process, and FastAPI +
// uvicorn; plus process accounting (/proc) and stopping every process that was started.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createPool, silentLogger } from "@snakepit/core";

export const root = fileURLToPath(new URL("../..", import.meta.url));
export const python = process.env.SNAKEPIT_PYTHON ?? `${root}python/.venv/bin/python`;
export const benchDir = `${root}bench`;

/** Every process group this process started; any still there when it exits are killed. */
const groups = new Set();
export function track(child) {
  groups.add(child);
  child.once("exit", () => groups.delete(child));
  return child;
}
process.once("exit", () => {
  for (const c of groups) {
    try {
      process.kill(-c.pid, "SIGKILL");
    } catch {}
  }
});

/** The pool as a new user would make it: 2 process workers, defaults otherwise. */
export function startPool(size = 2) {
  return createPool({
    size,
    logger: silentLogger,
    startTimeoutMs: 120_000, // setup() trains the model: seconds on a busy machine
    python: { executable: python, adapter: "bench_tools:BenchAdapter", env: { PYTHONPATH: benchDir } },
  });
}

export const poolPids = (pool) => pool.stats().perWorker.map((w) => w.pid).filter(Boolean);

/** One Python process answering JSON lines in order (python-shell's way), calls tagged by id. */
export async function startPipe() {
  const child = track(spawn(python, [`${benchDir}/http/pipe_server.py`], { stdio: ["pipe", "pipe", "pipe"], detached: true }));
  const pending = new Map();
  let next = 1;
  createInterface({ input: child.stdout }).on("line", (line) => {
    const msg = JSON.parse(line);
    const p = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.error) p?.reject(new Error(msg.error));
    else p?.resolve(msg.result);
  });
  await new Promise((resolve, reject) => {
    let err = "";
    child.stderr.on("data", (d) => {
      err += d;
      if (err.includes("ready\n")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`pipe_server.py exited with ${code} before ready: ${err.slice(-500)}`)));
  });
  child.stderr.resume();
  return {
    pids: [child.pid],
    call(tool, args) {
      const id = next++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.stdin.write(`${JSON.stringify({ id, tool, args })}\n`);
      });
    },
    async close() {
      child.stdin.end();
      await stopGroup(child);
    },
  };
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** FastAPI + uvicorn with `workers` processes on 127.0.0.1; resolves once each worker answers. */
export async function startUvicorn(workers = 2) {
  const port = await freePort();
  const child = track(spawn(
    python,
    ["-m", "uvicorn", "fastapi_app:app", "--app-dir", `${benchDir}/http`, "--host", "127.0.0.1", "--port", String(port), "--workers", String(workers), "--no-access-log", "--log-level", "warning"],
    { stdio: ["ignore", "inherit", "inherit"], detached: true },
  ));
  let exited = null;
  child.once("exit", (code, signal) => (exited = { code, signal }));
  const url = `http://127.0.0.1:${port}`;
  const seen = new Set();
  const until = Date.now() + 120_000;
  try {
    while (seen.size < workers) {
      if (exited) throw new Error(`uvicorn exited (${JSON.stringify(exited)}) before it was ready`);
      if (Date.now() > until) throw new Error("uvicorn did not become ready in 120 s");
      try {
        // a fresh connection each time, so the kernel spreads them over the workers
        const res = await fetch(`${url}/health`, { headers: { connection: "close" } });
        seen.add((await res.json()).pid);
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } catch (e) {
    await stopGroup(child);
    throw e;
  }
  return {
    url,
    port,
    pid: child.pid,
    /** the supervisor and its workers */
    pids: () => [child.pid, ...descendants(child.pid)],
    close: () => stopGroup(child),
  };
}

/** Every descendant of pid (Linux /proc/PID/task/TID/children). */
export function descendants(pid) {
  const out = [];
  const walk = (p) => {
    let tasks = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const t of tasks) {
      let kids = "";
      try {
        kids = readFileSync(`/proc/${p}/task/${t}/children`, "utf8");
      } catch {}
      for (const k of kids.trim().split(/\s+/).filter(Boolean)) {
        out.push(Number(k));
        walk(Number(k));
      }
    }
  };
  walk(pid);
  return out;
}

/** utime + stime of these processes so far, in microseconds (/proc/PID/stat, 100 Hz ticks). */
export function cpuUs(pids) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(f[11]) + Number(f[12]);
    } catch {}
  }
  return ticks * 10_000;
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** SIGTERM to the child's process group, SIGKILL after `graceMs`; resolves when it has exited. */
export async function stopGroup(child, graceMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once("exit", r));
  const kids = descendants(child.pid);
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {}
  const t = setTimeout(() => {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
  }, graceMs);
  await gone;
  clearTimeout(t);
  killLeftovers(kids, graceMs);
}

/** Processes that were descendants and outlived their parent (their own groups): TERM, then KILL. */
export function killLeftovers(pids, graceMs = 3000) {
  const left = pids.filter(alive);
  for (const p of left) {
    try {
      process.kill(p, "SIGTERM");
    } catch {}
  }
  if (!left.length) return;
  const until = Date.now() + graceMs;
  while (Date.now() < until && left.some(alive)) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  for (const p of left.filter(alive)) {
    try {
      process.kill(p, "SIGKILL");
    } catch {}
  }
}

export const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const range = (xs, f = (x) => x) => `${f(Math.min(...xs))}-${f(Math.max(...xs))}`;
export const hasWrk = () => process.env.PATH.split(":").some((d) => existsSync(`${d}/wrk`));

/** Digit rows (64 floats in 0..1) from sklearn's digits, as the HTTP bodies carry them. */
export async function digitRows(n) {
  const child = spawn(python, [`${benchDir}/bench_model.py`, "rows", String(n)], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  for await (const d of child.stdout) out += d;
  return JSON.parse(out);
}

/**
 * Put `md` between `<!-- bench/NAME: begin -->` and `<!-- bench/NAME: end -->` in
 * docs/performance.md, replacing the block if it is there, else appending it (bench/run.mjs
 * keeps such blocks when it rewrites the page).
 */
export function writeBlock(name, md) {
  const file = `${root}docs/performance.md`;
  const begin = `<!-- bench/${name}: begin -->`;
  const end = `<!-- bench/${name}: end -->`;
  const block = `${begin}\n${md.trim()}\n${end}`;
  const page = existsSync(file) ? readFileSync(file, "utf8") : "# Performance\n";
  const i = page.indexOf(begin);
  const j = page.indexOf(end);
  const next = i >= 0 && j > i ? page.slice(0, i) + block + page.slice(j + end.length) : `${page.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, next);
}

export function machine() {
  return `${availableParallelism()} cores (${cpus()[0]?.model.trim()}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}
