import { describe, expect, it } from "vitest";
import { fixturePool, rejectionOf, SHOWCASE } from "./helpers.js";

describe("recycleWorker drainTimeoutMs", () => {
  it("bounds how long the old worker may finish its running call (instead of closeTimeoutMs)", async () => {
    await using pool = await fixturePool(SHOWCASE, { size: 1, closeTimeoutMs: 20_000 });
    const [old] = pool.stats().perWorker;
    const long = pool.execute("sleep", { seconds: 15 });
    await expect.poll(() => pool.stats().inFlight).toBe(1);
    const started = Date.now();
    await pool.recycleWorker(old!.id, { drainTimeoutMs: 300 });
    // 300 ms of drain plus the stop's own grace (2 s), far below closeTimeoutMs.
    expect(Date.now() - started).toBeLessThan(8_000);
    expect((await rejectionOf(long)).code).toBe("worker_crashed");
    expect(pool.stats().perWorker.map((w) => w.id)).not.toContain(old!.id);
    expect(await pool.execute("add", { a: 1, b: 2 })).toBe(3);
  });
});
