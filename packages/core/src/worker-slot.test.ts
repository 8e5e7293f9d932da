import { describe, expect, it } from "vitest";
import { WorkerSlot } from "./worker-slot.js";
import type { WorkerHandle } from "./worker-profile.js";

const slotWith = (capacity: number, pipelineDepth: number) => {
  const slot = new WorkerSlot("w1");
  slot.handle = { capacity, pipelineDepth } as unknown as WorkerHandle;
  return slot;
};

describe("WorkerSlot.begunAt (a call's own run time on an in-order worker)", () => {
  it("a call sent while another ran on a pipelining worker began when that one was answered", () => {
    const slot = slotWith(1, 32);
    expect(slot.begunAt(0, 10)).toBe(0); // first call: sent at 0, answered at 10
    expect(slot.begunAt(1, 12)).toBe(10); // sent at 1 behind it: began at 10, ran 2
    expect(slot.begunAt(20, 25)).toBe(20); // sent after the last answer: began when sent
  });

  it("workers that run calls side by side or do not pipeline count from the send", () => {
    const threads = slotWith(4, 0);
    threads.begunAt(0, 10);
    expect(threads.begunAt(1, 12)).toBe(1);
    const plain = slotWith(1, 0);
    plain.begunAt(0, 10);
    expect(plain.begunAt(1, 12)).toBe(1);
  });
});
