import { expect, it } from "vitest";
import { backoffDelay, isFailedStart, START_GRACE_MS } from "./backoff.js";

it("restarts at once, then doubles up to the cap", () => {
  expect([0, 1, 2, 3, 4, 5, 6, 7, 100].map((n) => backoffDelay(n, 250, 15_000))).toEqual([
    0, 250, 500, 1_000, 2_000, 4_000, 8_000, 15_000, 15_000,
  ]);
});

it("counts a death as a failed start only before the worker answered a call, within the grace", () => {
  expect(isFailedStart({ uptimeMs: 100, requestsCompleted: 0 })).toBe(true);
  expect(isFailedStart({ uptimeMs: 100, requestsCompleted: 1 })).toBe(false);
  expect(isFailedStart({ uptimeMs: START_GRACE_MS, requestsCompleted: 0 })).toBe(false);
});
