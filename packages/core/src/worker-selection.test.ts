import { describe, expect, it } from "vitest";
import { pickWorker, type SelectableWorker } from "./worker-selection.js";

const w = (id: string, load: number, capacity = 1, extra: Partial<SelectableWorker> = {}): SelectableWorker => ({
  id,
  state: "ready",
  load,
  slowLoad: 0,
  handle: { capacity, pipelineDepth: 8 },
  ...extra,
});

describe("pickWorker", () => {
  it("takes the least-loaded worker by fraction of capacity", () => {
    expect(pickWorker([w("a", 3, 4), w("b", 1, 4), w("c", 2, 4)])?.id).toBe("b");
    expect(pickWorker([w("a", 1, 1), w("b", 1, 4)])?.id).toBe("b");
  });

  it("skips workers that are not ready or full, and answers undefined when none has room", () => {
    expect(pickWorker([w("a", 0, 1, { state: "draining" }), w("b", 1), w("c", 0)])?.id).toBe("c");
    expect(pickWorker([w("a", 1), w("b", 1)])).toBeUndefined();
  });

  it("prefers the session's worker while it has room, and falls back when it is busy", () => {
    expect(pickWorker([w("a", 0), w("b", 0)], { preferred: "b" })?.id).toBe("b");
    expect(pickWorker([w("a", 0), w("b", 1)], { preferred: "b" })?.id).toBe("a");
  });

  it("breaks ties by the most recent use (a warm worker), then in turn", () => {
    const ws = [w("a", 0), w("b", 0), w("c", 0)];
    expect([0, 1, 2].map((rotate) => pickWorker(ws, { rotate })?.id)).toEqual(["a", "b", "c"]);
    const used = [w("a", 0, 1, { lastReleased: 4 }), w("b", 0, 1, { lastReleased: 9 }), w("c", 0)];
    expect([0, 1, 2].map((rotate) => pickWorker(used, { rotate })?.id)).toEqual(["b", "b", "b"]);
    // Load comes first: a busier worker is not chosen for being warm.
    expect(pickWorker([w("a", 1, 2, { lastReleased: 9 }), w("b", 0, 2, { lastReleased: 1 })])?.id).toBe("b");
  });

  it("pipelines a fast call beyond capacity, only onto workers running fast calls", () => {
    const full = [w("a", 1, 1, { slowLoad: 1 }), w("b", 3, 1), w("c", 2, 1)];
    expect(pickWorker(full)).toBeUndefined();
    expect(pickWorker(full, { fast: true })?.id).toBe("c");
    expect(pickWorker([w("a", 9, 1)], { fast: true })).toBeUndefined(); // depth 8 used up
    expect(pickWorker([w("a", 1, 1, { handle: { capacity: 1 } })], { fast: true })).toBeUndefined(); // no pipelining transport
  });
});
