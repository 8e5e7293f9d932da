import { describe, expect, it } from "vitest";
import { SNAKEPIT_EVENTS } from "@snakepit/core";
import { lifecycle, lifecycleStats } from "@snakepit/lifecycle";
import { ECHO, EventLog, fixturePool } from "./helpers.js";

/** Requests each worker (by pid) ran. */
function countByPid(pids: number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const p of pids) m.set(p, (m.get(p) ?? 0) + 1);
  return m;
}

describe("maxRequests", () => {
  it("is a hard cap: no worker starts more than its limit, and each recycle says why", async () => {
    using log = new EventLog([SNAKEPIT_EVENTS.workerRecycled]);
    await using pool = await fixturePool(ECHO, { size: 1, plugins: [lifecycle({ maxRequests: 5, maxRequestsJitter: 0 })] });
    log.pool = pool;
    const pids: number[] = [];
    for (let i = 0; i < 17; i++) pids.push((await pool.execute<{ pid: number }>("whoami")).pid);
    const counts = countByPid(pids);
    expect(counts.size).toBeGreaterThanOrEqual(4);
    for (const n of counts.values()) expect(n).toBeLessThanOrEqual(5);
    const recycled = log.of(SNAKEPIT_EVENTS.workerRecycled);
    expect(recycled.length).toBeGreaterThanOrEqual(3);
    for (const e of recycled) {
      expect(e).toMatchObject({ reason: "max_requests", detail: expect.objectContaining({ limit: 5 }) });
      expect(e["requestsServed"]).toBeLessThanOrEqual(5);
      expect(e["uptimeMs"]).toBeGreaterThanOrEqual(0);
    }
    const stats = lifecycleStats(pool);
    expect(stats.recycles["max_requests"]).toBe(recycled.length);
    const w = stats.workers.find((x) => x.recycling === undefined);
    expect(w?.requests).toMatchObject({ limit: 5 });
    expect(w?.nearest?.limit).toBe("requests");
  });

  it("with jitter, each worker draws its own limit in [max, max + jitter]", async () => {
    await using pool = await fixturePool(ECHO, { size: 4, plugins: [lifecycle({ maxRequests: 100, maxRequestsJitter: 50 })] });
    const limits = lifecycleStats(pool).workers.map((w) => w.requests!.limit);
    expect(limits).toHaveLength(4);
    for (const l of limits) {
      expect(l).toBeGreaterThanOrEqual(100);
      expect(l).toBeLessThanOrEqual(150);
    }
    // Four draws from 51 values: all equal would mean no jitter (chance 1 in 51^3).
    expect(new Set(limits).size).toBeGreaterThan(1);
  });

  it("replaces workers under continuous load without losing a request or running short", async () => {
    const SIZE = 2;
    const LIMIT = 50;
    const TOTAL = 3_000;
    await using pool = await fixturePool(ECHO, { size: SIZE, plugins: [lifecycle({ maxRequests: LIMIT, maxRequestsJitter: 0 })] });
    let issued = 0;
    let failed = 0;
    let minLive = Infinity;
    let maxInFlight = 0;
    const pids: number[] = [];
    const errors: unknown[] = [];
    const inFlight = new Set<Promise<void>>();
    const started = Date.now();
    while (issued < TOTAL || inFlight.size > 0) {
      // Keep between 4 and 8 requests in flight.
      const target = 4 + Math.floor(Math.random() * 5);
      while (inFlight.size < target && issued < TOTAL) {
        issued++;
        const p: Promise<void> = pool.execute<{ pid: number }>("whoami").then(
          (r) => void pids.push(r.pid),
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
    }
    const elapsed = Date.now() - started;
    expect(errors).toEqual([]);
    expect(failed).toBe(0);
    expect(pids).toHaveLength(TOTAL);
    expect(maxInFlight).toBeGreaterThanOrEqual(4);
    expect(minLive).toBeGreaterThanOrEqual(SIZE);
    const counts = countByPid(pids);
    expect(Math.max(...counts.values())).toBeLessThanOrEqual(LIMIT);
    expect(counts.size).toBeGreaterThanOrEqual(TOTAL / LIMIT);
    expect(lifecycleStats(pool).recycles["max_requests"]).toBeGreaterThanOrEqual(TOTAL / LIMIT - SIZE);
    console.log(`load: ${TOTAL} requests in ${elapsed} ms over ${counts.size} workers; min ready+starting ${minLive}`);
  }, 60_000);
});
