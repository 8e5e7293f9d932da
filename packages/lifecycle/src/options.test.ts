import { describe, expect, it } from "vitest";
import { isSnakepitError } from "@snakepit/core";
import { LIFECYCLE_DEFAULTS, resolveLifecycleOptions } from "./options.js";

function issuesOf(input: unknown) {
  try {
    resolveLifecycleOptions(input);
  } catch (err) {
    if (isSnakepitError(err, "invalid_config")) return { message: err.message, issues: err.issues ?? [] };
    throw err;
  }
  throw new Error("expected invalid_config");
}

describe("resolveLifecycleOptions", () => {
  it("fills in the documented defaults", () => {
    expect(resolveLifecycleOptions({})).toEqual({
      maxRequests: undefined,
      maxRequestsJitter: 0,
      ttlMs: undefined,
      ttlJitterMs: 0,
      maxMemoryBytes: undefined,
      memoryMode: "growth",
      healthIntervalMs: 5_000,
      maxHealthMisses: 3,
      hardTimeoutMs: undefined,
      drainTimeoutMs: undefined,
      restartBackoffMs: 250,
      restartBackoffMaxMs: 15_000,
      maxStartFailures: 3,
    });
    expect(LIFECYCLE_DEFAULTS.memoryMode).toBe("growth");
  });

  it("defaults each jitter to a tenth of its limit, and keeps an explicit 0", () => {
    expect(resolveLifecycleOptions({ maxRequests: 10_000, ttlMs: 3_600_000 })).toMatchObject({ maxRequestsJitter: 1_000, ttlJitterMs: 360_000 });
    expect(resolveLifecycleOptions({ maxRequests: 10_000, maxRequestsJitter: 0 }).maxRequestsJitter).toBe(0);
  });

  it("accepts the issue's example as written", () => {
    const o = resolveLifecycleOptions({
      maxRequests: 10_000,
      maxRequestsJitter: 1_000,
      ttlMs: 3_600_000,
      maxMemoryBytes: 2 ** 30,
      healthIntervalMs: 2_000,
      hardTimeoutMs: 60_000,
    });
    expect(o).toMatchObject({ maxRequests: 10_000, maxRequestsJitter: 1_000, ttlMs: 3_600_000, maxMemoryBytes: 2 ** 30, healthIntervalMs: 2_000, hardTimeoutMs: 60_000 });
  });

  it("reports every problem at once, with paths", () => {
    const { message, issues } = issuesOf({ maxRequests: 0, ttlMs: -5, maxMemoryBytes: 100, memoryMode: "rss", healthIntervalMs: 1.5, maxRequestJitter: 3 });
    expect(issues.map((i) => i.path).sort()).toEqual(
      ["lifecycle.healthIntervalMs", "lifecycle.maxRequestJitter", "lifecycle.maxRequests", "lifecycle.memoryMode", "lifecycle.ttlMs"].sort(),
    );
    expect(message).toMatch(/^invalid lifecycle options \(5 problems\)/);
    expect(issues.find((i) => i.path === "lifecycle.maxRequestJitter")?.message).toBe("unknown option 'maxRequestJitter' (did you mean 'maxRequestsJitter'?)");
    expect(issues.find((i) => i.path === "lifecycle.memoryMode")?.message).toBe('memoryMode must be "growth" or "absolute"');
  });

  it("refuses options that would silently do nothing", () => {
    const { issues } = issuesOf({ maxRequestsJitter: 5, ttlJitterMs: 10, memoryMode: "absolute" });
    expect(issues.map((i) => i.message)).toEqual([
      "maxRequestsJitter has no effect without maxRequests",
      "ttlJitterMs has no effect without ttlMs",
      "memoryMode has no effect without maxMemoryBytes",
    ]);
  });

  it("checks the backoff bounds against each other, and the input's type", () => {
    expect(issuesOf({ restartBackoffMs: 1_000, restartBackoffMaxMs: 500 }).issues[0]?.path).toBe("lifecycle.restartBackoffMaxMs");
    expect(issuesOf(42).issues[0]).toEqual({ path: "lifecycle", message: "lifecycle options must be an object" });
  });

  it("lets healthIntervalMs be Infinity (no periodic checks), but not a hard timeout", () => {
    expect(resolveLifecycleOptions({ healthIntervalMs: Infinity }).healthIntervalMs).toBe(Infinity);
    expect(issuesOf({ hardTimeoutMs: Infinity }).issues[0]?.path).toBe("lifecycle.hardTimeoutMs");
  });
});
