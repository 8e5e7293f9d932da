#!/usr/bin/env node
// A load run through three worker hosts, each in a network namespace of its own
// (veth pairs, 10.x addresses made here): one host is killed (SIGKILL) during it,
// another cut off (its link set down), then both come back. Reports calls/s,
// failed calls by code (idempotent or not), time to eject and time to re-admit,
// and writes the section of docs/performance.md between its markers.
//
//   sudo node bench/remote.mjs                 # after pnpm run setup && pnpm run build; Linux, root (ip netns)
//   sudo node bench/remote.mjs --seconds 20 --inflight 32 --no-write
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createPool, silentLogger, SNAKEPIT_EVENTS } from "@snakepit/core";
import { remoteProfile } from "@snakepit/remote";

const { values: flags } = parseArgs({
  options: {
    seconds: { type: "string", default: "16" },
    inflight: { type: "string", default: "32" },
    threads: { type: "string", default: "4" },
    "no-write": { type: "boolean", default: false },
  },
});
const SECONDS = Number(flags.seconds);
const INFLIGHT = Number(flags.inflight);
const THREADS = Number(flags.threads);
const root = fileURLToPath(new URL("..", import.meta.url));
const python = process.env.SNAKEPIT_PYTHON ?? `${root}python/.venv/bin/python`;
const adapter = "snakepit_bridge.adapters.showcase:ShowcaseAdapter";
const log = (...a) => console.error(...a);

// ---- the lab: a namespace + veth pair per host; everything named after our pid ----
const ip = (...args) => execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const tryIp = (...args) => {
  try {
    ip(...args);
  } catch {
    /* gone */
  }
};
const subnet = `10.${200 + ((process.pid >> 8) % 50)}.${process.pid & 255}`;
const hosts = [0, 1, 2].map((i) => ({
  i,
  ns: `snkp-${process.pid}-${i}`,
  vethRoot: `sk${process.pid.toString(36)}a${i}`,
  vethNs: `sk${process.pid.toString(36)}b${i}`,
  address: `${subnet}.${4 * i + 2}:50051`,
  server: undefined,
}));
const dir = mkdtempSync(join(tmpdir(), "snkp-bench-"));
const tokenFile = join(dir, "token");
const token = `bench-${process.pid}-${Math.random().toString(36).slice(2)}`;
writeFileSync(tokenFile, token, { mode: 0o600 });

function createLab() {
  for (const h of hosts) {
    ip("netns", "add", h.ns);
    ip("link", "add", h.vethRoot, "type", "veth", "peer", "name", h.vethNs);
    ip("link", "set", h.vethNs, "netns", h.ns);
    ip("addr", "add", `${subnet}.${4 * h.i + 1}/30`, "dev", h.vethRoot);
    ip("link", "set", h.vethRoot, "up");
    ip("netns", "exec", h.ns, "ip", "addr", "add", `${subnet}.${4 * h.i + 2}/30`, "dev", h.vethNs);
    ip("netns", "exec", h.ns, "ip", "link", "set", h.vethNs, "up");
    ip("netns", "exec", h.ns, "ip", "link", "set", "lo", "up");
  }
}

