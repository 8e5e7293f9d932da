import { describe, expect, it } from "vitest";
import { checkCompatibility, librariesInUse } from "./check-compatibility.js";
import { probe } from "../test/probe-fixture.js";


describe("checkCompatibility: process profile", () => {
  it("is always ok and reports no warnings, even for unsafe libraries", () => {
    const report = checkCompatibility({ libraries: ["matplotlib", "spacy"], profile: "process" });
    expect(report).toEqual({ ok: true, warnings: [], unknown: [] });
  });

  it("reports no interpreter notes either", () => {
    const report = checkCompatibility({ probe: probe({ freeThreaded: true, gilEnabled: true }), profile: "process" });
    expect(report.warnings).toEqual([]);
  });

  it("still lists libraries the matrix does not know", () => {
    expect(checkCompatibility({ libraries: ["numpy", "left-pad"], profile: "process" }).unknown).toEqual(["left-pad"]);
  });
});

describe("checkCompatibility: thread profile", () => {
  it("is ok without warnings for safe libraries", () => {
    expect(checkCompatibility({ libraries: { numpy: "1.26.4", httpx: "0.27.0" }, profile: "thread" })).toEqual({
      ok: true,
      warnings: [],
      unknown: [],
    });
  });

  it("makes ok false and warns for an unsafe library, with reason, workaround and version", () => {
    const report = checkCompatibility({ libraries: { matplotlib: "3.8.2" }, profile: "thread" });
    expect(report.ok).toBe(false);
    expect(report.warnings).toHaveLength(1);
    expect(report.warnings[0]).toMatchObject({
      code: "unsafe",
      library: "matplotlib",
      classification: "unsafe",
      installedVersion: "3.8.2",
      source: "https://matplotlib.org/stable/users/faq.html#work-with-threads",
    });
    expect(report.warnings[0]?.reason).toContain("not thread-safe");
    expect(report.warnings[0]?.workaround).toContain("Agg");
  });

  it("warns for a conditional library but keeps ok", () => {
    const report = checkCompatibility({ libraries: { requests: "2.31.0" }, profile: "thread" });
    expect(report.ok).toBe(true);
    expect(report.warnings).toEqual([
      expect.objectContaining({ code: "conditional", library: "requests", classification: "conditional", installedVersion: "2.31.0" }),
    ]);
  });

  it("treats a version below minVersion as unsafe", () => {
    const report = checkCompatibility({ libraries: { numexpr: "2.4.6" }, profile: "thread" });
    expect(report.ok).toBe(false);
    expect(report.warnings).toEqual([
      expect.objectContaining({ code: "below-min-version", library: "numexpr", minVersion: "2.5", installedVersion: "2.4.6" }),
    ]);
    expect(report.warnings[0]?.workaround).toContain("Upgrade numexpr to 2.5 or newer");
  });

  it("accepts a version at or above minVersion", () => {
    expect(checkCompatibility({ libraries: { numexpr: "2.10.2" }, profile: "thread" })).toMatchObject({ ok: true, warnings: [] });
    const xgb = checkCompatibility({ libraries: { xgboost: "2.0.3" }, profile: "thread" });
    expect(xgb.ok).toBe(true);
    expect(xgb.warnings.map((w) => w.code)).toEqual(["conditional"]);
  });

  it("flags an unknown version of a library with a minVersion without failing", () => {
    const report = checkCompatibility({ libraries: ["numexpr"], profile: "thread" });
    expect(report.ok).toBe(true);
    expect(report.warnings).toEqual([expect.objectContaining({ code: "min-version-unchecked", installedVersion: null })]);
    const odd = checkCompatibility({ libraries: { numexpr: "weird" }, profile: "thread" });
    expect(odd.warnings.map((w) => w.code)).toEqual(["min-version-unchecked"]);
  });

  it("puts libraries absent from the matrix in unknown", () => {
    const report = checkCompatibility({ libraries: { "left-pad": "1.0.0", numpy: "2.0.0" }, profile: "thread" });
    expect(report).toEqual({ ok: true, warnings: [], unknown: ["left-pad"] });
  });

  it("ignores libraries reported as not installed (null)", () => {
    const report = checkCompatibility({ libraries: { matplotlib: null, "left-pad": null }, profile: "thread" });
    expect(report).toEqual({ ok: true, warnings: [], unknown: [] });
  });

  it("uses the probe's installed libraries when none are given", () => {
    const report = checkCompatibility({
      probe: probe({ libraries: { numpy: "2.0.0", matplotlib: "3.9.0", spacy: null } }),
      profile: "thread",
    });
    expect(report.ok).toBe(false);
    expect(report.warnings.map((w) => w.library)).toEqual(["matplotlib"]);
  });

  it("takes versions from the probe for a list of names", () => {
    const report = checkCompatibility({ libraries: ["numexpr"], probe: probe({ libraries: { numexpr: "2.4" } }), profile: "thread" });
    expect(report.warnings[0]).toMatchObject({ code: "below-min-version", installedVersion: "2.4" });
  });

  it("accepts distribution names and reports each matrix row once", () => {
    const report = checkCompatibility({ libraries: ["scikit-learn", "sklearn", "opencv-python-headless"], profile: "thread" });
    expect(report.warnings.map((w) => w.library)).toEqual(["scikit-learn", "opencv-python-headless"]);
  });

  it("orders warnings most serious first", () => {
    const report = checkCompatibility({
      libraries: { requests: "2.31.0", numexpr: "2.0", matplotlib: "3.8.0" },
      probe: probe({ freeThreaded: true, gilEnabled: false }),
      profile: "thread",
    });
    expect(report.warnings.map((w) => w.code)).toEqual(["below-min-version", "unsafe", "conditional", "free-threaded"]);
  });

  it("notes a free-threaded build running with the GIL enabled, without failing", () => {
    const report = checkCompatibility({ probe: probe({ freeThreaded: true, gilEnabled: true }), profile: "thread" });
    expect(report.ok).toBe(true);
    expect(report.warnings).toEqual([
      expect.objectContaining({ code: "gil-enabled-on-free-threaded", library: "python", installedVersion: "3.13.0" }),
    ]);
    expect(report.warnings[0]?.reason).toContain("PYTHON_GIL");
  });

  it("notes that the GIL is off on a free-threaded build", () => {
    const report = checkCompatibility({ probe: probe({ freeThreaded: true, gilEnabled: false }), profile: "thread" });
    expect(report.warnings.map((w) => w.code)).toEqual(["free-threaded"]);
  });

  it("adds no interpreter note for a GIL build", () => {
    expect(checkCompatibility({ probe: probe(), profile: "thread" }).warnings).toEqual([]);
  });

  it("is ok with nothing to check", () => {
    expect(checkCompatibility({ profile: "thread" })).toEqual({ ok: true, warnings: [], unknown: [] });
  });
});

describe("librariesInUse", () => {
  it("resolves matrix entries and keeps the requested name", () => {
    const [lib] = librariesInUse({ Pillow: "10.0.0" }, undefined);
    expect(lib).toMatchObject({ requested: "Pillow", version: "10.0.0" });
    expect(lib?.entry?.name).toBe("PIL");
  });
});
