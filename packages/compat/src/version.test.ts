import { describe, expect, it } from "vitest";
import { compareVersions } from "./version.js";

describe("compareVersions", () => {
  it("orders release numbers numerically", () => {
    expect(compareVersions("1.10.0", "1.9.9")).toBeGreaterThan(0);
    expect(compareVersions("2.5", "2.10.2")).toBeLessThan(0);
  });

  it("treats missing trailing components as zero", () => {
    expect(compareVersions("1.4", "1.4.0")).toBe(0);
  });

  it("puts dev, alpha, beta and rc before the final release and post after it", () => {
    const ordered = ["1.4.0.dev1", "1.4.0a1", "1.4.0b2", "1.4.0rc1", "1.4.0", "1.4.0.post1"];
    for (let i = 1; i < ordered.length; i++) {
      expect(compareVersions(ordered[i - 1] ?? "", ordered[i] ?? "")).toBeLessThan(0);
    }
  });

  it("ignores local labels such as +cpu", () => {
    expect(compareVersions("2.3.1+cpu", "2.3.1")).toBe(0);
  });

  it("returns undefined for strings that are not versions", () => {
    expect(compareVersions("unknown", "1.0")).toBeUndefined();
    expect(compareVersions("1.0", "")).toBeUndefined();
  });
});
