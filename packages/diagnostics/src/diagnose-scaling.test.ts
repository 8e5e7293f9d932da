import { describe, expect, it } from "vitest";
import { choose, configLabel, type ScalingResult } from "./diagnose-scaling.js";
import { EMPTY_SUMMARY } from "./latency-histogram.js";

function result(label: string, profile: "process" | "thread", size: number, threads: number, cps: number): ScalingResult {
  return { label, profile, size, threadsPerWorker: threads, concurrency: size * threads, calls: Math.round(cps), errors: 0, callsPerSecond: cps, latency: EMPTY_SUMMARY, rssBytes: size * 50 * 2 ** 20, startMs: 100 };
}

describe("choose", () => {
  it("picks the highest throughput", () => {
    const r = choose([result("process 1", "process", 1, 1, 100), result("process 2", "process", 2, 1, 190), result("thread 1x8", "thread", 1, 8, 600)]);
    expect(r.recommended?.label).toBe("thread 1x8");
    expect(r.reasons[0]).toBe("thread 1x8 had the highest throughput: 600 calls/s");
    expect(r.reasons).toContain("6.0x the throughput of a single process");
  });

  it("prefers fewer processes, then fewer slots, within 10% of the best", () => {
    const r = choose([result("process 2", "process", 2, 1, 200), result("process 4", "process", 4, 1, 210), result("thread 1x8", "thread", 1, 8, 195)]);
    expect(r.recommended?.label).toBe("thread 1x8");
    expect(r.reasons[1]).toContain("fewer processes");
    const slots = choose([result("thread 1x4", "thread", 1, 4, 300), result("thread 1x8", "thread", 1, 8, 310)]);
    expect(slots.recommended?.label).toBe("thread 1x4");
  });

  it("ignores skipped and empty configurations", () => {
    const skipped = { ...result("thread 1x4", "thread", 1, 4, 0), skipped: "not thread-safe" };
    expect(choose([skipped]).recommended).toBeUndefined();
    expect(choose([skipped, result("process 1", "process", 1, 1, 50)]).recommended?.label).toBe("process 1");
  });

  it("labels configurations", () => {
    expect(configLabel({ profile: "process", size: 2 })).toBe("process 2");
    expect(configLabel({ profile: "thread", size: 1, threadsPerWorker: 8 })).toBe("thread 1x8");
  });
});
