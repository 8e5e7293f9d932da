import { describe, expect, it } from "vitest";
import { eventually, fixturePool, liveWorkerPids } from "./helpers.js";

const ECHO = "snakepit_fixtures.basic:EchoAdapter";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("calls during a storm of outside kills", () => {
  it("no call waits on a worker that is gone: none ends in deadline_exceeded, none takes much longer than a restart", async () => {
    const TIMEOUT_MS = 5_000;
    await using pool = await fixturePool(ECHO, { size: 2, defaultTimeoutMs: TIMEOUT_MS });
    let killing = true;
    let kills = 0;
    const killer = (async () => {
      const until = Date.now() + 5_000;
      while (Date.now() < until) {
        await sleep(200 + Math.random() * 200);
        // As an outside killer would: SIGKILL one of the pool's Python processes at
        // random, starting ones included.
        const pids = liveWorkerPids();
        const victim = pids[Math.floor(Math.random() * pids.length)];
        if (victim === undefined) continue;
        try {
          process.kill(victim, "SIGKILL");
          kills++;
        } catch {
          /* already gone */
        }
      }
      killing = false;
    })();
    const codes = new Map<string, number>();
    let calls = 0;
    let slowest = 0;
    // Bounded by the clock as well as the flag: a degraded pool fails calls at once, in a
    // microtask, and a loop of those alone would never let the killer's timer run.
    const stopBy = Date.now() + 20_000;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while ((killing || calls < 3_000) && Date.now() < stopBy) {
          calls++;
          const t0 = performance.now();
          try {
            await pool.execute("noop");
          } catch (err) {
            const code = (err as { code?: string }).code ?? String(err);
            codes.set(code, (codes.get(code) ?? 0) + 1);
            // As a service would between requests: let timers and I/O run.
            await new Promise((r) => setImmediate(r));
          }
          slowest = Math.max(slowest, performance.now() - t0);
        }
      }),
    );
    await killer;
    console.log(`kill storm: ${calls} calls, ${kills} kills, failures ${JSON.stringify(Object.fromEntries(codes))}, slowest ${Math.round(slowest)} ms`);
    expect(kills).toBeGreaterThanOrEqual(10);
    expect(codes.get("deadline_exceeded") ?? 0).toBe(0);
    // A kill fails the calls on that worker; one that lands during a start may fail queued calls fast (with the reason).
    for (const code of codes.keys()) expect(["worker_crashed", "worker_start_failed"]).toContain(code);
    // A call hit by a kill fails within the 2 s the pool waits for the exit; one that waits for a restart, within a start-up.
    expect(slowest).toBeLessThan(3_000);
    // Kills that land between ready and the first answer count as failed starts and may
    // leave the pool degraded for a backoff; once the storm is over it serves again.
    await eventually(() => pool.stats().degraded === undefined && pool.stats().workers > 0, 15_000, "the pool to recover after the storm");
    await pool.execute("noop");
  }, 60_000);
});
