import { rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SNAKEPIT_EVENTS, type Pool } from "@snakepit/core";
import { lifecycle, lifecycleStats, recycleAll } from "@snakepit/lifecycle";
import { ECHO, EventLog, FLAKY, HANG, eventually, fixturePool, isAlive } from "./helpers.js";

/** Calls whoami in `loops` loops until stopped; counts outcomes and the fewest ready + starting workers seen. */
function load(pool: Pool, loops: number) {
  const r = { ok: 0, failed: 0, errors: [] as unknown[], minLive: Infinity, pids: new Set<number>(), stop: false };
  const done = Promise.all(
    Array.from({ length: loops }, async () => {
      while (!r.stop) {
        await pool.execute<{ pid: number }>("whoami").then(
          (x) => {
            r.ok++;
            r.pids.add(x.pid);
          },
          (err: unknown) => {
            r.failed++;
            r.errors.push(err);
          },
        );
        const s = pool.stats();
        r.minLive = Math.min(r.minLive, s.workers + s.starting);
        await new Promise((res) => setTimeout(res, 2));
      }
    }),
  );
  return { r, stop: async () => ((r.stop = true), await done, r) };
}

/** Recycled and exited events for the pool, in order, as "recycled:id" / "exited:id". */
function sequence(log: EventLog): string[] {
  return log.events.map((e) => `${e.channel === SNAKEPIT_EVENTS.workerRecycled ? "recycled" : "exited"}:${String(e.message["workerId"])}`);
}

describe("ttlMs", () => {
  it("replaces workers by age, one at a time, while calls keep succeeding", async () => {
    using log = new EventLog([SNAKEPIT_EVENTS.workerRecycled, SNAKEPIT_EVENTS.workerExited]);
    await using pool = await fixturePool(ECHO, { size: 2, plugins: [lifecycle({ ttlMs: 700, ttlJitterMs: 300 })] });
    log.pool = pool;
    const first = pool.stats().perWorker.map((w) => w.id);
    const running = load(pool, 3);
    // Wait until both original workers have been replaced for age.
    for (const id of first) await log.next(SNAKEPIT_EVENTS.workerExited, (m) => m["workerId"] === id, 15_000, true);
    const r = await running.stop();
    expect(r.errors).toEqual([]);
    expect(r.ok).toBeGreaterThan(20);
    expect(r.minLive).toBeGreaterThanOrEqual(2);
    const ttl = log.of(SNAKEPIT_EVENTS.workerRecycled).filter((e) => e["reason"] === "ttl");
    expect(ttl.length).toBeGreaterThanOrEqual(2);
    for (const e of ttl) {
      const detail = e["detail"] as Record<string, number>;
      expect(detail["ttlMs"]).toBeGreaterThanOrEqual(700);
      expect(detail["ttlMs"]).toBeLessThanOrEqual(1000);
      expect(e["uptimeMs"]).toBeGreaterThanOrEqual(700);
      expect(detail["memoryMetric"]).toMatch(/^(pss|rss)$/);
      expect(detail["memoryBytes"]).toBeGreaterThan(1024 * 1024);
    }
    // Rolling: the first worker had stopped before the second was taken out.
    const seq = sequence(log);
    const [a, b] = ttl.map((e) => String(e["workerId"]));
    expect(seq.indexOf(`exited:${a}`)).toBeGreaterThan(-1);
    expect(seq.indexOf(`exited:${a}`)).toBeLessThan(seq.indexOf(`recycled:${b}`));
    expect(lifecycleStats(pool).recycles["ttl"]).toBe(ttl.length);
  });
});

describe("recycleAll", () => {
  it("replaces every worker in turn, each replacement ready before the next, losing no call", async () => {
    using log = new EventLog([SNAKEPIT_EVENTS.workerRecycled, SNAKEPIT_EVENTS.workerExited]);
    await using pool = await fixturePool(ECHO, { size: 3, plugins: [lifecycle({})] });
    log.pool = pool;
    const before = pool.stats().perWorker.map((w) => w.pid!);
    const running = load(pool, 4);
    const result = await recycleAll(pool);
    const r = await running.stop();
    expect(result.recycled).toBe(3);
    expect(r.errors).toEqual([]);
    expect(r.minLive).toBeGreaterThanOrEqual(3);
    const after = pool.stats().perWorker.map((w) => w.pid!);
    expect(after).toHaveLength(3);
    for (const pid of after) expect(before).not.toContain(pid);
    for (const pid of before) expect(isAlive(pid)).toBe(false);
    // One at a time: recycled a, exited a, recycled b, exited b, ...
    const seq = sequence(log);
    expect(seq.filter((s) => s.startsWith("recycled:")).length).toBe(3);
    expect(seq).toEqual(seq.map((_, i) => (i % 2 === 0 ? seq[i] : `exited:${seq[i - 1]!.slice("recycled:".length)}`)));
    expect(log.of(SNAKEPIT_EVENTS.workerRecycled).every((e) => e["reason"] === "manual")).toBe(true);
  });

  it("stops at the first replacement that cannot start, and says why", async () => {
    const flag = join(tmpdir(), `snakepit-flaky-${process.pid}-${Date.now()}`);
    using log = new EventLog([SNAKEPIT_EVENTS.workerRecycled]);
    await using pool = await fixturePool(FLAKY, {
      size: 2,
      python: { adapter: FLAKY, env: { SNAKEPIT_FIXTURE_FAIL_FILE: flag } },
      plugins: [lifecycle({ maxStartFailures: 100 })],
    });
    log.pool = pool;
    const [, second] = pool.stats().perWorker;
    await writeFile(flag, "fail");
    try {
      const err = await recycleAll(pool).then(
        () => undefined,
        (e: unknown) => e as Record<string, unknown>,
      );
      expect(err).toMatchObject({ code: "worker_start_failed", pythonType: "RuntimeError" });
      expect(String(err?.["traceback"])).toContain("model store unavailable");
      // Only the first worker was touched; the second still serves.
      expect(log.of(SNAKEPIT_EVENTS.workerRecycled)).toHaveLength(1);
      expect(pool.stats().perWorker.find((w) => w.id === second!.id)?.state).toBe("ready");
      expect(await pool.execute("ping")).toBe("pong");
    } finally {
      await rm(flag, { force: true });
    }
  });

  it("gives a worker being replaced drainTimeoutMs to finish its calls, no longer", async () => {
    await using pool = await fixturePool(HANG, { size: 1, closeTimeoutMs: 20_000, plugins: [lifecycle({ drainTimeoutMs: 300 })] });
    const stuck = pool.execute("hang").then(
      () => undefined,
      (e: unknown) => e,
    );
    await eventually(() => pool.stats().inFlight === 1, 5_000, "the call to start");
    const started = Date.now();
    expect(await recycleAll(pool)).toEqual({ recycled: 1 });
    // 300 ms of drain, then the stop's own 2 s grace before SIGKILL: far below closeTimeoutMs (20 s).
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(await stuck).toMatchObject({ code: "worker_crashed" });
    expect(await pool.execute("spin", { seconds: 0.01 })).toBeGreaterThan(0);
  });
});
