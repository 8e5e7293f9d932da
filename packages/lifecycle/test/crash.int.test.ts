import { rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SNAKEPIT_EVENTS } from "@snakepit/core";
import { LIFECYCLE_EVENTS, lifecycle, lifecycleStats, type LifecycleRestartEvent } from "@snakepit/lifecycle";
import { CRASH, EventLog, FLAKY, eventually, fixturePool } from "./helpers.js";

describe("crashes", () => {
  it("are classified (segfault, abort, SIGKILL, exit code), keep the stderr tail, and restart with growing backoff", async () => {
    using log = new EventLog([LIFECYCLE_EVENTS.restart, SNAKEPIT_EVENTS.workerReady, SNAKEPIT_EVENTS.workerStarting]);
    await using pool = await fixturePool(CRASH, { size: 1, plugins: [lifecycle({ restartBackoffMs: 100 })] });
    log.pool = pool;
    const kinds: Array<[string, string, string | null]> = [
      ["segfault", "segfault", "SIGSEGV"],
      ["abort", "abort", "SIGABRT"],
      ["kill", "killed", "SIGKILL"],
      ["exit", "exit_code", null],
    ];
    const restarts: LifecycleRestartEvent[] = [];
    for (const [how, kind, signal] of kinds) {
      const ready = log.next(SNAKEPIT_EVENTS.workerReady);
      await expect(pool.execute("crash", { how, code: 7 })).rejects.toMatchObject({ code: "worker_crashed" });
      const r = await log.next<LifecycleRestartEvent>(LIFECYCLE_EVENTS.restart, (m) => !restarts.includes(m as never), 10_000, true);
      restarts.push(r);
      expect(r).toMatchObject({ reason: "crash", exit: { kind, signal }, requestsServed: 1, inFlight: 1 });
      if (how === "exit") expect(r.exit.exitCode).toBe(7);
      expect(r.stderrTail).toContain(`about to crash: ${how}`);
      expect(r.exit.description.length).toBeGreaterThan(10);
      await ready;
    }
    // Each crash came soon after its worker started: the restart delay doubles...
    expect(restarts.map((r) => r.nextStartDelayMs)).toEqual([100, 200, 400, 800]);
    // ...and the pool really waits that long before starting the replacement.
    const times = (channel: string) => log.events.filter((e) => e.channel === channel).map((e) => e.at);
    const restartAt = times(LIFECYCLE_EVENTS.restart);
    const startingAt = times(SNAKEPIT_EVENTS.workerStarting);
    expect(startingAt).toHaveLength(4);
    restarts.forEach((r, i) => expect(startingAt[i]! - restartAt[i]!).toBeGreaterThanOrEqual(r.nextStartDelayMs - 5));
    expect(lifecycleStats(pool).crashes).toMatchObject({ segfault: 1, abort: 1, killed: 1, exit_code: 1, signal: 0, clean: 0 });
    expect(lifecycleStats(pool).restarts.crash).toBe(4);
    expect(await pool.execute("ping")).toBe("pong");
  });

  it("an idempotent call is retried once on another worker after a crash", async () => {
    using log = new EventLog([LIFECYCLE_EVENTS.restart]);
    await using pool = await fixturePool(CRASH, { size: 2, plugins: [lifecycle({})] });
    log.pool = pool;
    const marker = join(tmpdir(), `snakepit-crash-once-${process.pid}-${Date.now()}`);
    try {
      expect(await pool.execute("crash_once", { marker }, { idempotent: true })).toBe("survived");
    } finally {
      await rm(marker, { force: true });
    }
    const r = await log.next<LifecycleRestartEvent>(LIFECYCLE_EVENTS.restart, () => true, 10_000, true);
    expect(r).toMatchObject({ reason: "crash", exit: { kind: "exit_code", exitCode: 9 } });
  });
});

