import { availableParallelism } from "node:os";
// The thread profile against real Python workers: calls really run at the same
// time, capacity is per thread, native thread pools are capped, unsafe adapters
// are refused, and the worker's thread-safety checks reach the pool's log.
import { describe, expect, it } from "vitest";
import { SnakepitError, type Pool } from "@snakepit/core";
import { fixturePool, recordingLogger, rejectionOf, SHOWCASE } from "./helpers.js";

const THREADED = "snakepit_bridge.adapters.threaded_showcase:ThreadedShowcaseAdapter";
const RACY = "snakepit_fixtures.thread_check:RacyCounter";
const SQLITE = "snakepit_fixtures.thread_check:SqliteTools";
const NATIVE_THREAD_VARS = ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"];

/** Start `n` calls of sleep(seconds) and keep track of which have settled. */
function sleeps(pool: Pool, n: number, seconds: number) {
  let settled = 0;
  const calls = Array.from({ length: n }, () => pool.execute<number>("sleep", { seconds }).finally(() => void settled++));
  return { all: Promise.all(calls), settled: () => settled };
}

describe("the thread profile", () => {
  it("runs 4 sleeps at once on 1 worker x 4 threads (this fails if calls are serialised)", async () => {
    await using pool = await fixturePool(SHOWCASE, { profile: "thread", threadsPerWorker: 4 });
    expect(pool.stats()).toMatchObject({ workers: 1, capacity: 4 });
    await pool.execute("noop"); // the first call pays for connection set-up
    const started = performance.now();
    const slept = await Promise.all(Array.from({ length: 4 }, () => pool.execute<number>("sleep", { seconds: 0.5 })));
    const elapsedMs = performance.now() - started;
    expect(slept.every((s) => s >= 0.49)).toBe(true);
    // One after another would take at least 4 x 0.5 s = 2 s; at the same time, 0.5 s plus overhead.
    expect(elapsedMs).toBeLessThan(1_500);
    const who = await Promise.all(Array.from({ length: 4 }, () => pool.execute<{ pid: number }>("whoami")));
    expect(new Set(who.map((w) => w.pid)).size).toBe(1); // one process did all of it
  });

  it("answers health while every thread is busy", async () => {
    await using pool = await fixturePool(SHOWCASE, { profile: "thread", threadsPerWorker: 2 });
    const busy = sleeps(pool, 2, 1.5);
    await expect.poll(() => pool.stats().perWorker[0]?.load).toBe(2);
    // Both calls are claimed in Node at once; wait until the worker has begun both.
    await expect.poll(async () => (await pool.health({ timeoutMs: 1_000 }))[0]?.activeCalls, { timeout: 1_000 }).toBe(2);
    const [health] = await pool.health({ timeoutMs: 1_000 });
    expect(busy.settled()).toBe(0); // answered while both sleeps were still running
    expect(health).toMatchObject({ status: "serving", activeCalls: 2, capacity: 2 });
    expect(health?.pssBytes).toBeGreaterThan(0);
    await busy.all;
  });

  it("sends each call to the least-loaded worker and queues only when all capacity is used", async () => {
    await using pool = await fixturePool(SHOWCASE, { profile: "thread", size: 2, threadsPerWorker: 2 });
    expect(pool.stats()).toMatchObject({ workers: 2, capacity: 4 });
    expect(pool.stats().perWorker.map((w) => w.capacity)).toEqual([2, 2]);

    const two = sleeps(pool, 2, 0.8);
    await expect.poll(() => pool.stats().inFlight).toBe(2);
    expect(pool.stats().perWorker.map((w) => w.load)).toEqual([1, 1]); // spread, not stacked
    await two.all;

    const five = sleeps(pool, 5, 0.8);
    await expect.poll(() => pool.stats().inFlight).toBe(4);
    const stats = pool.stats();
    expect(stats.perWorker.map((w) => w.load)).toEqual([2, 2]);
    expect(stats.queued).toBe(1); // the fifth waits for a free thread
    expect(stats.busy).toBe(2);
    await five.all;
    expect(pool.stats()).toMatchObject({ inFlight: 0, queued: 0 });
  });

  it("caps native thread pools at 1 per tool thread (process profile: a share of the cores) unless python.env says otherwise", async () => {
    const shared = (size: number) => Object.fromEntries(NATIVE_THREAD_VARS.map((k) => [k, process.env[k] ?? String(Math.max(1, Math.floor(availableParallelism() / size)))]));
    const capped = Object.fromEntries(NATIVE_THREAD_VARS.map((k) => [k, process.env[k] ?? "1"]));
    {
      await using pool = await fixturePool(THREADED, { profile: "thread", threadsPerWorker: 2 });
      expect(await pool.execute("native_threads")).toEqual(capped);
    }
    {
      const env = { OMP_NUM_THREADS: "3", OPENBLAS_NUM_THREADS: "2" };
      await using pool = await fixturePool(THREADED, { profile: "thread", threadsPerWorker: 2, python: { adapter: THREADED, env } });
      expect(await pool.execute("native_threads")).toEqual({ ...capped, ...env });
    }
    {
      // The process profile: each of its size workers gets cores / size (at least 1).
      await using pool = await fixturePool(THREADED, { profile: "process", size: 1 });
      expect(await pool.execute("native_threads")).toEqual(shared(1));
    }
    {
      await using pool = await fixturePool(THREADED, { profile: "process", size: 3, python: { adapter: THREADED, env: { MKL_NUM_THREADS: "5" } } });
      expect(await pool.execute("native_threads")).toEqual({ ...shared(3), MKL_NUM_THREADS: "5" });
    }
  });

  it("refuses an adapter that does not declare itself thread-safe, with a clear error", async () => {
    const err = await rejectionOf(fixturePool("snakepit_fixtures.basic:EchoAdapter", { profile: "thread", threadsPerWorker: 2 }));
    expect(err).toBeInstanceOf(SnakepitError);
    expect(err["code"]).toBe("worker_start_failed");
    expect(err.message).toContain("snakepit_fixtures.basic:EchoAdapter does not declare itself thread-safe");
    expect(err.message).toContain("allowUnsafeAdapters: true");
  });

  it("runs an undeclared adapter when allowUnsafeAdapters is true", async () => {
    await using pool = await fixturePool("snakepit_fixtures.basic:EchoAdapter", {
      profile: "thread",
      threadsPerWorker: 2,
      allowUnsafeAdapters: true,
    });
    const { worker } = await pool.describe();
    expect(worker).toMatchObject({ adapterThreadSafe: false, threads: 2 });
    expect(await pool.execute("add", { a: 1, b: 2 })).toBe(3);
  });

  it("runs the three thread-safe patterns of the threaded showcase concurrently", async () => {
    await using pool = await fixturePool(THREADED, { profile: "thread", threadsPerWorker: 4 });
    const [info, ...digests] = await Promise.all([
      pool.execute<{ setups: number; blob_bytes: number }>("setup_info"),
      ...Array.from({ length: 4 }, () => pool.execute<string>("digest_blob", { rounds: 1 })),
    ]);
    expect(info).toMatchObject({ setups: 1, blob_bytes: 4 * 1024 * 1024 });
    expect(new Set(digests).size).toBe(1);
    const clients = await Promise.all(
      Array.from({ length: 8 }, () => pool.execute<{ thread: string; client: number }>("thread_client", { work_seconds: 0.05 })),
    );
    const owner = new Map<number, string>();
    for (const c of clients) {
      expect(owner.get(c.client) ?? c.thread).toBe(c.thread);
      owner.set(c.client, c.thread);
    }
    const counted = await Promise.all(Array.from({ length: 8 }, () => pool.execute<number>("increment", { key: "k", pause: 0.01 })));
    expect([...counted].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await pool.execute("counts")).toEqual({ k: 8 });
  });
});