function serve(h) {
  const child = spawn(
    "ip",
    ["netns", "exec", h.ns, python, "-m", "snakepit_bridge", "serve", "--adapter", adapter, "--listen", h.address, "--threads", String(THREADS), "--token-file", tokenFile],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  h.server = child;
  return new Promise((resolve, reject) => {
    let text = "";
    child.stderr.on("data", (c) => {
      text += c;
      if (text.includes(`listening on ${h.address}`)) resolve(child);
    });
    child.once("exit", (code) => reject(new Error(`server in ${h.ns} exited (${code}):\n${text}`)));
  });
}

async function kill(h) {
  const child = h.server;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await gone;
}

async function removeLab() {
  await Promise.all(hosts.map(kill));
  for (const h of hosts) {
    tryIp("netns", "del", h.ns);
    tryIp("link", "del", h.vethRoot);
  }
  rmSync(dir, { recursive: true, force: true });
}

// ---- the run ---------------------------------------------------------------------
const hostEvents = [];
const readyHosts = [];
const onReady = (m) => readyHosts.push({ at: Date.now(), host: m.info?.host });
let pool;
try {
  createLab();
  await Promise.all(hosts.map(serve));
  subscribe(SNAKEPIT_EVENTS.workerReady, onReady);
  const profile = remoteProfile({
    endpoints: hosts.map((h) => h.address),
    token,
    healthIntervalMs: 500,
    healthTimeoutMs: 500,
    ejectBackoff: { initialMs: 250, maxMs: 2_000 },
    onHostChange: (e) => hostEvents.push(e),
  });
  pool = await createPool({ profile, size: 3, logger: silentLogger, python: { adapter }, startTimeoutMs: 15_000 });
  // Warm up: connections to every host (one per call in flight), both JITs' hot paths.
  const warmUntil = Date.now() + 3_000;
  await Promise.all(Array.from({ length: INFLIGHT }, async () => {
    while (Date.now() < warmUntil) await pool.execute("add", { a: 1, b: 2 });
  }));

  const t0 = Date.now();
  const perSecond = new Array(SECONDS).fill(0);
  const failures = new Map(); // "code (idempotent|not)" -> count
  let ok = 0;
  let maxMs = 0;
  let n = 0;
  const lane = async () => {
    while (Date.now() - t0 < SECONDS * 1000) {
      const idempotent = n++ % 2 === 0;
      const started = Date.now();
      try {
        await pool.execute("add", { a: 1, b: 2 }, { idempotent, timeoutMs: 2_000 });
        ok++;
        const s = Math.floor((Date.now() - t0) / 1000);
        if (s < SECONDS) perSecond[s]++;
      } catch (err) {
        const key = `${err.code ?? "other"} (${idempotent ? "idempotent" : "not idempotent"})`;
        failures.set(key, (failures.get(key) ?? 0) + 1);
      }
      maxMs = Math.max(maxMs, Date.now() - started);
    }
  };
  const [killed, cut] = [hosts[0], hosts[1]];
  const marks = {};
  const at = (ms, fn) =>
    new Promise((resolve) =>
      setTimeout(async () => {
        await fn();
        resolve();
      }, ms),
    );
  const phase = SECONDS * 1000;
  const chaos = Promise.all([
    at(phase * 0.2, async () => {
      marks.killAt = Date.now();
      await kill(killed);
      log("killed", killed.address);
    }),
    at(phase * 0.35, () => {
      marks.cutAt = Date.now();
      ip("netns", "exec", cut.ns, "ip", "link", "set", cut.vethNs, "down");
      log("cut", cut.address);
    }),
    at(phase * 0.55, async () => {
      marks.restartAt = Date.now();
      await serve(killed);
      marks.restartedAt = Date.now();
      log("restarted", killed.address);
    }),
    at(phase * 0.7, () => {
      marks.mendAt = Date.now();
      ip("netns", "exec", cut.ns, "ip", "link", "set", cut.vethNs, "up");
      log("mended", cut.address);
    }),
  ]);
  await Promise.all([...Array.from({ length: INFLIGHT }, lane), chaos]);
  const wallS = (Date.now() - t0) / 1000;

  const first = (type, address, after) => hostEvents.find((e) => e.type === type && e.address === address && e.at >= after);
  const firstReady = (address, after) => readyHosts.find((r) => r.host === address && r.at >= after);
  const ms = (a, b) => (a && b ? `${b - a} ms` : "n/a");
  const r = {
    callsPerS: Math.round(ok / wallS),
    steady: Math.round(perSecond.slice(0, Math.floor(SECONDS * 0.2)).reduce((a, b) => a + b, 0) / Math.max(1, Math.floor(SECONDS * 0.2))),
    worstSecond: Math.min(...perSecond),
    ok,
    failures: [...failures.entries()].sort(),
    maxMs,
    ejectKilled: ms(marks.killAt, first("ejected", killed.address, marks.killAt)?.at),
    ejectCut: ms(marks.cutAt, first("ejected", cut.address, marks.cutAt)?.at),
    readmitKilled: ms(marks.restartedAt, first("readmitted", killed.address, marks.restartedAt)?.at),
    servingKilled: ms(marks.restartedAt, firstReady(killed.address, marks.restartedAt)?.at),
    readmitCut: ms(marks.mendAt, first("readmitted", cut.address, marks.mendAt)?.at),
    servingCut: ms(marks.mendAt, firstReady(cut.address, marks.mendAt)?.at),
    perSecond,
  };
  log(JSON.stringify(r, null, 2));

  const failRows = r.failures.length ? r.failures.map(([k, v]) => `| ${k} | ${v} |`).join("\n") : "| (none) | 0 |";
  const cmd = `node bench/remote.mjs --seconds ${SECONDS} --inflight ${INFLIGHT} --threads ${THREADS}`;
  const section = `## Remote workers: three hosts, one killed and one cut off

From one run of \`${cmd}\` (as root: it makes three network namespaces joined by veth
pairs, one \`python -m snakepit_bridge serve --threads ${THREADS}\` in each, the pool in the
root namespace; ${availableParallelism()} cores shared by everything), after 3 s of warm-up. ${INFLIGHT} calls of \`add\` in flight for
${SECONDS} s, every other one idempotent, each with a 2 s deadline;
\`healthIntervalMs\` and \`healthTimeoutMs\` 500, \`ejectBackoff\` 250 ms to 2 s. At ${Math.round(SECONDS * 0.2)} s one host is
killed (SIGKILL), at ${Math.round(SECONDS * 0.35)} s another is cut off (its link set down: no reset, packets vanish),
at ${Math.round(SECONDS * 0.55)} s the first is restarted, at ${Math.round(SECONDS * 0.7)} s the second's link comes back up.

| | |
|---|---|
| calls/s over the whole run | ${r.callsPerS} (${r.ok} calls) |
| calls/s before the failures (3 hosts) | ${r.steady} |
| worst second | ${r.worstSecond} calls |
| slowest call | ${r.maxMs} ms (deadline 2000 ms) |
| killed host: ejected after | ${r.ejectKilled} |
| cut host: ejected after | ${r.ejectCut} (health check every 500 ms, 500 ms timeout) |
| killed host, restarted: re-admitted after / serving calls after | ${r.readmitKilled} / ${r.servingKilled} |
| cut host, link back: re-admitted after / serving calls after | ${r.readmitCut} / ${r.servingCut} |

Failed calls by code:

| code | calls |
|---|---|
${failRows}

Calls per second, second by second: ${r.perSecond.join(", ")}.

Calls the killed host was running fail as \`worker_crashed\` (the idempotent ones run again
on another host); calls sent to it after it died are refused before they start and run on
another host, idempotent or not. Calls on the cut host fail at once when the health check
ejects it (\`worker_crashed\`), or by their deadline, never later. Re-admission is the
probe's backoff (the host is probed 250 ms after ejection, doubling to 2 s) plus one
Describe; "serving" is when the pool's replacement worker on it was ready.`;

  if (!flags["no-write"]) {
    const file = `${root}docs/performance.md`;
    const doc = readFileSync(file, "utf8");
    const begin = "<!-- bench/remote.mjs: begin -->";
    const end = "<!-- bench/remote.mjs: end -->";
    const block = `${begin}\n${section}\n${end}`;
    const next = doc.includes(begin) ? doc.replace(new RegExp(`${begin}[\\s\\S]*${end}`), block) : `${doc.trimEnd()}\n\n${block}\n`;
    writeFileSync(file, next);
    log("wrote the remote section of docs/performance.md");
  } else {
    console.log(section);
  }
} finally {
  unsubscribe(SNAKEPIT_EVENTS.workerReady, onReady);
  await pool?.destroy();
  await removeLab();
}
