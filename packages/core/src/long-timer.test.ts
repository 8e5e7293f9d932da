import { afterEach, describe, expect, it, vi } from "vitest";
import { MAX_TIMER_DELAY_MS, setLongTimeout } from "./long-timer.js";

describe("setLongTimeout", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("does not fire early for delays above 2^31-1 ms (Node's setTimeout fires after 1 ms)", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    const fired = vi.fn();
    const delay = MAX_TIMER_DELAY_MS * 2 + 500;
    setLongTimeout(fired, delay);
    vi.advanceTimersByTime(1);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(MAX_TIMER_DELAY_MS);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(MAX_TIMER_DELAY_MS);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(500);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it("fires once for short and fractional delays", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    const fired = vi.fn();
    setLongTimeout(fired, 10.5);
    vi.advanceTimersByTime(9);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(5);
    expect(fired).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(100);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it("never fires for Infinity, and not after clear()", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    const never = vi.fn();
    setLongTimeout(never, Infinity).clear();
    const cleared = vi.fn();
    const t = setLongTimeout(cleared, MAX_TIMER_DELAY_MS + 10);
    vi.advanceTimersByTime(MAX_TIMER_DELAY_MS);
    t.clear();
    t.clear();
    vi.advanceTimersByTime(MAX_TIMER_DELAY_MS);
    expect(never).not.toHaveBeenCalled();
    expect(cleared).not.toHaveBeenCalled();
  });
});
