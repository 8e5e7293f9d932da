import { describe, expect, it } from "vitest";
import { CallSignal } from "./call-signal.js";
import { createDeadlineTimer } from "./deadline-timer.js";
import { SnakepitError } from "./errors.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("CallSignal", () => {
  it("ends with the caller's abort, as an aborted SnakepitError that keeps the reason; the call was cancelled", () => {
    const timers = createDeadlineTimer();
    const caller = new AbortController();
    const call = new CallSignal("p-1", "t", "p", Infinity, caller.signal, timers);
    let fired = 0;
    call.addEventListener("abort", () => fired++);
    caller.abort(new Error("user left"));
    expect(fired).toBe(1);
    expect(call.aborted).toBe(true);
    expect(call.cancelled).toBe(true);
    expect(call.reason).toBeInstanceOf(SnakepitError);
    expect(call.reason).toMatchObject({ code: "aborted", message: "call t was aborted: user left", callId: "p-1" });
    call.dispose();
  });

  it("ends at its deadline with deadline_exceeded that says where the call was", async () => {
    const timers = createDeadlineTimer();
    const queued = new CallSignal("p-1", "t", "p", Date.now() + 10, undefined, timers);
    const running = new CallSignal("p-2", "t", "p", Date.now() + 10, undefined, timers);
    running.where = "p/w1";
    await sleep(40);
    expect(queued.reason).toMatchObject({ code: "deadline_exceeded", message: "call t passed its deadline while waiting for a free worker" });
    expect(running.reason).toMatchObject({ code: "deadline_exceeded", workerId: "p/w1", message: "call t passed its deadline on worker p/w1; the tool was told to stop" });
    expect(running.cancelled).toBe(true);
    timers.clear();
  });

  it("keeps the first reason: a later abort or deadline does not replace it", async () => {
    const timers = createDeadlineTimer();
    const caller = new AbortController();
    const call = new CallSignal("p-1", "t", "p", Date.now() + 5, caller.signal, timers);
    const crashed = new SnakepitError("worker_crashed", "gone");
    call.fail(crashed);
    caller.abort();
    await sleep(20);
    expect(call.reason).toBe(crashed);
    expect(call.cancelled).toBe(false);
    call.dispose();
  });

  it("rearms for another attempt after one its worker never started", () => {
    const call = new CallSignal("p-1", "t", "p", Infinity, undefined, createDeadlineTimer());
    call.fail(new SnakepitError("worker_crashed", "gone"), true);
    expect(call.notStarted).toBe(true);
    call.rearm();
    expect([call.aborted, call.reason, call.notStarted, call.where]).toEqual([false, undefined, false, "queue"]);
    let fired = 0;
    call.addEventListener("abort", () => fired++);
    call.fail(new SnakepitError("worker_crashed", "again"));
    expect(fired).toBe(1);
  });

  it("after dispose, neither the caller's abort nor the deadline reaches it", async () => {
    const timers = createDeadlineTimer();
    const caller = new AbortController();
    const call = new CallSignal("p-1", "t", "p", Date.now() + 5, caller.signal, timers);
    call.dispose();
    caller.abort();
    await sleep(20);
    expect(call.aborted).toBe(false);
  });

  it("removeEventListener takes a listener back", () => {
    const call = new CallSignal("p-1", "t", "p", Infinity, undefined, createDeadlineTimer());
    let fired = 0;
    const l = () => fired++;
    call.addEventListener("abort", l);
    call.removeEventListener("abort", l);
    call.fail(new SnakepitError("internal", "x"));
    expect(fired).toBe(0);
  });
});
