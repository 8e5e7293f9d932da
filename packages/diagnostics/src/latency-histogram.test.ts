import { describe, expect, it } from "vitest";
import { EMPTY_SUMMARY, LatencyHistogram } from "./latency-histogram.js";

describe("LatencyHistogram", () => {
  it("is all zeros while empty", () => {
    expect(new LatencyHistogram().summary()).toEqual(EMPTY_SUMMARY);
  });

  it("reports percentiles within the HDR histogram's precision, and an exact sum and mean", () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 1000; i++) h.record(i / 10); // 0.1 ms .. 100 ms
    const s = h.summary();
    expect(s.count).toBe(1000);
    expect(s.sumMs).toBeCloseTo(50_050, 6);
    expect(s.meanMs).toBeCloseTo(50.05, 6);
    expect(s.minMs).toBeCloseTo(0.1, 3);
    expect(s.maxMs).toBeCloseTo(100, 0);
    expect(s.p50Ms).toBeCloseTo(50, 0);
    expect(s.p90Ms).toBeCloseTo(90, 0);
    expect(s.p99Ms).toBeCloseTo(99, 0);
    expect(s.p50Ms).toBeLessThanOrEqual(s.p90Ms);
    expect(s.p95Ms).toBeLessThanOrEqual(s.p99Ms);
  });

  it("keeps sub-microsecond values (as 1 µs) and ignores nonsense", () => {
    const h = new LatencyHistogram();
    h.record(0);
    h.record(-1);
    h.record(Number.NaN);
    h.record(Infinity);
    expect(h.count).toBe(1);
    expect(h.summary().minMs).toBe(0.001);
  });
});
