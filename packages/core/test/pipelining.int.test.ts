import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SnakepitError, processProfile } from "../src/index.js";
import { fixturePool, rejectionOf } from "./helpers.js";

const PIPELINING = "snakepit_fixtures.pipelining:PipeliningAdapter";

interface Nap {
  tag: number;
  pid: number;
  at: number;
}

/** Calls of `nap` with no sleep, until the pool counts the tool as fast (pipelined under load). */
async function warmUp(pool: Awaited<ReturnType<typeof fixturePool>>): Promise<void> {
  for (let i = 0; i < 50; i++) await pool.execute("nap", {});
}

describe("pipelining under load (process profile, local transport)", () => {
  it("no call waits behind a long one while another worker is free: pipelined calls are withdrawn and run there", async () => {
    await using pool = await fixturePool(PIPELINING, { size: 2, name: "pipelining-withdraw" });
    await warmUp(pool);
    // A call of the fast tool that runs long, then a burst while it runs: some of the
    // burst is pipelined behind it before the other worker frees up.
    const slow = pool.execute<Nap>("nap", { ms: 2_000, tag: -1 });
    const burst = Array.from({ length: 24 }, (_, tag) => pool.execute<Nap>("nap", { tag }));
    await Promise.resolve();
    // Whether anything was pipelined depends on the machine (the tool must have counted
    // as fast) and the transport (only the local one pipelines); the rule holds either way.
    const pipelined = Math.max(...pool.stats().perWorker.map((w) => w.load)) > 1;
    const fast = await Promise.all(burst);
    const long = await slow;
    // Every fast call finished before the long one: none waited behind it.
    for (const r of fast) expect(r.at).toBeLessThan(long.at);
    if (pipelined) expect(pool.stats().resent).toBeGreaterThan(0); // some were taken back from behind it
  });

  it("calls pipelined on a worker that dies before they start run on another worker instead of failing", async () => {
    await using pool = await fixturePool(PIPELINING, { size: 2, name: "pipelining-death" });
    await warmUp(pool);
    // A call of the fast tool that kills its worker, with a burst pipelined behind it.
    const dying = rejectionOf(pool.execute("nap", { ms: 300, die: true }));
    const burst = Array.from({ length: 24 }, (_, tag) => pool.execute<Nap>("nap", { tag }));
    await Promise.resolve();
    const pipelined = Math.max(...pool.stats().perWorker.map((w) => w.load)) > 1;
    const results = await Promise.allSettled(burst);
    const err = await dying;
    expect(err).toMatchObject({ code: "worker_crashed", exitCode: 5 });
    // Only the call that was running when the worker died failed.
    const failed = results.filter((r) => r.status === "rejected");
    expect(failed.map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    expect(results.map((r) => (r as PromiseFulfilledResult<Nap>).value.tag)).toEqual(burst.map((_, i) => i));
    if (pipelined) expect(pool.stats().resent).toBeGreaterThan(0); // some had been pipelined behind the dying call
  });

  // With coalescing the worker's progress page says which calls it began; without, each
  // reply left before the next call started, so only the first open call can have begun.
  it.each([
    ["replies coalesced (progress page)", true],
    ["each reply before the next call", false],
  ])("a worker that dies mid-burst, %s: no call runs twice, and the calls it never began run elsewhere", async (_how, coalesceReplies) => {
    const dir = mkdtempSync(join(tmpdir(), "snakepit-burst-"));
    const log = join(dir, "runs.log");
    try {
      await using pool = await fixturePool(PIPELINING, { size: 2, name: "pipelining-burst-death", profile: processProfile({ coalesceReplies }) });
      for (let i = 0; i < 50; i++) await pool.execute("record", { log, tag: -1 - i });
      // One tick: calls alternate between the two workers, several beyond capacity on
      // each (the tool is fast). Call 5 ends its worker while calls before it on that
      // worker have run (their replies may still be held for one write) and calls after
      // it wait, unread or unbegun.
      const burst = Array.from({ length: 40 }, (_, tag) => pool.execute<number>("record", { log, tag, die: tag === 5 }));
      const results = await Promise.allSettled(burst);
      const runs = readFileSync(log, "utf8").trim().split("\n").map(Number).filter((t) => t >= 0);
      const ran = new Map<number, number>();
      for (const t of runs) ran.set(t, (ran.get(t) ?? 0) + 1);
      // Nothing ran twice: neither a call whose reply was lost with its worker nor the
      // dying call itself was sent again.
      expect([...ran].filter(([, n]) => n > 1)).toEqual([]);
      expect(pool.stats().crashes).toBe(1);
      results.forEach((r, tag) => {
        if (r.status === "fulfilled") {
          expect(r.value).toBe(tag);
          expect(ran.get(tag)).toBe(1);
        } else {
          // Only calls the dead worker had begun fail (each wrote its line first), as its crash;
          // the calls it held unread or unbegun ran on the other worker instead.
          expect(r.reason).toBeInstanceOf(SnakepitError);
          expect((r.reason as SnakepitError).code).toBe("worker_crashed");
          expect(ran.get(tag), `call ${tag} failed, but it never ran`).toBe(1);
        }
      });
      expect(results[5]!.status).toBe("rejected");
      // Most of the burst was not on the dying worker or came after the crash: far from all fail.
      expect(results.filter((r) => r.status === "fulfilled").length).toBeGreaterThan(30);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
