import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { describe, expect, it } from "vitest";
import { createSnakepit, SNAKEPIT_EVENTS, SnakepitError } from "@snakepit/core";
import { fixtureOptions, SHOWCASE } from "./helpers.js";

describe("createSnakepit: several named pools", () => {
  it("starts each pool with its own options and closes them together", async () => {
    const { name: _a, ...api } = fixtureOptions(SHOWCASE, { size: 2 });
    const { name: _b, ...batch } = fixtureOptions("snakepit_fixtures.basic:EchoAdapter", { size: 1 });
    const snakepit = await createSnakepit({ pools: { api, batch } });
    try {
      expect(await snakepit.pool("api").execute("add", { a: 2, b: 2 })).toBe(4);
      expect(await snakepit.pool("batch").execute("echo", { value: [1, 2] })).toEqual([1, 2]);
      expect(snakepit.pool("api").name).toBe("api");
      expect(snakepit.stats()["api"]?.workers).toBe(2);
      expect(() => snakepit.pool("apii")).toThrowError(expect.objectContaining({ code: "unknown_pool", message: expect.stringContaining("did you mean 'api'") }));
    } finally {
      await snakepit.close();
    }
    expect(snakepit.pool("api").state()).toBe("stopped");
    expect(snakepit.pool("batch").state()).toBe("stopped");
  });

  it("reports every problem in every pool at once", () => {
    let err: unknown;
    try {
      void createSnakepit({
        pools: {
          a: { size: 0, python: { adapter: "m:C" } },
          b: { python: { adapter: "bad spec" }, queueTimeoutMss: 5 } as never,
        },
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SnakepitError);
    const e = err as SnakepitError;
    expect(e.code).toBe("invalid_config");
    expect(e.issues?.map((i) => i.path).sort()).toEqual(["pools.a.size", "pools.b.python.adapter", "pools.b.queueTimeoutMss"]);
    expect(e.message).toContain("did you mean 'queueTimeoutMs'");
  });

  it("a pool that cannot start leaves no other pool running", async () => {
    const { name: _a, ...good } = fixtureOptions(SHOWCASE, { size: 1 });
    const { name: _b, ...bad } = fixtureOptions("snakepit_fixtures.broken_import:BrokenAdapter");
    await expect(createSnakepit({ pools: { good, bad } })).rejects.toMatchObject({ code: "worker_start_failed" });
  });
});

describe("events on node:diagnostics_channel", () => {
  it("publishes the request and worker lifecycle", async () => {
    const seen: Array<[string, Record<string, unknown>]> = [];
    const names = Object.values(SNAKEPIT_EVENTS);
    const handlers = names.map((n) => [n, (m: unknown) => seen.push([n, m as Record<string, unknown>])] as const);
    for (const [n, h] of handlers) subscribe(n, h);
    try {
      const { name: _n, ...opts } = fixtureOptions(SHOWCASE, { size: 1, maxQueue: 0 });
      const snakepit = await createSnakepit({ pools: { ev: opts } });
      const pool = snakepit.pool("ev");
      await pool.execute("add", { a: 1, b: 2 });
      await pool.execute("fail", {}).catch(() => {});
      const running = pool.execute("sleep", { seconds: 0.2 });
      await pool.execute("noop").catch(() => {}); // maxQueue 0: refused, pool saturated
      await running;
      await snakepit.close();
    } finally {
      for (const [n, h] of handlers) unsubscribe(n, h);
    }
    const kinds = seen.filter(([, m]) => m["poolName"] === "ev").map(([n]) => n);
    for (const n of [
      SNAKEPIT_EVENTS.workerStarting,
      SNAKEPIT_EVENTS.workerReady,
      SNAKEPIT_EVENTS.poolCreated,
      SNAKEPIT_EVENTS.requestStarted,
      SNAKEPIT_EVENTS.requestFinished,
      SNAKEPIT_EVENTS.poolSaturated,
      SNAKEPIT_EVENTS.workerExited,
      SNAKEPIT_EVENTS.poolClosed,
    ]) {
      expect(kinds, n).toContain(n);
    }
    const finished = seen.filter(([n, m]) => n === SNAKEPIT_EVENTS.requestFinished && m["poolName"] === "ev").map(([, m]) => m);
    expect(finished.map((m) => [m["tool"], m["outcome"], m["errorCode"]])).toEqual([
      ["add", "ok", undefined],
      ["fail", "error", "python_error"],
      ["noop", "error", "queue_full"],
      ["sleep", "ok", undefined],
    ]);
    const exited = seen.find(([n, m]) => n === SNAKEPIT_EVENTS.workerExited && m["poolName"] === "ev")?.[1];
    expect(exited?.["expected"]).toBe(true);
  });
});
