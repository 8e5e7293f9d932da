import { describe, expect, it } from "vitest";
import { SNAKEPIT_EVENTS } from "@snakepit/core";
import { LIFECYCLE_EVENTS, lifecycle, lifecycleStats, type LifecycleRestartEvent } from "@snakepit/lifecycle";
import { ECHO, EventLog, HANG, eventually, fixturePool, isAlive } from "./helpers.js";

describe("health checks", () => {
  it("declare a stopped worker (SIGSTOP) hung after N misses, kill it with SIGKILL and replace it", async () => {
    using log = new EventLog([SNAKEPIT_EVENTS.workerRecycled, LIFECYCLE_EVENTS.restart]);
    await using pool = await fixturePool(ECHO, { size: 1, plugins: [lifecycle({ healthIntervalMs: 300, maxHealthMisses: 3 })] });
    log.pool = pool;
    const [stuck] = pool.stats().perWorker;
    await eventually(() => (lifecycleStats(pool).workers[0]?.healthChecks ?? 0) >= 1, 5_000, "a first health check");
    const stoppedAt = Date.now();
    process.kill(stuck!.pid!, "SIGSTOP");
    try {
      // A call that lands on the stopped worker: it is idempotent, so it is retried on the replacement.
      const call = pool.execute<{ pid: number }>("whoami", {}, { idempotent: true });
      const recycled = await log.next(SNAKEPIT_EVENTS.workerRecycled, (m) => m["reason"] === "hung", 15_000);
      const detectedMs = Date.now() - stoppedAt;
      expect(recycled).toMatchObject({ workerId: stuck!.id, detail: expect.objectContaining({ misses: 3, healthIntervalMs: 300 }) });
      // Three misses of 300 ms each: about a second; generously bounded.
      expect(detectedMs).toBeGreaterThanOrEqual(800);
      expect(detectedMs).toBeLessThan(8_000);
      const restart = await log.next<LifecycleRestartEvent>(LIFECYCLE_EVENTS.restart, () => true, 10_000, true);
      expect(restart).toMatchObject({ reason: "hung", workerId: stuck!.id, exit: { kind: "killed", signal: "SIGKILL" } });
      expect((await call).pid).not.toBe(stuck!.pid);
      expect(isAlive(stuck!.pid!)).toBe(false);
      expect(lifecycleStats(pool).restarts.hung).toBe(1);
    } finally {
      // Never leave a stopped process behind if the test fails before the kill.
      if (isAlive(stuck!.pid!)) process.kill(stuck!.pid!, "SIGKILL");
    }
  });

  it("a worker busy in a GIL-holding loop still answers, and is not touched", async () => {
    using log = new EventLog([SNAKEPIT_EVENTS.workerRecycled, LIFECYCLE_EVENTS.restart]);
    await using pool = await fixturePool(HANG, { size: 1, plugins: [lifecycle({ healthIntervalMs: 300, maxHealthMisses: 3 })] });
    log.pool = pool;
    const [w] = pool.stats().perWorker;
    await eventually(() => (lifecycleStats(pool).workers[0]?.healthChecks ?? 0) >= 1, 5_000, "a first health check");
    const before = lifecycleStats(pool).workers[0]!.healthChecks;
    const count = await pool.execute<number>("spin", { seconds: 2 });
    expect(count).toBeGreaterThan(0);
    const during = lifecycleStats(pool).workers[0]!.healthChecks - before;
    // About 6 checks in 2 s, all answered while the tool spun.
    expect(during).toBeGreaterThanOrEqual(4);
    expect(lifecycleStats(pool).workers[0]!.healthMisses).toBe(0);
    expect(log.events).toEqual([]);
    expect(pool.stats().perWorker[0]!.id).toBe(w!.id);
  });
});
