import { describe, expect, it } from "vitest";
import { judgeMemory, memoryOf } from "./memory.js";

const MiB = 1024 * 1024;

describe("memoryOf", () => {
  it("uses PSS where the OS reports it, else RSS", () => {
    expect(memoryOf({ pssBytes: 30 * MiB, rssBytes: 40 * MiB })).toEqual({ bytes: 30 * MiB, metric: "pss" });
    expect(memoryOf({ pssBytes: 0, rssBytes: 40 * MiB })).toEqual({ bytes: 40 * MiB, metric: "rss" });
    expect(memoryOf({ pssBytes: 30 * MiB, rssBytes: 40 * MiB }, "rss")).toEqual({ bytes: 40 * MiB, metric: "rss" });
  });
});

describe("judgeMemory", () => {
  const baseline = { bytes: 300 * MiB, metric: "pss" as const };

  it("growth mode measures from the worker's own start-up memory", () => {
    expect(judgeMemory({ bytes: 350 * MiB, metric: "pss" }, baseline, 100 * MiB, "growth")).toMatchObject({
      over: false,
      growthBytes: 50 * MiB,
      thresholdBytes: 400 * MiB,
    });
    expect(judgeMemory({ bytes: 400 * MiB, metric: "pss" }, baseline, 100 * MiB, "growth").over).toBe(true);
  });

  it("absolute mode compares the total", () => {
    expect(judgeMemory({ bytes: 350 * MiB, metric: "pss" }, { bytes: 30 * MiB, metric: "pss" }, 320 * MiB, "absolute").over).toBe(true);
    expect(judgeMemory({ bytes: 310 * MiB, metric: "pss" }, { bytes: 30 * MiB, metric: "pss" }, 320 * MiB, "absolute").over).toBe(false);
  });

  it("absolute mode never replaces a worker that was born above the limit", () => {
    const v = judgeMemory({ bytes: 900 * MiB, metric: "pss" }, baseline, 200 * MiB, "absolute");
    expect(v).toMatchObject({ over: false, bornAboveLimit: true });
  });
});
