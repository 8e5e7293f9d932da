/**
 * A snapshot in the Prometheus text exposition format (version 0.0.4), under the
 * `snakepit_*` names @snakepit/otel's metrics get in Prometheus. Histograms are
 * summaries here (quantiles 0.5, 0.9, 0.99 over the recording), in seconds.
 */
import type { HistogramSummary } from "./latency-histogram.js";
import type { DiagnosticsSnapshot, PoolSnapshot, WorkerSnapshot } from "./snapshot.js";

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string>;

class Exposition {
  private readonly lines: string[] = [];

  family(name: string, type: "gauge" | "counter" | "summary", help: string, samples: Array<[Labels, number, string?]>): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value, suffix] of samples) this.lines.push(`${name}${suffix ?? ""}${formatLabels(labels)} ${formatValue(value)}`);
  }

  text(): string {
    return `${this.lines.join("\n")}\n`;
  }
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  return entries.length ? `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}` : "";
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

export function toPrometheus(snapshot: DiagnosticsSnapshot): string {
  const out = new Exposition();
  const pools = snapshot.pools;
  const base = (p: PoolSnapshot): Labels => ({ pool: p.name, profile: p.profile });
  const gauge = (name: string, help: string, pick: (p: PoolSnapshot) => number) =>
    out.family(name, "gauge", help, pools.map((p) => [base(p), pick(p)]));
  const counter = (name: string, help: string, pick: (p: PoolSnapshot) => number) =>
    out.family(name, "counter", help, pools.map((p) => [base(p), pick(p)]));

  gauge("snakepit_pool_up", "1 while the pool takes calls (state ready), else 0.", (p) => (p.state === "ready" ? 1 : 0));
  gauge("snakepit_pool_size", "Workers the pool keeps.", (p) => p.size);
  gauge("snakepit_workers_ready", "Workers ready to take calls.", (p) => p.ready);
  gauge("snakepit_workers_busy", "Ready workers with at least one call running.", (p) => p.busy);
  gauge("snakepit_workers_idle", "Ready workers with nothing running.", (p) => p.idle);
  gauge("snakepit_workers_capacity", "Calls the ready workers can run at once.", (p) => p.capacity);
  gauge("snakepit_requests_in_flight", "Calls running on workers now.", (p) => p.inFlight);
  gauge("snakepit_queue_depth", "Calls waiting for a free worker.", (p) => p.queueDepth);
  counter("snakepit_requests_completed_total", "Calls that succeeded, since the pool started.", (p) => p.requests.completed);
  counter("snakepit_requests_failed_total", "Calls that failed, since the pool started.", (p) => p.requests.failed);
  counter("snakepit_requests_rejected_total", "Calls refused without running, since the pool started.", (p) => p.requests.rejected);
  out.family(
    "snakepit_worker_recycles_total",
    "counter",
    "Workers taken out of rotation, by reason (before_tracking: before diagnostics saw the pool).",
    pools.flatMap((p) => Object.entries(p.recycles.byReason).map(([reason, n]): [Labels, number] => [{ ...base(p), reason }, n])),
  );
  out.family(
    "snakepit_worker_crashes_total",
    "counter",
    "Workers that died unexpectedly, by how (signal:NAME, exit_code:N; before_tracking: before diagnostics saw the pool).",
    pools.flatMap((p) => Object.entries(p.crashes.byReason).map(([reason, n]): [Labels, number] => [{ ...base(p), reason }, n])),
  );
  summary(out, "snakepit_request_duration_seconds", "Time calls ran on their worker, since recording started.", pools, base, (p) => p.runTime);
  summary(out, "snakepit_queue_wait_seconds", "Time calls waited for a free worker, since recording started.", pools, base, (p) => p.waitTime);

  const perWorker = (name: string, type: "gauge" | "counter", help: string, pick: (w: WorkerSnapshot) => number | null) =>
    out.family(
      name,
      type,
      help,
      pools.flatMap((p) =>
        p.workers.flatMap((w): Array<[Labels, number]> => {
          const v = pick(w);
          return v === null ? [] : [[{ ...base(p), worker: w.id }, v]];
        }),
      ),
    );
  perWorker("snakepit_worker_load", "gauge", "Calls running on the worker now.", (w) => w.load);
  perWorker("snakepit_worker_capacity", "gauge", "Calls the worker can run at once.", (w) => w.capacity);
  perWorker("snakepit_worker_requests_served_total", "counter", "Calls the worker was given.", (w) => w.requestsServed);
  perWorker("snakepit_worker_uptime_seconds", "gauge", "Time since the worker became ready.", (w) => w.uptimeMs / 1000);
  perWorker("snakepit_worker_rss_bytes", "gauge", "Resident set size of the worker's Python process.", (w) => w.rssBytes);
  perWorker("snakepit_worker_pss_bytes", "gauge", "Proportional set size of the worker's Python process (Linux).", (w) => w.pssBytes);
  return out.text();
}

function summary(
  out: Exposition,
  name: string,
  help: string,
  pools: readonly PoolSnapshot[],
  base: (p: PoolSnapshot) => Labels,
  pick: (p: PoolSnapshot) => HistogramSummary,
): void {
  out.family(
    name,
    "summary",
    help,
    pools.flatMap((p): Array<[Labels, number, string?]> => {
      const h = pick(p);
      const l = base(p);
      return [
        [{ ...l, quantile: "0.5" }, h.p50Ms / 1000],
        [{ ...l, quantile: "0.9" }, h.p90Ms / 1000],
        [{ ...l, quantile: "0.99" }, h.p99Ms / 1000],
        [l, h.sumMs / 1000, "_sum"],
        [l, h.count, "_count"],
      ];
    }),
  );
}
