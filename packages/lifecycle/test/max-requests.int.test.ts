import { describe, expect, it } from "vitest";
import { SNAKEPIT_EVENTS } from "@snakepit/core";
import { lifecycle, lifecycleStats } from "@snakepit/lifecycle";
import { ECHO, EventLog, fixturePool } from "./helpers.js";

const SLOW_START = "snakepit_fixtures.slow_start:SlowStartAdapter";

/** Requests each worker (by pid) ran. */
function countByPid(pids: number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const p of pids) m.set(p, (m.get(p) ?? 0) + 1);
  return m;
}

describe("maxRequests", () => {
  it("replaces a worker at its limit, and it leaves rotation only once its replacement is ready (serving past the limit meanwhile)", async () => {
    using log = new EventLog([SNAKEPIT_EVENTS.workerRecycled]);
    await using pool = await fixturePool(ECHO, { size: 1, plugins: [lifecycle({ maxRequests: 5, maxRequestsJitter: 0 })] });
    log.pool = pool;
    const pids: number[] = [];
    let minReady = Infinity;
    let pastLimit = 0;
    const until = Date.now() + 15_000;
    while (new Set(pids).size < 4 && Date.now() < until) {
      pids.push((await pool.execute<{ pid: number }>("whoami")).pid);
      minReady = Math.min(minReady, pool.stats().workers);
      for (const w of lifecycleStats(pool).workers) pastLimit = Math.max(pastLimit, w.servedPastLimit);
    }
    const counts = countByPid(pids);
    expect(counts.size).toBeGreaterThanOrEqual(4);
    // A 1-worker pool is never without a ready worker, though each start takes longer than 5 calls.
    expect(minReady).toBe(1);
    expect(pastLimit).toBeGreaterThan(0);
    const recycled = log.of(SNAKEPIT_EVENTS.workerRecycled);
    expect(recycled.length).toBeGreaterThanOrEqual(3);
    for (const e of recycled) {
      expect(e).toMatchObject({ reason: "max_requests", detail: expect.objectContaining({ limit: 5 }) });
      expect(e["uptimeMs"]).toBeGreaterThanOrEqual(0);
    }
    const stats = lifecycleStats(pool);
    expect(stats.recycles["max_requests"]).toBe(recycled.length);
    const w = stats.workers.at(-1);
    expect(w?.requests).toMatchObject({ limit: 5 });
    expect(w?.nearest?.limit).toBe("requests");
  });

  it("with jitter, each worker draws its own limit in [max, max + jitter]; the first workers' limits are staggered below it", async () => {
    await using pool = await fixturePool(ECHO, { size: 4, plugins: [lifecycle({ maxRequests: 100, maxRequestsJitter: 50 })] });
    const limits = lifecycleStats(pool).workers.map((w) => w.requests!.limit);
    expect(limits).toHaveLength(4);
    // Worker i of the first set is staggered by i/4 of the limit, so they are replaced one after the other.
    limits.forEach((l, i) => {
      expect(l).toBeGreaterThanOrEqual(100 - 25 * i);
      expect(l).toBeLessThanOrEqual(150 - 25 * i);
    });
    const draws = limits.map((l, i) => l + 25 * i);
    // Four draws from 51 values: all equal would mean no jitter (chance 1 in 51^3).
    expect(new Set(draws).size).toBeGreaterThan(1);
  });

  it("replaces workers under continuous load without losing a request or running short", async () => {
    const SIZE = 2;
    const LIMIT = 50;
    const TOTAL = 3_000;
    await using pool = await fixturePool(ECHO, { size: SIZE, plugins: [lifecycle({ maxRequests: LIMIT, maxRequestsJitter: 0 })] });
    let issued = 0;
    let failed = 0;
    let minLive = Infinity;
    let minReady = Infinity;
    let maxInFlight = 0;
    const pids: number[] = [];
    const errors: unknown[] = [];
    const inFlight = new Set<Promise<void>>();
    const started = Date.now();
    const seen = new Set<number>();
    // At least TOTAL requests, and on until two replacements have served (however fast
    // calls are against a start-up): the load is what replaces the workers.
    const more = () => issued < TOTAL || (seen.size < SIZE + 2 && Date.now() - started < 30_000);
    while (more() || inFlight.size > 0) {
      // Keep between 4 and 8 requests in flight.
      const target = 4 + Math.floor(Math.random() * 5);
      while (inFlight.size < target && more()) {
        issued++;
        const p: Promise<void> = pool.execute<{ pid: number }>("whoami").then(
          (r) => {
            pids.push(r.pid);
            seen.add(r.pid);
          },
          (err: unknown) => {
            failed++;
            errors.push(err);
          },
        );
        const tracked = p.finally(() => inFlight.delete(tracked));
        inFlight.add(tracked);
      }
      maxInFlight = Math.max(maxInFlight, inFlight.size);
      await Promise.race(inFlight);
      const s = pool.stats();
      minLive = Math.min(minLive, s.workers + s.starting);
      minReady = Math.min(minReady, s.workers);
    }
    const elapsed = Date.now() - started;
    expect(errors).toEqual([]);
    expect(failed).toBe(0);
    expect(pids).toHaveLength(issued);
    expect(issued).toBeGreaterThanOrEqual(TOTAL);
    expect(maxInFlight).toBeGreaterThanOrEqual(4);
    expect(minLive).toBeGreaterThanOrEqual(SIZE);
    expect(minReady).toBeGreaterThanOrEqual(SIZE);
    const counts = countByPid(pids);
    expect(counts.size).toBeGreaterThanOrEqual(SIZE + 2);
    expect(lifecycleStats(pool).recycles["max_requests"]).toBeGreaterThanOrEqual(2);
    console.log(`load: ${issued} requests in ${elapsed} ms over ${counts.size} workers; min ready ${minReady}, ready+starting ${minLive}`);
  }, 60_000);

  it("keeps size workers ready under load though each start takes seconds (sampled every 25 ms)", async () => {
    const SIZE = 2;
    await using pool = await fixturePool(SLOW_START, {
      size: SIZE,
      startTimeoutMs: 20_000,
      python: { adapter: SLOW_START, env: { SNAKEPIT_FIXTURE_START_DELAY: "1.5" } },
      plugins: [lifecycle({ maxRequests: 300 })],
    });
    let minReady = Infinity;
    let samples = 0;
    let maxPastLimit = 0;
    const sampler = setInterval(() => {
      samples++;
      minReady = Math.min(minReady, pool.stats().workers);
      for (const w of lifecycleStats(pool).workers) maxPastLimit = Math.max(maxPastLimit, w.servedPastLimit);
    }, 25);
    let failed = 0;
    let done = 0;
    try {
      const until = Date.now() + 7_000;
      // 8 callers in a loop: the load under which the replacements start.
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (Date.now() < until) {
            try {
              await pool.execute("ping");
              done++;
            } catch {
              failed++;
            }
          }
        }),
      );
    } finally {
      clearInterval(sampler);
    }
    const recycles = lifecycleStats(pool).recycles["max_requests"] ?? 0;
    console.log(`slow start: ${done} calls, ${recycles} recycles, ${samples} samples, min ready ${minReady}, most served past a limit ${maxPastLimit}`);
    expect(failed).toBe(0);
    expect(samples).toBeGreaterThan(100);
    expect(recycles).toBeGreaterThanOrEqual(2);
    expect(minReady).toBeGreaterThanOrEqual(SIZE);
  }, 60_000);
});
