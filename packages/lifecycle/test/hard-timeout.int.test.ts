import { describe, expect, it } from "vitest";
import { SNAKEPIT_EVENTS } from "@snakepit/core";
import { LIFECYCLE_EVENTS, lifecycle, lifecycleStats, type LifecycleRestartEvent } from "@snakepit/lifecycle";
import { EventLog, HANG, eventually, fixturePool, isAlive, recordingLogger } from "./helpers.js";

describe("hardTimeoutMs", () => {
  it("kills the worker running a stuck call; the call fails with deadline_exceeded; the worker is replaced", async () => {
    using log = new EventLog([SNAKEPIT_EVENTS.workerRecycled, LIFECYCLE_EVENTS.restart]);
    await using pool = await fixturePool(HANG, { size: 1, plugins: [lifecycle({ hardTimeoutMs: 1_000 })] });
    log.pool = pool;
    const [stuck] = pool.stats().perWorker;
    const started = Date.now();
    // hang() ignores cancellation: only killing its worker ends it.
    await expect(pool.execute("hang")).rejects.toMatchObject({
      code: "deadline_exceeded",
      tool: "hang",
      message: expect.stringContaining("hardTimeoutMs (1000 ms)"),
    });
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(1_000);
    expect(took).toBeLessThan(5_000);
    expect(log.of(SNAKEPIT_EVENTS.workerRecycled)).toMatchObject([
      { reason: "hard_timeout", workerId: stuck!.id, detail: expect.objectContaining({ tool: "hang", hardTimeoutMs: 1_000 }) },
    ]);
    const restart = await log.next<LifecycleRestartEvent>(LIFECYCLE_EVENTS.restart, () => true, 10_000, true);
    expect(restart).toMatchObject({ reason: "hard_timeout", exit: { kind: "killed", signal: "SIGKILL" } });
    await eventually(() => !isAlive(stuck!.pid!), 5_000, "the stuck worker to die");
    expect(await pool.execute("spin", { seconds: 0.05 })).toBeGreaterThan(0);
    expect(pool.stats().perWorker[0]!.id).not.toBe(stuck!.id);
    expect(lifecycleStats(pool).restarts.hard_timeout).toBe(1);
  });

  it("counts from when the worker starts the call, not from when it was queued; long but healthy calls are untouched", async () => {
    using log = new EventLog([SNAKEPIT_EVENTS.workerRecycled]);
    await using pool = await fixturePool(HANG, { size: 1, plugins: [lifecycle({ hardTimeoutMs: 1_400 })] });
    log.pool = pool;
    const started = Date.now();
    // One worker: the second call waits ~0.8 s in the queue, then runs 0.8 s: 1.6 s after it was made, 0.8 s of running.
    const [a, b] = await Promise.all([pool.execute<number>("spin", { seconds: 0.8 }), pool.execute<number>("spin", { seconds: 0.8 })]);
    expect(Date.now() - started).toBeGreaterThan(1_400);
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);
    expect(log.events).toEqual([]);
  });

  it("is not applied where a worker runs several calls at once (thread profile), and a warning says so", async () => {
    const logger = recordingLogger();
    using log = new EventLog([SNAKEPIT_EVENTS.workerRecycled]);
    await using pool = await fixturePool(HANG, {
      profile: "thread",
      threadsPerWorker: 2,
      allowUnsafeAdapters: true,
      logger,
      plugins: [lifecycle({ hardTimeoutMs: 300 })],
    });
    log.pool = pool;
    expect(logger.lines.some((l) => l.level === "warn" && l.message.includes("hardTimeoutMs is not applied"))).toBe(true);
    expect(await pool.execute<number>("spin", { seconds: 0.8 })).toBeGreaterThan(0);
    expect(log.events).toEqual([]);
  });
});
