import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { rmSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SNAKEPIT_EVENTS, SnakepitError, type PoolControl, type PoolPlugin } from "@snakepit/core";
import { fixturePool, isAlive, SHOWCASE } from "./helpers.js";

/** A plugin that hands its control object to the test. */
function grab(): { plugin: PoolPlugin; control: () => PoolControl } {
  let control: PoolControl | undefined;
  return {
    plugin: { name: "grab", attach: (c) => void (control = c) },
    control: () => control!,
  };
}

describe("pool.health()", () => {
  it("reports every worker's memory, measured on the Python process, even while it is busy", async () => {
    await using pool = await fixturePool(SHOWCASE, { size: 2 });
    const busy = pool.execute("cpu_burn", { n: 3_000_000 });
    // Health is answered beside the running call (on a thread of its own).
    await expect.poll(async () => (await pool.health()).some((h) => h.activeCalls === 1), { timeout: 5_000 }).toBe(true);
    const health = await pool.health();
    expect(health).toHaveLength(2);
    for (const h of health) {
      expect(h.status).toBe("serving");
      expect(h.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
      expect(h.pssBytes).toBeGreaterThan(0);
      expect(h.pssBytes).toBeLessThanOrEqual(h.rssBytes);
    }
    await busy;
  });
});

describe("idempotent calls", () => {
  it("are retried once on another worker after a crash", async () => {
    await using pool = await fixturePool("snakepit_fixtures.crash:CrashAdapter", { size: 2 });
    // crash_once crashes the first worker that runs it, then succeeds.
    const marker = `/tmp/snakepit-crash-once-${process.pid}-${Date.now()}`;
    await expect(pool.execute("crash_once", { marker })).rejects.toMatchObject({ code: "worker_crashed" });
    rmSync(marker, { force: true });
    const marker2 = `${marker}-b`;
    expect(await pool.execute("crash_once", { marker: marker2 }, { idempotent: true })).toBe("survived");
  });
});

describe("the plugin seam", () => {
  it("killWorker fails the running call with the given error and replaces the worker", async () => {
    const g = grab();
    await using pool = await fixturePool("snakepit_fixtures.hang:HangAdapter", { size: 1, plugins: [g.plugin] });
    const [before] = pool.stats().perWorker;
    const call = pool.execute("hang");
    await expect.poll(() => pool.stats().inFlight).toBe(1);
    g.control().killWorker(before!.id, { reason: "hung", error: new SnakepitError("deadline_exceeded", "stuck") });
    await expect(call).rejects.toMatchObject({ code: "deadline_exceeded", message: "stuck" });
    await expect.poll(() => pool.stats().workers, { timeout: 10_000 }).toBe(1);
    expect(pool.stats().perWorker[0]!.id).not.toBe(before!.id);
    await expect.poll(() => isAlive(before!.pid!)).toBe(false);
  });

  it("onClaim with recycleWorker gives an exact cap on requests per worker", async () => {
    const g = grab();
    await using pool = await fixturePool(SHOWCASE, { size: 1, plugins: [g.plugin] });
    const served = new Map<string, number>();
    g.control().onClaim((id, n) => {
      served.set(id, n);
      if (n >= 3) void g.control().pool.recycleWorker(id, { reason: "max_requests", drain: "now" });
    });
    const pids = [];
    for (let i = 0; i < 7; i++) pids.push((await pool.execute<{ pid: number }>("whoami")).pid);
    expect(new Set(pids).size).toBe(3);
    expect([...served.values()].every((n) => n <= 3)).toBe(true);
    expect(pool.stats().recycles).toBeGreaterThanOrEqual(2);
  });

  it("setDegraded fails callers at once and publishes degraded/recovered", async () => {
    const g = grab();
    await using pool = await fixturePool(SHOWCASE, { size: 1, plugins: [g.plugin] });
    const events: string[] = [];
    const on = (name: string) => () => events.push(name);
    const d = on("degraded");
    const r = on("recovered");
    subscribe(SNAKEPIT_EVENTS.poolDegraded, d);
    subscribe(SNAKEPIT_EVENTS.poolRecovered, r);
    try {
      g.control().setDegraded(new SnakepitError("worker_start_failed", "cannot start"), "crash loop");
      await expect(pool.execute("noop")).rejects.toMatchObject({ code: "worker_start_failed" });
      expect(pool.stats().degraded?.reason).toBe("crash loop");
      g.control().setDegraded(undefined);
      expect(await pool.execute("add", { a: 1, b: 1 })).toBe(2);
    } finally {
      unsubscribe(SNAKEPIT_EVENTS.poolDegraded, d);
      unsubscribe(SNAKEPIT_EVENTS.poolRecovered, r);
    }
    expect(events).toEqual(["degraded", "recovered"]);
  });
});

describe("recycleWorker", () => {
  it("replaces a worker under load without failing a call, and the pool never runs short", async () => {
    await using pool = await fixturePool(SHOWCASE, { size: 2 });
    let stop = false;
    let failures = 0;
    let done = 0;
    let minLive = Infinity;
    const load = Promise.all(
      [0, 1, 2, 3].map(async () => {
        while (!stop) {
          await pool.execute("sleep", { seconds: 0.01 }).then(
            () => done++,
            // A failure can come at once (a microtask): yield, so the loop never starves the timers.
            () => new Promise((r) => setImmediate(r, failures++)),
          );
          const s = pool.stats();
          minLive = Math.min(minLive, s.workers + s.starting);
        }
      }),
    );
    for (const w of pool.stats().perWorker) await pool.recycleWorker(w.id, { reason: "manual" });
    stop = true;
    await load;
    expect(failures).toBe(0);
    expect(done).toBeGreaterThan(10);
    expect(minLive).toBeGreaterThanOrEqual(2);
    expect(pool.stats().recycles).toBe(2);
    expect(pool.stats().workers).toBe(2);
  });
});

describe("recycleWorker when the replacement cannot start", () => {
  it("keeps the old worker serving (drain when replaced), and recycles it once starts work again", async () => {
    const flag = `/tmp/snakepit-fail-flag-${process.pid}-${Date.now()}`;
    await using pool = await fixturePool("snakepit_fixtures.flaky_setup:FlakySetupAdapter", {
      size: 1,
      python: { adapter: "snakepit_fixtures.flaky_setup:FlakySetupAdapter", env: { SNAKEPIT_FIXTURE_FAIL_FILE: flag } },
    });
    const [old] = pool.stats().perWorker;
    writeFileSync(flag, "fail");
    try {
      await pool.recycleWorker(old!.id, { reason: "manual" });
      expect(pool.stats()).toMatchObject({ workers: 1 });
      expect(pool.stats().perWorker[0]!.id).toBe(old!.id);
      expect(await pool.execute("ping")).toBe("pong");
    } finally {
      rmSync(flag, { force: true });
    }
    await pool.recycleWorker(old!.id, { reason: "manual" });
    expect(pool.stats().perWorker.map((w) => w.id)).not.toContain(old!.id);
    expect(await pool.execute("ping")).toBe("pong");
  });
});
