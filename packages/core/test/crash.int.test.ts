import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { describe, expect, it } from "vitest";
import { SNAKEPIT_EVENTS, type WorkerReadyEvent } from "@snakepit/core";
import { fixturePool, isAlive, rejectionOf } from "./helpers.js";

const CRASH = "snakepit_fixtures.crash:CrashAdapter";

/** Resolves at the next worker-ready event of the named pool. */
function nextReady(poolName: string): Promise<WorkerReadyEvent> {
  return new Promise((resolve) => {
    const on = (m: unknown) => {
      const e = m as WorkerReadyEvent;
      if (e.poolName !== poolName) return;
      unsubscribe(SNAKEPIT_EVENTS.workerReady, on);
      resolve(e);
    };
    subscribe(SNAKEPIT_EVENTS.workerReady, on);
  });
}

describe("a worker that crashes mid-request", () => {
  it.each([
    ["exit", { exitCode: 7, signal: null }],
    ["segfault", { exitCode: null, signal: "SIGSEGV" }],
    ["abort", { exitCode: null, signal: "SIGABRT" }],
    ["kill", { exitCode: null, signal: "SIGKILL" }],
  ])("fails only that request (%s), then the pool is back at full size", async (how, expected) => {
    await using pool = await fixturePool(CRASH, { size: 2, name: `crash-${how}` });
    const before = pool.stats().perWorker.map((w) => w.pid);
    const replaced = nextReady(`crash-${how}`);
    const err = await rejectionOf(pool.execute("crash", { how, code: 7 }));
    expect(err).toMatchObject({ code: "worker_crashed", ...expected });
    expect((err["stderrTail"] as string[]).join("\n")).toContain(`about to crash: ${how}`);
    // The other worker keeps serving while the replacement starts.
    expect(await pool.execute("ping")).toBe("pong");
    const ready = await replaced;
    expect(before).not.toContain(ready.pid);
    await expect.poll(() => pool.stats().workers).toBe(2);
    expect(pool.stats().crashes).toBe(1);
    for (const pid of before) if (!pool.stats().perWorker.some((w) => w.pid === pid)) expect(isAlive(pid!)).toBe(false);
  });

  it("a neighbour's call is not harmed by a crash on another worker", async () => {
    await using pool = await fixturePool(CRASH, { size: 2 });
    const neighbour = pool.execute<string>("slow_ok", { seconds: 0.5 });
    await new Promise((r) => setTimeout(r, 50));
    await expect(pool.execute("crash", { how: "exit", code: 3 })).rejects.toMatchObject({ code: "worker_crashed", exitCode: 3 });
    expect(await neighbour).toBe("ok");
  });
});
