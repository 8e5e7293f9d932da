/** Outside kills (an OOM killer) must not grow the restart backoff (issue 12, item 11); no Python needed. */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { describe, expect, it } from "vitest";
import { createPool, silentLogger } from "@snakepit/core";
import { LIFECYCLE_EVENTS, lifecycle, type LifecycleRestartEvent } from "@snakepit/lifecycle";
import { fakeProfile } from "../../core/test/fake-profile.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("restart backoff under outside kills", () => {
  it("a worker that served calls and was SIGKILLed is not a failed start: the delay stays 0", async () => {
    const profile = fakeProfile();
    await using pool = await createPool({
      size: 1,
      profile,
      logger: silentLogger,
      python: { adapter: "fake.module:Fake" },
      plugins: [lifecycle({ restartBackoffMs: 250 })],
    });
    const delays: number[] = [];
    const onRestart = (m: unknown) => {
      const e = m as LifecycleRestartEvent;
      if (e.pool === pool) delays.push(e.nextStartDelayMs);
    };
    subscribe(LIFECYCLE_EVENTS.restart, onRestart);
    try {
      for (let i = 0; i < 6; i++) {
        await pool.execute("t");
        const next = profile.starts + 1;
        const killedAt = Date.now();
        profile.workers.at(-1)!.crash([], "SIGKILL");
        while (profile.starts < next) await sleep(5);
        expect(profile.startTimes.at(-1)! - killedAt).toBeLessThan(150);
        while (pool.stats().workers < 1) await sleep(5);
      }
    } finally {
      unsubscribe(LIFECYCLE_EVENTS.restart, onRestart);
    }
    expect(delays).toEqual([0, 0, 0, 0, 0, 0]);
  }, 15_000);

  it("a worker that dies at start-up, before answering a call, still backs off", async () => {
    const profile = fakeProfile({ onReady: (w, n) => n > 1 && setTimeout(() => w.crash(["boom"]), 5) });
    await using pool = await createPool({
      size: 1,
      profile,
      logger: silentLogger,
      python: { adapter: "fake.module:Fake" },
      plugins: [lifecycle({ restartBackoffMs: 100, maxStartFailures: 100 })],
    });
    const delays: number[] = [];
    const onRestart = (m: unknown) => {
      const e = m as LifecycleRestartEvent;
      if (e.pool === pool) delays.push(e.nextStartDelayMs);
    };
    subscribe(LIFECYCLE_EVENTS.restart, onRestart);
    try {
      await pool.execute("t");
      profile.workers[0]!.crash([], "SIGKILL");
      while (delays.length < 4) await sleep(10);
    } finally {
      unsubscribe(LIFECYCLE_EVENTS.restart, onRestart);
    }
    // The first death followed served calls (0); the ones after died at start-up.
    expect(delays.slice(0, 4)).toEqual([0, 100, 200, 400]);
  }, 15_000);
});
