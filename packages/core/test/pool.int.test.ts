import { statSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createPool, SnakepitError } from "@snakepit/core";
import { fixtureOptions, fixturePool, recordingLogger, SHOWCASE, TEST_TRANSPORT } from "./helpers.js";

describe("a pool of real Python workers", () => {
  it("executes tools and streams generators (the README example)", async () => {
    await using pool = await createPool(fixtureOptions(SHOWCASE, { profile: "process", size: 2 }));
    expect(await pool.execute("add", { a: 1, b: 2 })).toBe(3);
    const chunks: unknown[] = [];
    for await (const chunk of pool.stream("progress", { steps: 5 })) chunks.push(chunk);
    expect(chunks).toEqual([1, 2, 3, 4, 5].map((step) => ({ step, of: 5 })));
    expect(await pool.execute("async_add", { a: 20, b: 22 })).toBe(42);
  });

  it("runs calls on all workers at once", async () => {
    await using pool = await fixturePool(SHOWCASE, { size: 2 });
    const who = await Promise.all([0, 1].map(() => pool.execute<{ pid: number }>("whoami")));
    expect(who.every((w) => typeof w.pid === "number")).toBe(true);
    const stats = pool.stats();
    expect(stats).toMatchObject({ workers: 2, size: 2, idle: 2, busy: 0, completed: 2, failed: 0, queued: 0, state: "ready" });
    expect(new Set(stats.perWorker.map((w) => w.pid)).size).toBe(2);
  });

  it("round-trips values exactly: ints stay ints, bytes stay bytes", async () => {
    await using pool = await fixturePool("snakepit_fixtures.basic:EchoAdapter");
    const value = {
      int: 3,
      negative: -12,
      float: 1.5,
      bool: true,
      no: false,
      nil: null,
      text: "héllo ✓ 𝄞 \u0000 end",
      nested: { list: [1, "two", [3.25, { four: 4 }]], empty: {} },
      bytes: new Uint8Array([0, 1, 254, 255]),
    };
    const back = (await pool.execute("echo", { value })) as typeof value;
    expect(back).toEqual(value);
    expect(back.bytes).toBeInstanceOf(Uint8Array);
    const types = (await pool.execute("types")) as Record<string, unknown>;
    expect(Object.values(types).some((v) => typeof v === "bigint" && v === 2n ** 60n)).toBe(true);
    expect(Object.values(types).some((v) => v instanceof Uint8Array)).toBe(true);
    const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
    const res = (await pool.execute("echo", { value: big })) as Uint8Array;
    expect(res.byteLength).toBe(big.byteLength);
    expect(Buffer.compare(Buffer.from(res), Buffer.from(big))).toBe(0);
  });

  it("describes the adapter's tools with parameters, types and docs", async () => {
    await using pool = await fixturePool(SHOWCASE);
    const d = await pool.describe();
    const add = d.tools.find((t) => t.name === "add");
    expect(add).toMatchObject({ streaming: false, async: false, returns: "int" });
    expect(add?.doc).toMatch(/add/i);
    expect(add?.params.map((p) => [p.name, p.type, p.required])).toEqual([
      ["a", "int", true],
      ["b", "int", true],
    ]);
    const progress = d.tools.find((t) => t.name === "progress");
    expect(progress?.streaming).toBe(true);
    expect(progress?.params.find((p) => p.name === "steps")).toMatchObject({ required: false, default: 5 });
    expect(d.tools.find((t) => t.name === "async_add")?.async).toBe(true);
    expect(d.worker.pythonVersion).toMatch(/^3\.\d+\.\d+/);
    expect(d.worker.threads).toBe(1);
  });

  it("keeps a tool's print() out of the protocol and in the pool's log", async () => {
    const logger = recordingLogger();
    await using pool = await fixturePool("snakepit_fixtures.noisy:NoisyAdapter", { logger });
    expect(await pool.execute("chatter", { lines: 3 })).toBe("ok");
    expect(await pool.execute("chatter", { lines: 1 })).toBe("ok");
    await expect.poll(() => logger.lines.some((l) => l.fields?.["stream"] === "stdout" && l.message.includes('{"ready": true}'))).toBe(true);
    expect(logger.lines.some((l) => l.fields?.["stream"] === "stderr")).toBe(true);
  });

  it("prefers a session's own worker and falls back when it is busy", async () => {
    await using pool = await fixturePool(SHOWCASE, { size: 2 });
    const first = await pool.execute<{ pid: number }>("whoami", {}, { sessionId: "s1" });
    for (let i = 0; i < 5; i++) {
      expect((await pool.execute<{ pid: number }>("whoami", {}, { sessionId: "s1" })).pid).toBe(first.pid);
    }
    // Occupy the session's worker; the session's next call goes to the other one.
    const blocker = pool.execute("sleep", { seconds: 0.5 }, { sessionId: "s1" });
    const fallback = await pool.execute<{ pid: number }>("whoami", {}, { sessionId: "s1" });
    expect(fallback.pid).not.toBe(first.pid);
    await blocker;
  });

  it("keeps sockets in a private directory, made only for Connect workers", async () => {
    await using pool = await fixturePool(SHOWCASE);
    const d = await pool.describe();
    expect(d.worker.pid).toBeGreaterThan(0);
    const dir = (pool as unknown as { runtimeDir: { created: string | undefined } }).runtimeDir.created;
    if (TEST_TRANSPORT === "local") expect(dir).toBeUndefined();
    else expect(statSync(dir!).mode & 0o777).toBe(0o700);
  });

  it("rejects new calls once closed, and close is idempotent", async () => {
    const pool = await fixturePool(SHOWCASE);
    await Promise.all([pool.close(), pool.close()]);
    expect(pool.state()).toBe("stopped");
    const err = await pool.execute("add", { a: 1, b: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SnakepitError);
    expect((err as SnakepitError).code).toBe("pool_closed");
  });

  it("lets running calls finish on close, and fails queued ones with pool_closed", async () => {
    const pool = await fixturePool(SHOWCASE, { size: 1 });
    const running = pool.execute("sleep", { seconds: 0.3 });
    const queued = expect(pool.execute("add", { a: 1, b: 1 })).rejects.toMatchObject({ code: "pool_closed" });
    await new Promise((r) => setTimeout(r, 50));
    const closing = pool.close();
    expect(await running).toBeCloseTo(0.3, 1);
    await queued;
    await closing;
  });
});
