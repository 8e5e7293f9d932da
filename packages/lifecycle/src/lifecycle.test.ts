import { describe, expect, it } from "vitest";
import type { Pool } from "@snakepit/core";
import { lifecycle, lifecycleStats } from "./lifecycle.js";

describe("lifecycle()", () => {
  it("checks its options when called, before any pool starts", () => {
    expect(() => lifecycle({ maxRequests: -1, ttlMs: 0 })).toThrow(expect.objectContaining({ code: "invalid_config", issues: expect.any(Array) }));
  });

  it("is a named plugin carrying its resolved options", () => {
    const p = lifecycle({ maxRequests: 100 });
    expect(p.name).toBe("lifecycle");
    expect(p.options).toMatchObject({ maxRequests: 100, maxRequestsJitter: 10, healthIntervalMs: 5_000 });
  });
});

describe("lifecycleStats()", () => {
  it("says clearly when the pool has no lifecycle plugin", () => {
    const pool = { name: "api" } as Pool;
    expect(() => lifecycleStats(pool)).toThrow(expect.objectContaining({ code: "invalid_argument", message: expect.stringContaining("pool api has no lifecycle plugin") }));
  });
});
