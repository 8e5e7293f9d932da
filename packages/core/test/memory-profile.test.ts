/** The in-memory profile: the pool's semantics with JavaScript tools, no Python. */
import { describe, expect, it } from "vitest";
import { createPool, silentLogger, type PoolOptions } from "../src/index.js";
import { memoryProfile, type MemoryTool } from "../src/profile.js";
import { rejectionOf } from "./helpers.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function memoryPool(tools: Record<string, MemoryTool>, extra: Partial<PoolOptions> = {}, capacity = 1) {
  return createPool({ size: 1, profile: memoryProfile({ tools, capacity }), logger: silentLogger, python: { adapter: "test:Memory" }, ...extra });
}

describe("memoryProfile", () => {
  it("runs JavaScript tools with the wire's values: bytes stay bytes, nothing returned is null", async () => {
    await using pool = await memoryPool({
      add: ({ a, b }) => (a as number) + (b as number),
      echo: async ({ data }) => data,
      nothing: () => undefined,
    });
    expect(await pool.execute("add", { a: 2, b: 1.5 })).toBe(3.5);
    expect(await pool.execute("nothing")).toBeNull();
    const bytes = new Uint8Array([0, 1, 255]);
    expect(await pool.execute("echo", { data: bytes })).toEqual(bytes);
    expect(pool.stats()).toMatchObject({ profile: "memory", completed: 3 });
  });

  it("describes its tools, so an unknown one is refused before it is sent, with a did-you-mean", async () => {
    await using pool = await memoryPool({ predict: () => 1 });
    const err = await rejectionOf(pool.execute("predcit"));
    expect(err).toMatchObject({ code: "unknown_tool", suggestions: ["predict"] });
  });

  it("reports a tool that throws as python_error with its type and message", async () => {
    await using pool = await memoryPool({
      fail: () => {
        throw new RangeError("x out of range");
      },
    });
    const err = await rejectionOf(pool.execute("fail"));
    expect(err).toMatchObject({ code: "python_error", pythonType: "RangeError", message: expect.stringContaining("x out of range") });
  });

  it("ends a call at its deadline with deadline_exceeded, and the tool's signal says so", async () => {
    let toldToStop = false;
    await using pool = await memoryPool({
      slow: async (_args, ctx) => {
        ctx.signal.addEventListener("abort", () => (toldToStop = true));
        await sleep(2_000);
      },
      quick: () => "ok",
    });
    const t0 = Date.now();
    const err = await rejectionOf(pool.execute("slow", {}, { timeoutMs: 50 }));
    expect(err).toMatchObject({ code: "deadline_exceeded" });
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(toldToStop).toBe(true);
    expect(await pool.execute("quick")).toBe("ok");
  });

  it("aborts with the caller's signal", async () => {
    await using pool = await memoryPool({ wait: () => sleep(2_000) });
    const ac = new AbortController();
    const call = pool.execute("wait", {}, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error("user left")), 20);
    expect(await rejectionOf(call)).toMatchObject({ code: "aborted", message: "call wait was aborted: user left" });
  });

  it("streams an async generator's chunks; leaving early stops the generator", async () => {
    let stopped = false;
    await using pool = await memoryPool({
      count: async function* ({ n }, ctx) {
        ctx.signal.addEventListener("abort", () => (stopped = true));
        for (let i = 0; i < Number(n); i++) {
          yield i;
          await sleep(5);
        }
      },
    });
    const all: unknown[] = [];
    for await (const x of pool.stream("count", { n: 3 })) all.push(x);
    expect(all).toEqual([0, 1, 2]);
    for await (const x of pool.stream("count", { n: 100 })) if (x === 1) break;
    expect(stopped).toBe(true);
  });

  it("runs `capacity` calls at once per worker and queues the rest", async () => {
    let running = 0;
    let most = 0;
    await using pool = await memoryPool(
      {
        work: async () => {
          most = Math.max(most, ++running);
          await sleep(30);
          running--;
        },
      },
      {},
      2,
    );
    await Promise.all(Array.from({ length: 6 }, () => pool.execute("work")));
    expect(most).toBe(2);
    expect(pool.stats().capacity).toBe(2);
  });

  it("recycles a worker: the replacement serves, the old one is gone", async () => {
    await using pool = await memoryPool({ who: (_a, ctx) => ctx.workerId });
    const first = await pool.execute("who");
    await pool.recycleWorker(String(first), { reason: "manual" });
    const second = await pool.execute("who");
    expect(second).not.toBe(first);
    expect(pool.stats().recycles).toBe(1);
  });

  it("refuses a bad capacity at once", () => {
    expect(() => memoryProfile({ tools: {}, capacity: 0 })).toThrow("capacity must be a positive integer");
  });
});