describe("the worker's thread-safety checks", () => {
  it("logs the handshake's warning about an imported library the compat matrix flags", async () => {
    const logger = recordingLogger();
    await using pool = await fixturePool(SQLITE, { profile: "thread", threadsPerWorker: 2, logger });
    expect(await pool.execute("query")).toBe(2);
    const warnings = logger.lines.filter((l) => l.level === "warn" && l.message.startsWith("sqlite3 is imported in this worker"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toContain("conditional");
    expect(warnings[0]?.message).toContain("Open a connection per call");
    expect(warnings[0]?.fields).toMatchObject({ workerId: expect.stringMatching(/^default\/w\d+$/), pool: "default" });
  });

  it("has nothing to warn about with one tool thread per process", async () => {
    const logger = recordingLogger();
    await using pool = await fixturePool(SQLITE, { profile: "process", size: 1, logger });
    expect(await pool.execute("query")).toBe(2);
    expect(logger.lines.filter((l) => l.level === "warn")).toEqual([]);
  });

  it("strict check: a racing call into an unsafe adapter fails with a python_error naming adapter, method and threads", async () => {
    await using pool = await fixturePool(RACY, {
      profile: "thread",
      threadsPerWorker: 4,
      allowUnsafeAdapters: true,
      python: { adapter: RACY, env: { SNAKEPIT_THREAD_CHECK: "strict" } },
    });
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => pool.execute<number>("increment", { pause: 0.2 })));
    const refused = results.flatMap((r) => (r.status === "rejected" ? [r.reason as SnakepitError] : []));
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]).toMatchObject({ code: "python_error", pythonType: "snakepit_bridge.thread_safety.ThreadSafetyError" });
    expect(refused[0]?.message).toMatch(/concurrent calls into snakepit_fixtures\.thread_check\.RacyCounter/);
    expect(refused[0]?.message).toMatch(/'increment' was entered on thread \S+ while 'increment' on thread \S+ was running/);
    // The calls that ran, ran alone: no update was lost.
    expect(await pool.execute("value")).toBe(results.length - refused.length);
  });

  it("warn check: races reach the pool's log while the unlocked counter loses updates", async () => {
    const logger = recordingLogger();
    await using pool = await fixturePool(RACY, {
      profile: "thread",
      threadsPerWorker: 4,
      allowUnsafeAdapters: true,
      logger,
      python: { adapter: RACY, env: { SNAKEPIT_THREAD_CHECK: "warn" } },
    });
    await Promise.all(Array.from({ length: 4 }, () => pool.execute("increment", { pause: 0.2 })));
    expect(await pool.execute<number>("value")).toBeLessThan(4);
    await expect
      .poll(() =>
        logger.lines.some(
          (l) => l.fields?.["stream"] === "stderr" && l.message.includes("thread check: concurrent calls into snakepit_fixtures.thread_check.RacyCounter"),
        ),
      )
      .toBe(true);
  });
});
