/**
 * Pool faults that wedge a worker or lose data (issue 12), tested without
 * Python through an in-memory profile.
 */
import { describe, expect, it } from "vitest";
import { createPool, silentLogger, type Pool, type PoolOptions, type PoolPlugin } from "../src/index.js";
import { MAX_TIMER_DELAY_MS } from "../src/long-timer.js";
import { fakeProfile, startFailure, type FakeProfile } from "./fake-profile.js";
import { rejectionOf } from "./helpers.js";

function fakePool(profile: FakeProfile, extra: Partial<PoolOptions> = {}): Promise<Pool> {
  return createPool({ size: 1, profile, logger: silentLogger, python: { adapter: "fake.module:Fake" }, ...extra });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("capacity after a failure past the claim (item 5)", () => {
  it("accepts fractional timeoutMs (the deadline is rounded), and the worker is free afterwards", async () => {
    await using pool = await fakePool(fakeProfile());
    await expect(pool.execute("t", {}, { timeoutMs: 1500.5 })).resolves.toMatchObject({ tool: "t" });
    expect(pool.stats().perWorker[0]?.load).toBe(0);
  });

  it.each([
    ["signal", { signal: {} }, "options.signal must be an AbortSignal"],
    ["signal", { signal: "abort" }, "options.signal must be an AbortSignal"],
    ["timeoutMs", { timeoutMs: NaN }, "options.timeoutMs must be a positive number"],
    ["timeoutMs", { timeoutMs: -1 }, "options.timeoutMs must be a positive number"],
    ["timeoutMs", { timeoutMs: "100" }, "options.timeoutMs must be a positive number"],
    ["timeoutMs", { timeoutMs: 1e300 }, "pass Infinity for no deadline"],
    ["sessionId", { sessionId: {} }, "options.sessionId must be a non-empty string, not an object"],
    ["sessionId", { sessionId: true }, "options.sessionId must be a non-empty string, not boolean true"],
    ["sessionId", { sessionId: 42 }, "options.sessionId must be a non-empty string"],
    ["sessionId", { sessionId: Symbol("s") }, "not a symbol"],
    ["idempotent", { idempotent: "yes" }, "options.idempotent must be a boolean"],
  ])("rejects a bad %s up front with invalid_argument, and a 1-worker pool still serves", async (_what, options, message) => {
    await using pool = await fakePool(fakeProfile());
    const err = await rejectionOf(pool.execute("t", {}, options as never));
    expect(err).toMatchObject({ code: "invalid_argument" });
    expect(err.message).toContain(message);
    expect(pool.stats().perWorker[0]?.load).toBe(0);
    await expect(pool.execute("t", {}, { timeoutMs: 1_000 })).resolves.toMatchObject({ tool: "t" });
  });
});

describe("deadlines past 2^31-1 ms (item 6)", () => {
  it("a running call with a deadline beyond setTimeout's limit does not fail at once", async () => {
    await using pool = await fakePool(fakeProfile({ replyMs: 50 }));
    await expect(pool.execute("t", {}, { timeoutMs: MAX_TIMER_DELAY_MS + 1_000 })).resolves.toMatchObject({ tool: "t" });
    await expect(pool.execute("t", {}, { timeoutMs: 2 ** 40 })).resolves.toMatchObject({ tool: "t" });
  });

  it("a queued call with such a deadline waits its turn instead of failing at once", async () => {
    await using pool = await fakePool(fakeProfile({ replyMs: 50 }), { queueTimeoutMs: Infinity });
    const first = pool.execute("t");
    const queued = pool.execute("t", {}, { timeoutMs: MAX_TIMER_DELAY_MS * 3 });
    await expect(Promise.all([first, queued])).resolves.toHaveLength(2);
  });

  it("Infinity means no deadline", async () => {
    await using pool = await fakePool(fakeProfile({ replyMs: 20 }));
    await expect(pool.execute("t", {}, { timeoutMs: Infinity })).resolves.toMatchObject({ tool: "t" });
  });
});

describe("a worker the pool gave up on (item 7)", () => {
  it("takes no further call from the moment its connection is lost, before its exit is seen", async () => {
    // Its exit comes long after the kill, as with a process that takes time to die.
    const profile = fakeProfile({ exitAfterKillMs: 3_000 });
    await using pool = await fakePool(profile, { size: 2 });
    const [a] = profile.workers;
    a!.breakConnection();
    const seen: string[] = [];
    const errors: string[] = [];
    for (let i = 0; i < 10; i++) {
      try {
        seen.push(((await pool.execute("t")) as { worker: string }).worker);
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    // At most the one call that found out; every later one goes to the other worker.
    expect(errors.length).toBeLessThanOrEqual(1);
    expect(seen.filter((w) => w === a!.id)).toEqual([]);
    expect(pool.stats().perWorker.find((w) => w.id === a!.id)?.state).not.toBe("ready");
  }, 15_000);
});

describe("core's own restart policy (item 9)", () => {
  it("backs off a worker that crashes right after start, then goes degraded with the last failure", async () => {
    const traceback = ["Traceback (most recent call last):", "RuntimeError: CUDA device not found"];
    const profile = fakeProfile({ onReady: (w) => setTimeout(() => w.crash(traceback), 10) });
    await using pool = await fakePool(profile);
    await sleep(2_000);
    // Without a backoff this restarts every few ms, forever: hundreds of starts in 2 s.
    expect(profile.starts).toBeLessThanOrEqual(6);
    expect(pool.stats().degraded).toBeDefined();
    const t0 = Date.now();
    const err = await rejectionOf(pool.execute("t"));
    expect(Date.now() - t0).toBeLessThan(100);
    expect(err).toMatchObject({ code: "worker_start_failed" });
    expect(err.message).toContain("RuntimeError: CUDA device not found");
    expect(err["stderrTail"]).toEqual(traceback);
  }, 10_000);

  it("recovers once a worker starts and serves again", async () => {
    let broken = true;
    const profile = fakeProfile({ onReady: (w, n) => n > 1 && broken && setTimeout(() => w.crash(["boom"]), 5) });
    await using pool = await fakePool(profile);
    profile.workers[0]!.crash(["boom"]);
    await sleep(1_200);
    expect(pool.stats().degraded).toBeDefined();
    broken = false;
    await sleep(4_500);
    expect(pool.stats().degraded).toBeUndefined();
    await expect(pool.execute("t")).resolves.toMatchObject({ tool: "t" });
  }, 15_000);
});

describe("restarts after outside kills (item 11)", () => {
  it("a worker that served calls and was killed is not a failed start: its replacement starts at once, every time", async () => {
    const profile = fakeProfile();
    await using pool = await fakePool(profile);
    for (let i = 0; i < 6; i++) {
      await pool.execute("t");
      const w = profile.workers.at(-1)!;
      const killedAt = Date.now();
      const next = profile.starts + 1;
      w.crash([], "SIGKILL");
      while (profile.starts < next) await sleep(5);
      expect(profile.startTimes.at(-1)! - killedAt).toBeLessThan(150);
      while (pool.stats().workers < 1) await sleep(5);
    }
  }, 15_000);

  it("queued calls fail fast with the reason while a backoff longer than they may wait is pending", async () => {
    const profile = fakeProfile({ failStart: (n) => (n > 1 ? startFailure("ImportError: No module named 'torch'") : undefined) });
    await using pool = await fakePool(profile, { queueTimeoutMs: 600, defaultTimeoutMs: 60_000 });
    await pool.execute("t");
    profile.workers[0]!.crash(["Killed"], "SIGKILL");
    const t0 = Date.now();
    const err = await rejectionOf(pool.execute("t"));
    const took = Date.now() - t0;
    expect(err["code"]).toBe("worker_start_failed");
    expect(err.message).toContain("No module named 'torch'");
    expect(err["traceback"]).toContain("Traceback");
    expect(took).toBeLessThan(600);
  }, 10_000);
});

describe("calls never wait on a worker that is gone (item 12)", () => {
  it("a call claimed onto a worker whose exit is seen before the call is sent goes to another worker", async () => {
    let crashAtClaim = 0;
    const profile = fakeProfile({ deadSwallows: true });
    const crashOnClaim: PoolPlugin = {
      name: "crash-on-claim",
      attach(control) {
        control.onClaim((id) => {
          if (crashAtClaim-- !== 1) return;
          profile.workers.find((w) => w.id === id)?.crash([], "SIGKILL");
        });
      },
    };
    await using pool = await fakePool(profile, { size: 2, plugins: [crashOnClaim] });
    await pool.execute("t");
    crashAtClaim = 1;
    const t0 = Date.now();
    await expect(pool.execute("t", {}, { timeoutMs: 3_000 })).resolves.toMatchObject({ tool: "t" });
    expect(Date.now() - t0).toBeLessThan(1_000);
  });

  it("under random kills, no call ends in deadline_exceeded", async () => {
    const profile = fakeProfile({ replyMs: 2, startMs: 30 });
    await using pool = await fakePool(profile, { size: 2, defaultTimeoutMs: 5_000 });
    let stop = false;
    const killer = (async () => {
      while (!stop) {
        await sleep(50 + Math.random() * 100);
        const live = profile.workers.filter((w) => !w.dead);
        live[Math.floor(Math.random() * live.length)]?.crash([], "SIGKILL");
      }
    })();
    const codes = new Map<string, number>();
    let slowest = 0;
    try {
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next++ < 1_500) {
            const t0 = Date.now();
            try {
              await pool.execute("t");
            } catch (err) {
              const code = (err as { code?: string }).code ?? "?";
              codes.set(code, (codes.get(code) ?? 0) + 1);
            }
            slowest = Math.max(slowest, Date.now() - t0);
          }
        }),
      );
    } finally {
      stop = true;
      await killer;
    }
    expect(codes.get("deadline_exceeded") ?? 0).toBe(0);
    expect([...codes.keys()].every((c) => c === "worker_crashed" || c === "worker_start_failed")).toBe(true);
    expect(slowest).toBeLessThan(3_000);
  }, 30_000);
});
