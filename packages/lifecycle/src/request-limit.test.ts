import { describe, expect, it } from "vitest";
import { drawLimit, replacementLead } from "./request-limit.js";

describe("drawLimit", () => {
  it("stays within [base, base + jitter], both ends included", () => {
    expect(drawLimit(100, 10, () => 0)).toBe(100);
    expect(drawLimit(100, 10, () => 0.999999)).toBe(110);
    expect(drawLimit(100, 0, () => 0.999999)).toBe(100);
  });

  it("spreads workers over the range", () => {
    const seen = new Set(Array.from({ length: 2000 }, () => drawLimit(50, 5)));
    expect([...seen].sort()).toEqual([50, 51, 52, 53, 54, 55]);
  });
});

describe("replacementLead", () => {
  it("is about one start-up time of requests at the worker's rate", () => {
    // 100 requests in 1 s, a worker takes 300 ms to start: start 45 early (30, and half again).
    expect(replacementLead(10_000, 100, 1_000, 300)).toBe(45);
  });

  it("may be the whole limit (start at once: a slow start-up must not run the pool short), and 0 without a rate", () => {
    expect(replacementLead(50, 40, 10, 1_000)).toBe(50);
    expect(replacementLead(2_000, 1_000, 500, 3_000)).toBe(2_000);
    expect(replacementLead(50, 0, 10, 1_000)).toBe(0);
    expect(replacementLead(50, 10, 0, 1_000)).toBe(0);
  });
});
