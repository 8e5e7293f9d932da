/** The snapshot and recommendations as terminal tables (cli-table3). */
import Table from "cli-table3";
import { formatBytes, formatDuration, formatMs } from "./format.js";
import type { Recommendation } from "./recommend.js";
import type { DiagnosticsSnapshot, PoolSnapshot } from "./snapshot.js";

const plain = { head: [], border: [] };

export function renderSnapshot(snapshot: DiagnosticsSnapshot, recommendations: readonly Recommendation[]): string {
  const out: string[] = [`snapshot ${snapshot.takenAt}, ${snapshot.pools.length} pool${snapshot.pools.length === 1 ? "" : "s"}`];
  if (!snapshot.pools.length) out.push("(no pools: is the process serving diagnostics for any?)");
  for (const p of snapshot.pools) out.push("", renderPool(p, recommendations.filter((r) => r.pool === p.name)));
  return out.join("\n");
}

function byReason(counts: Readonly<Record<string, number>>): string {
  const entries = Object.entries(counts);
  return entries.length ? ` (${entries.map(([k, v]) => `${k} ${v}`).join(", ")})` : "";
}

function renderPool(p: PoolSnapshot, recs: readonly Recommendation[]): string {
  const lines: string[] = [];
  const rt = p.runtime;
  lines.push(
    `pool ${p.name}  profile=${p.profile}  state=${p.state}${p.degraded ? `  DEGRADED: ${p.degraded.reason}` : ""}` +
      (rt ? `  python ${rt.pythonVersion}${rt.freeThreaded ? (rt.gilEnabled ? " free-threaded (GIL on)" : " free-threaded") : ""}  adapter ${rt.adapter}` : ""),
  );
  const summary = new Table({ style: plain });
  summary.push(
    { workers: `${p.ready}/${p.size} ready${p.starting ? `, ${p.starting} starting` : ""}, ${p.busy} busy, ${p.idle} idle` },
    { "call slots": `${p.inFlight}/${p.capacity} in use, ${p.queueDepth} queued` },
    { requests: `${p.requests.completed} completed, ${p.requests.failed} failed, ${p.requests.rejected} rejected${byReason(p.failuresByCode)}` },
    { recycles: `${p.recycles.total}${byReason(p.recycles.byReason)}` },
    { crashes: `${p.crashes.total}${byReason(p.crashes.byReason)}` },
    { memory: p.memory ? `RSS ${formatBytes(p.memory.rssBytes)}, PSS ${formatBytes(p.memory.pssBytes)}` : "-" },
  );
  lines.push(summary.toString());

  // Workers on other hosts (@snakepit/remote) show where they run.
  const remote = p.workers.some((w) => w.host !== undefined);
  const head = ["worker", ...(remote ? ["host"] : []), "pid", "state", "load", "served", "uptime", "RSS", "PSS"];
  const workers = new Table({ head, style: plain });
  for (const w of p.workers) {
    const where = remote ? [w.host ?? "local"] : [];
    workers.push([w.id, ...where, w.pid ?? "-", w.state, `${w.load}/${w.capacity}`, w.requestsServed, formatDuration(w.uptimeMs), formatBytes(w.rssBytes), formatBytes(w.pssBytes)]);
  }
  lines.push(workers.toString());

  const latency = new Table({ head: [`since ${p.recordingSince}`, "count", "p50", "p90", "p95", "p99", "max"], style: plain });
  for (const [name, h] of [["run time", p.runTime], ["queue wait", p.waitTime]] as const) {
    latency.push([name, h.count, formatMs(h.p50Ms), formatMs(h.p90Ms), formatMs(h.p95Ms), formatMs(h.p99Ms), formatMs(h.maxMs)]);
  }
  lines.push(latency.toString());

  if (recs.length) {
    lines.push("recommendations:");
    for (const r of recs) {
      lines.push(`  [${r.severity}] ${r.rule}: ${r.message}`);
      for (const reason of r.reasons) lines.push(`      - ${reason}`);
    }
  } else {
    lines.push("recommendations: none");
  }
  return lines.join("\n");
}