describe("a crash loop (workers that cannot start)", () => {
  it("with the defaults, degrades the pool within 15 s; callers then get worker_start_failed with the traceback at once", async () => {
    const flag = join(tmpdir(), `snakepit-flaky-${process.pid}-${Date.now()}`);
    using log = new EventLog([SNAKEPIT_EVENTS.poolDegraded, SNAKEPIT_EVENTS.workerStartFailed, SNAKEPIT_EVENTS.workerExited]);
    await using pool = await fixturePool(FLAKY, { size: 1, python: { adapter: FLAKY, env: { SNAKEPIT_FIXTURE_FAIL_FILE: flag } }, plugins: [lifecycle()] });
    log.pool = pool;
    try {
      await writeFile(flag, "fail");
      const killedAt = Date.now();
      process.kill(pool.stats().perWorker[0]!.pid!, "SIGKILL");
      await log.next(SNAKEPIT_EVENTS.workerExited, () => true, 5_000, true);
      // A call made meanwhile waits for a worker; degraded mode fails it instead of letting it wait out queueTimeoutMs.
      const waiting = pool.execute("ping").then(
        () => undefined,
        (e: unknown) => e as Record<string, unknown>,
      );
      const degraded = await log.next(SNAKEPIT_EVENTS.poolDegraded, () => true, 15_000);
      const degradedAfter = Date.now() - killedAt;
      expect(degradedAfter).toBeLessThan(15_000);
      expect(log.of(SNAKEPIT_EVENTS.workerStartFailed).length).toBe(3);
      expect(degraded["reason"]).toBe("3 worker starts failed in a row");
      expect(await waiting).toMatchObject({ code: "worker_start_failed" });

      const asked = Date.now();
      const err = await pool.execute("ping").then(
        () => undefined,
        (e: unknown) => e as Record<string, unknown>,
      );
      expect(Date.now() - asked).toBeLessThan(1_000);
      expect(err).toMatchObject({ code: "worker_start_failed", pythonType: "RuntimeError" });
      expect(String(err?.["message"])).toContain("is degraded");
      expect(String(err?.["traceback"])).toContain("model store unavailable");
      expect(pool.stats().degraded?.error).toBe(err);
      expect(lifecycleStats(pool)).toMatchObject({ degraded: true, startFailures: { inARow: 3 } });
      console.log(`crash loop: degraded ${degradedAfter} ms after the last worker died`);
    } finally {
      await rm(flag, { force: true });
    }
  });

  it("keeps probing with backoff, and recovers when a start succeeds", async () => {
    const flag = join(tmpdir(), `snakepit-flaky-${process.pid}-${Date.now()}`);
    using log = new EventLog([SNAKEPIT_EVENTS.poolDegraded, SNAKEPIT_EVENTS.poolRecovered, SNAKEPIT_EVENTS.workerStartFailed]);
    await using pool = await fixturePool(FLAKY, {
      size: 1,
      python: { adapter: FLAKY, env: { SNAKEPIT_FIXTURE_FAIL_FILE: flag } },
      plugins: [lifecycle({ restartBackoffMs: 100, restartBackoffMaxMs: 400, maxStartFailures: 2 })],
    });
    log.pool = pool;
    try {
      await writeFile(flag, "fail");
      process.kill(pool.stats().perWorker[0]!.pid!, "SIGKILL");
      await log.next(SNAKEPIT_EVENTS.poolDegraded, () => true, 15_000);
      // Still trying while degraded.
      const failures = log.of(SNAKEPIT_EVENTS.workerStartFailed).length;
      await eventually(() => log.of(SNAKEPIT_EVENTS.workerStartFailed).length > failures, 10_000, "another start attempt");
      await rm(flag, { force: true });
      const recovered = await log.next(SNAKEPIT_EVENTS.poolRecovered, () => true, 15_000);
      expect(recovered["degradedMs"]).toBeGreaterThan(0);
      expect(pool.stats().degraded).toBeUndefined();
      expect(await pool.execute("ping")).toBe("pong");
      expect(lifecycleStats(pool)).toMatchObject({ degraded: false, startFailures: { inARow: 0 } });
    } finally {
      await rm(flag, { force: true });
    }
  });
});
