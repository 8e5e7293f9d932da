import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SNAKEPIT_EVENTS } from "@snakepit/core";
import { lifecycle, lifecycleStats } from "@snakepit/lifecycle";
import { EventLog, LEAK, MiB, eventually, fixturePool, recordingLogger } from "./helpers.js";

/** PSS of a process as the kernel reports it, read from this side. */
function pssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("Pss:"));
  return Number(line!.split(/\s+/)[1]) * 1024;
}

describe("maxMemoryBytes", () => {
  it("growth mode: replaces a worker whose memory grew past the limit over its own start-up memory", async () => {
    using log = new EventLog([SNAKEPIT_EVENTS.workerRecycled]);
    await using pool = await fixturePool(LEAK, { size: 1, plugins: [lifecycle({ maxMemoryBytes: 60 * MiB, healthIntervalMs: 1_000 })] });
    log.pool = pool;
    const [first] = pool.stats().perWorker;
    await eventually(() => lifecycleStats(pool).workers[0]?.baselineBytes !== undefined, 5_000, "the start-up reading");
    expect(await pool.execute("leak", { mb: 30 })).toBe(30);
    // Measured on the Python process: the reading matches what the kernel says about that pid.
    await eventually(() => (lifecycleStats(pool).workers[0]?.memoryBytes ?? 0) > lifecycleStats(pool).workers[0]!.baselineBytes! + 25 * MiB);
    const w = lifecycleStats(pool).workers[0]!;
    expect(w.memoryMetric).toBe("pss");
    const kernel = pssOf(first!.pid!);
    expect(Math.abs(kernel - w.memoryBytes!)).toBeLessThan(5 * MiB);
    expect(w.memory!.limit).toBe(60 * MiB);
    expect(w.memory!.fraction).toBeGreaterThan(0.4);
    expect(w.memory!.fraction).toBeLessThan(1);
    expect(log.of(SNAKEPIT_EVENTS.workerRecycled)).toHaveLength(0);

    expect(await pool.execute("leak", { mb: 40 })).toBe(70);
    const e = await log.next(SNAKEPIT_EVENTS.workerRecycled, (m) => m["reason"] === "memory", 10_000, true);
    expect(e["workerId"]).toBe(first!.id);
    expect(e["requestsServed"]).toBe(2);
    const detail = e["detail"] as Record<string, unknown>;
    expect(detail).toMatchObject({ memoryMode: "growth", limitBytes: 60 * MiB, memoryMetric: "pss" });
    expect(detail["growthBytes"] as number).toBeGreaterThanOrEqual(60 * MiB);
    expect(detail["memoryBytes"]).toBe((detail["baselineBytes"] as number) + (detail["growthBytes"] as number));
    // The replacement starts fresh: nothing leaked yet.
    await eventually(() => pool.stats().perWorker.length === 1 && pool.stats().perWorker[0]!.id !== first!.id, 10_000, "the replacement");
    expect(await pool.execute("leak", { mb: 1 })).toBe(1);
    expect(lifecycleStats(pool).recycles["memory"]).toBe(1);
  });

  it("growth mode: a leak in the very first call is caught (the baseline is the worker's own reading before its first call)", async () => {
    using log = new EventLog([SNAKEPIT_EVENTS.workerRecycled]);
    await using pool = await fixturePool(LEAK, { size: 1, plugins: [lifecycle({ maxMemoryBytes: 60 * MiB, healthIntervalMs: 1_000 })] });
    log.pool = pool;
    // The baseline is there as soon as the pool is: the worker's handshake carried it.
    const w0 = pool.stats().perWorker[0]!;
    expect(lifecycleStats(pool).workers[0]?.baselineBytes).toBeGreaterThan(0);
    expect(lifecycleStats(pool).workers[0]?.baselineBytes).toBeLessThan(60 * MiB);
    expect(w0.id).toBeDefined();
    // No waiting for a start-up sample: the first call leaks past the limit at once.
    expect(await pool.execute("leak", { mb: 80 })).toBe(80);
    const e = await log.next(SNAKEPIT_EVENTS.workerRecycled, (m) => m["reason"] === "memory", 10_000, true);
    const detail = e["detail"] as Record<string, number>;
    expect(detail["baselineBytes"]!).toBeLessThan(60 * MiB);
    expect(detail["growthBytes"]!).toBeGreaterThanOrEqual(60 * MiB);
  });

  it("absolute mode: replaces a worker whose total passes the limit", async () => {
    using log = new EventLog([SNAKEPIT_EVENTS.workerRecycled]);
    await using pool = await fixturePool(LEAK, { size: 1, plugins: [lifecycle({ maxMemoryBytes: 150 * MiB, memoryMode: "absolute" })] });
    log.pool = pool;
    await eventually(() => lifecycleStats(pool).workers[0]?.baselineBytes !== undefined, 5_000, "the start-up reading");
    expect(lifecycleStats(pool).workers[0]!.baselineBytes!).toBeLessThan(100 * MiB);
    await pool.execute("leak", { mb: 160 });
    const e = await log.next(SNAKEPIT_EVENTS.workerRecycled, (m) => m["reason"] === "memory", 10_000, true);
    expect(e["detail"]).toMatchObject({ memoryMode: "absolute", thresholdBytes: 150 * MiB });
    expect((e["detail"] as Record<string, number>)["memoryBytes"]).toBeGreaterThanOrEqual(150 * MiB);
  });

  it("absolute mode: a worker born above the limit is kept (and a warning says so), not respawned forever", async () => {
    const logger = recordingLogger();
    using log = new EventLog([SNAKEPIT_EVENTS.workerRecycled, SNAKEPIT_EVENTS.workerStarting]);
    await using pool = await fixturePool(LEAK, {
      size: 1,
      logger,
      plugins: [lifecycle({ maxMemoryBytes: 1 * MiB, memoryMode: "absolute", healthIntervalMs: 200 })],
    });
    log.pool = pool;
    const [first] = pool.stats().perWorker;
    for (let i = 0; i < 5; i++) await pool.execute("leak", { mb: 1 });
    await eventually(() => logger.lines.some((l) => l.level === "warn" && l.message.includes("already above maxMemoryBytes")), 5_000, "the warning");
    // Several health checks later, still the same worker.
    const checks = lifecycleStats(pool).workers[0]!.healthChecks;
    await eventually(() => lifecycleStats(pool).workers[0]!.healthChecks >= checks + 3, 5_000, "more health checks");
    expect(log.of(SNAKEPIT_EVENTS.workerRecycled)).toEqual([]);
    expect(log.of(SNAKEPIT_EVENTS.workerStarting)).toEqual([]);
    expect(pool.stats().perWorker[0]!.id).toBe(first!.id);
    expect(lifecycleStats(pool).workers[0]!.memory!.fraction).toBeGreaterThan(1);
    expect(logger.lines.filter((l) => l.message.includes("already above maxMemoryBytes"))).toHaveLength(1);
  });
});
