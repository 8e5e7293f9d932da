import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createDeadlineTimer } from "./deadline-timer.js";

describe("createDeadlineTimer", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("expires each deadline once, in order, behind one timer", () => {
    const t = createDeadlineTimer();
    const seen: string[] = [];
    const now = Date.now();
    t.add(now + 300, () => seen.push("c"));
    t.add(now + 100, () => seen.push("a"));
    t.add(now + 200, () => seen.push("b"));
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(150);
    expect(seen).toEqual(["a"]);
    vi.advanceTimersByTime(200);
    expect(seen).toEqual(["a", "b", "c"]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a cancelled deadline never fires, and the last cancel clears the timer", () => {
    const t = createDeadlineTimer();
    const fired = vi.fn();
    const cancel = t.add(Date.now() + 100, fired);
    cancel();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(1_000);
    expect(fired).not.toHaveBeenCalled();
  });

  it("waits out deadlines beyond setTimeout's 32-bit limit instead of firing at once", () => {
    const t = createDeadlineTimer();
    const fired = vi.fn();
    const month = 31 * 24 * 3600 * 1000; // over 2^31-1 ms
    t.add(Date.now() + month, fired);
    vi.advanceTimersByTime(2 ** 31 - 1);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(month - (2 ** 31 - 1) + 1);
    expect(fired).toHaveBeenCalledOnce();
  });

  it("clear() drops everything", () => {
    const t = createDeadlineTimer();
    const fired = vi.fn();
    t.add(Date.now() + 10, fired);
    t.clear();
    vi.advanceTimersByTime(100);
    expect(fired).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });
});
