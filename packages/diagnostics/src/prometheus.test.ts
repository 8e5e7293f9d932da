import { describe, expect, it } from "vitest";
import { histogram, pool, worker } from "../test/snapshot-factory.js";
import { toPrometheus } from "./prometheus.js";

/** Parse the text format: every sample line must be `name{labels} value`, each family declared once. */
function parse(text: string): { samples: Array<{ name: string; labels: Record<string, string>; value: number }>; types: Map<string, string> } {
  const types = new Map<string, string>();
  const samples: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.trimEnd().split("\n")) {
    if (line.startsWith("# HELP ")) continue;
    const t = /^# TYPE (\w+) (gauge|counter|summary)$/.exec(line);
    if (t) {
      expect(types.has(t[1]!), `family ${t[1]} declared twice`).toBe(false);
      types.set(t[1]!, t[2]!);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    expect(m, `bad line: ${line}`).not.toBeNull();
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m![2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    samples.push({ name: m![1]!, labels, value: Number(m![3]) });
  }
  return { samples, types };
}

describe("toPrometheus", () => {
  it("writes valid text-format families under the snakepit_* names", () => {
    const snap = {
      takenAt: "t",
      pools: [
        pool({
          name: 'we"ird\\name',
          busy: 1,
          idle: 1,
          queueDepth: 3,
          recycles: { total: 3, byReason: { max_requests: 2, before_tracking: 1 } },
          crashes: { total: 1, byReason: { "signal:SIGKILL": 1 } },
          runTime: histogram(4, 100, 400, 1000),
          workers: [worker({ id: "a", load: 1, rssBytes: 1000 }), worker({ id: "b", rssBytes: null, pssBytes: null })],
        }),
      ],
    };
    const { samples, types } = parse(toPrometheus(snap));
    const get = (name: string, labels: Record<string, string> = {}) =>
      samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    expect(types.get("snakepit_workers_busy")).toBe("gauge");
    expect(types.get("snakepit_requests_completed_total")).toBe("counter");
    expect(types.get("snakepit_request_duration_seconds")).toBe("summary");
    expect(get("snakepit_queue_depth")[0]!.value).toBe(3);
    // Label values are escaped and read back intact.
    expect(get("snakepit_queue_depth")[0]!.labels["pool"]).toBe('we\\"ird\\\\name');
    expect(get("snakepit_worker_recycles_total", { reason: "max_requests" })[0]!.value).toBe(2);
    expect(get("snakepit_worker_recycles_total", { reason: "before_tracking" })[0]!.value).toBe(1);
    expect(get("snakepit_worker_crashes_total", { reason: "signal:SIGKILL" })[0]!.value).toBe(1);
    expect(get("snakepit_request_duration_seconds", { quantile: "0.5" })[0]!.value).toBe(0.1);
    expect(get("snakepit_request_duration_seconds_sum")[0]!.value).toBe(1);
    expect(get("snakepit_request_duration_seconds_count")[0]!.value).toBe(4);
    expect(get("snakepit_worker_load", { worker: "a" })[0]!.value).toBe(1);
    // A worker that did not report memory has no memory sample (rather than a fake 0).
    expect(get("snakepit_worker_rss_bytes").map((s) => s.labels["worker"])).toEqual(["a"]);
  });

  it("declares every family even with no pools", () => {
    const { samples, types } = parse(toPrometheus({ takenAt: "t", pools: [] }));
    expect(samples).toEqual([]);
    expect(types.size).toBeGreaterThan(15);
  });
});
