import { describe, expect, it } from "vitest";
import { chart } from "./render-scaling.js";

describe("chart", () => {
  it("draws one flat step per configuration with its label underneath", () => {
    const text = chart([
      { label: "process 1", value: 100 },
      { label: "thread 1x8", value: 400 },
    ]);
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^\s+400 ┼/);
    const labels = lines[lines.length - 1]!;
    const axis = lines[0]!.indexOf("┼");
    expect(labels.indexOf("process 1")).toBe(axis + 1);
    expect(labels.indexOf("thread 1x8")).toBe(axis + 1 + 12);
  });
});
