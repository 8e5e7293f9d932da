/** The scaling report: a table with each configuration's calls/s, a chart, and the recommendation. */
import asciichart from "asciichart";
import Table from "cli-table3";
import type { ScalingReport } from "./diagnose-scaling.js";
import { formatBytes, formatMs } from "./format.js";

const plain = { head: [], border: [] };
/** Columns per configuration in the chart. */
const STEP = 12;

export function renderScaling(report: ScalingReport): string {
  const lines: string[] = [`scaling of ${report.tool} on ${report.adapter} (${(report.durationMs / 1000).toFixed(1)} s per configuration)`];
  const table = new Table({ head: ["configuration", "throughput", "calls", "errors", "p50", "p95", "p99", "memory"], style: plain });
  for (const r of report.results) {
    if (r.skipped) {
      table.push([r.label, { colSpan: 7, content: `skipped: ${r.skipped}` }]);
      continue;
    }
    table.push([r.label, `${Math.round(r.callsPerSecond)} calls/s`, r.calls, r.errors, formatMs(r.latency.p50Ms), formatMs(r.latency.p95Ms), formatMs(r.latency.p99Ms), formatBytes(r.rssBytes)]);
  }
  lines.push(table.toString());
  const errored = report.results.find((r) => r.firstError);
  if (errored) lines.push(`first error (${errored.label}): ${errored.firstError}`);
  const measured = report.results.filter((r) => !r.skipped);
  if (measured.length > 1) lines.push("", "calls/s", chart(measured.map((r) => ({ label: r.label, value: r.callsPerSecond }))));
  lines.push("");
  const rec = report.recommended;
  if (rec) {
    const shape = rec.profile === "thread" ? `size ${rec.size} x ${rec.threadsPerWorker} threads` : `size ${rec.size}`;
    lines.push(`recommended: ${rec.profile} profile, ${shape} (${Math.round(rec.callsPerSecond)} calls/s)`);
  } else {
    lines.push("recommended: none (no configuration completed a call)");
  }
  for (const reason of report.reasons) lines.push(`  - ${reason}`);
  return lines.join("\n");
}

/** A step chart: each configuration is a flat run of STEP columns, labelled underneath. */
export function chart(points: ReadonlyArray<{ label: string; value: number }>): string {
  const series = points.flatMap((p) => Array.from({ length: STEP }, () => Math.round(p.value)));
  const plotted = asciichart.plot(series, { height: 8, min: 0, format: (x) => String(Math.round(x)).padStart(8) });
  const first = plotted.split("\n")[0] ?? "";
  const axis = Math.max(first.indexOf("┤"), first.indexOf("┼"));
  const labels = points.map((p) => p.label.slice(0, STEP - 1).padEnd(STEP)).join("");
  return `${plotted}\n${" ".repeat(axis + 1)}${labels}`;
}
