import { describe, expect, it } from "vitest";
import { CallQueue } from "./call-queue.js";

describe("CallQueue", () => {
  it("is FIFO and skips removed entries", () => {
    const q = new CallQueue<{ removed: boolean; n: number }>();
    const items = [1, 2, 3, 4].map((n) => ({ removed: false, n }));
    items.forEach((i) => q.push(i));
    q.remove(items[1]!);
    expect(q.size).toBe(3);
    expect(q.shift()?.n).toBe(1);
    expect(q.shift()?.n).toBe(3);
    expect(q.drain().map((i) => i.n)).toEqual([4]);
    expect(q.size).toBe(0);
    expect(q.shift()).toBeUndefined();
  });

  it("stays correct across compaction", () => {
    const q = new CallQueue<{ removed: boolean; n: number }>();
    for (let n = 0; n < 5000; n++) q.push({ removed: false, n });
    for (let n = 0; n < 4000; n++) expect(q.shift()?.n).toBe(n);
    expect(q.size).toBe(1000);
    expect(q.shift()?.n).toBe(4000);
  });
});
