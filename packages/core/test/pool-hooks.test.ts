/**
 * Typed hooks, on the in-memory profile: a plugin's hooks see its own pool only,
 * headers added in onCallStart reach the worker (a diagnostics_channel
 * subscriber's do not: the channel is for observers), and a hook that throws is
 * logged and contained.
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { describe, expect, it } from "vitest";
import type { CallRequest } from "../src/gen/snakepit/worker/v1/worker_pb.js";
import { createPool, registerPoolHooks, SNAKEPIT_EVENTS, silentLogger, type PoolHooks, type PoolOptions, type PoolPlugin } from "../src/index.js";
import { fakeProfile, type FakeProfileOptions } from "./fake-profile.js";

function pluginWith(hooks: PoolHooks): PoolPlugin {
  return { name: "hooks", attach: (control) => control.addHooks(hooks) };
}

function fakePool(extra: Partial<PoolOptions> = {}, profile: FakeProfileOptions = {}) {
  return createPool({ size: 1, profile: fakeProfile(profile), logger: silentLogger, python: { adapter: "fake.module:Fake" }, ...extra });
}

describe("pool hooks", () => {
  it("calls a plugin's hooks for its own pool only, in order: claimed, start, end", async () => {
    const seen: string[] = [];
    const plugin = pluginWith({
      onCallClaimed: (workerId, n) => seen.push(`claimed ${workerId} ${n}`),
      onCallStart: (e) => seen.push(`start ${e.tool} on ${e.workerId}`),
      onCallEnd: (e) => seen.push(`end ${e.tool} ${e.outcome}`),
    });
    await using mine = await fakePool({ name: "mine", plugins: [plugin] });
    await using other = await fakePool({ name: "other" });
    await mine.execute("a");
    await other.execute("b");
    expect(seen).toEqual(["claimed mine/w1 1", "start a on mine/w1", "end a ok"]);
  });

  it("sends the headers an onCallStart hook adds; a diagnostics_channel subscriber only observes", async () => {
    const requests: CallRequest[] = [];
    const observer = (m: unknown) => {
      (m as { headers: Record<string, string> }).headers["x-from-channel"] = "1";
    };
    subscribe(SNAKEPIT_EVENTS.requestStarted, observer);
    try {
      await using pool = await fakePool(
        { plugins: [pluginWith({ onCallStart: (e) => void (e.headers.traceparent = "00-abc-def-01") })] },
        { onRequest: (r) => requests.push(r) },
      );
      await pool.execute("t");
    } finally {
      unsubscribe(SNAKEPIT_EVENTS.requestStarted, observer);
    }
    expect(requests).toHaveLength(1);
    expect(requests[0]!.headers).toEqual({ traceparent: "00-abc-def-01" });
  });

  it("sends no headers when nothing takes part in calls", async () => {
    const requests: CallRequest[] = [];
    await using pool = await fakePool({}, { onRequest: (r) => requests.push(r) });
    await pool.execute("t");
    expect(requests[0]!.headers).toEqual({});
  });

  it("logs a hook that throws and carries on: the call succeeds, the pool's counts stay right", async () => {
    const errors: string[] = [];
    const logger = { ...silentLogger, error: (m: string) => void errors.push(m) };
    await using pool = await fakePool({
      logger,
      plugins: [
        pluginWith({
          onCallClaimed: () => {
            throw new Error("claimed broke");
          },
          onCallStart: () => {
            throw new Error("start broke");
          },
          onCallEnd: () => {
            throw new Error("end broke");
          },
        }),
      ],
    });
    await expect(pool.execute("t")).resolves.toMatchObject({ tool: "t" });
    expect(errors).toEqual([
      "pool default: a onCallClaimed hook threw: claimed broke",
      "pool default: a onCallStart hook threw: start broke",
      "pool default: a onCallEnd hook threw: end broke",
    ]);
    expect(pool.stats()).toMatchObject({ completed: 1, failed: 0, inFlight: 0 });
    expect(pool.stats().perWorker[0]?.load).toBe(0);
  });

  it("registerPoolHooks reaches every pool, including ones created later, until removed", async () => {
    const tools: string[] = [];
    const remove = registerPoolHooks({ onCallEnd: (e) => void tools.push(`${e.poolName}:${e.tool}`) });
    try {
      await using a = await fakePool({ name: "a" });
      await a.execute("one");
      await using b = await fakePool({ name: "b" });
      await b.execute("two");
      remove();
      await a.execute("three");
    } finally {
      remove();
    }
    expect(tools).toEqual(["a:one", "b:two"]);
  });

  it("removes a plugin's hooks when the function addHooks returned is called", async () => {
    const seen: string[] = [];
    let off: (() => void) | undefined;
    const plugin: PoolPlugin = { name: "once", attach: (control) => void (off = control.addHooks({ onCallEnd: (e) => void seen.push(e.tool) })) };
    await using pool = await fakePool({ plugins: [plugin] });
    await pool.execute("first");
    off!();
    await pool.execute("second");
    expect(seen).toEqual(["first"]);
  });
});
