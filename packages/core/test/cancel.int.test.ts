import { describe, expect, it } from "vitest";
import { fixturePool, rejectionOf } from "./helpers.js";

const CANCEL = "snakepit_fixtures.cancel:CancelAdapter";

describe("cancellation", () => {
  it("an already-aborted signal rejects before anything happens", async () => {
    await using pool = await fixturePool(CANCEL);
    const err = await rejectionOf(pool.execute("state", { marker: "x" }, { signal: AbortSignal.abort("no") }));
    expect(err).toMatchObject({ code: "aborted" });
    expect(pool.stats()).toMatchObject({ completed: 0, failed: 0 });
  });

  it("aborting a running call cancels it in Python", async () => {
    await using pool = await fixturePool(CANCEL);
    const ac = new AbortController();
    const call = pool.execute("wait_for_cancel", { marker: "sync", timeout: 10 }, { signal: ac.signal });
    await expect.poll(() => pool.stats().inFlight).toBe(1);
    await new Promise((r) => setTimeout(r, 100));
    ac.abort(new Error("user gave up"));
    const err = await rejectionOf(call);
    expect(err).toMatchObject({ code: "aborted" });
    expect(err.message).toContain("user gave up");
    await expect.poll(() => pool.execute("state", { marker: "sync" }), { timeout: 5_000 }).toBe("cancelled");
  });

  it("aborting a running async tool cancels its coroutine", async () => {
    await using pool = await fixturePool(CANCEL);
    const ac = new AbortController();
    const call = pool.execute("async_wait_for_cancel", { marker: "async", timeout: 10 }, { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 200));
    ac.abort();
    await expect(call).rejects.toMatchObject({ code: "aborted" });
    await expect.poll(() => pool.execute("state", { marker: "async" }), { timeout: 5_000 }).toBe("cancelled");
  });

  it("an aborted queued call leaves the queue and never runs", async () => {
    await using pool = await fixturePool(CANCEL, { size: 1 });
    const running = pool.execute("wait_for_cancel", { marker: "blocker", timeout: 0.5 });
    const ac = new AbortController();
    const queued = pool.execute("wait_for_cancel", { marker: "queued", timeout: 0.1 }, { signal: ac.signal });
    await expect.poll(() => pool.stats().queued).toBe(1);
    ac.abort();
    await expect(queued).rejects.toMatchObject({ code: "aborted" });
    expect(pool.stats().queued).toBe(0);
    expect(await running).toBe("timeout");
    expect(await pool.execute("state", { marker: "queued" })).toBeNull();
  });

  it("an aborted call keeps its worker's slot until Python has stopped it", async () => {
    await using pool = await fixturePool(CANCEL, { size: 1 });
    const ac = new AbortController();
    const call = pool.execute("wait_for_cancel", { marker: "slot", timeout: 10 }, { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 100));
    ac.abort();
    await expect(call).rejects.toMatchObject({ code: "aborted" });
    // The next call runs on the same single worker, after the cancelled one ended.
    expect(await pool.execute("state", { marker: "slot" })).toBe("cancelled");
  });

  it("leaving a stream early closes the Python generator", async () => {
    await using pool = await fixturePool(CANCEL);
    const seen: number[] = [];
    for await (const i of pool.stream<number>("stream_until_closed", { marker: "gen", n: 1000, delay: 0.01 })) {
      seen.push(i);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual([0, 1, 2]);
    await expect.poll(() => pool.execute("state", { marker: "gen" }), { timeout: 5_000 }).toBe("closed");
    expect(pool.stats().failed).toBe(0);
  });

  it("a stream runs to the end when read to the end", async () => {
    await using pool = await fixturePool(CANCEL);
    const seen: number[] = [];
    for await (const i of pool.stream<number>("stream_until_closed", { marker: "full", n: 5, delay: 0 })) seen.push(i);
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(await pool.execute("state", { marker: "full" })).toBe("finished");
  });

  it("streams queue like any other call", async () => {
    await using pool = await fixturePool(CANCEL, { size: 1 });
    const blocker = pool.execute("wait_for_cancel", { marker: "b2", timeout: 0.3 });
    const seen: number[] = [];
    for await (const i of pool.stream<number>("stream_until_closed", { marker: "queued-stream", n: 3, delay: 0 })) seen.push(i);
    expect(seen).toEqual([0, 1, 2]);
    expect(await blocker).toBe("timeout");
  });
});
