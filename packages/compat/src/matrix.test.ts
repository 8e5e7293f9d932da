import { describe, expect, it } from "vitest";
import { lookupLibrary } from "./lookup-library.js";
import { COMPAT_MATRIX } from "./matrix.js";
import { compareVersions } from "./version.js";

const REQUIRED = [
  "numpy", "scipy", "pandas", "polars", "torch", "tensorflow", "scikit-learn", "matplotlib", "sqlite3",
  "requests", "httpx", "aiohttp", "grpcio", "numexpr", "onnxruntime", "plotly", "psycopg2", "transformers",
  "xgboost", "lightgbm", "jax", "opencv-python", "pillow", "sqlalchemy", "spacy",
];

describe("COMPAT_MATRIX", () => {
  it("has at least 25 entries and covers the required libraries", () => {
    expect(COMPAT_MATRIX.length).toBeGreaterThanOrEqual(25);
    for (const name of REQUIRED) expect(lookupLibrary(name), name).toBeDefined();
  });

  it("has unique import names and distribution names across entries", () => {
    const normalize = (n: string) => n.toLowerCase().replace(/[-_.]+/g, "-");
    const names = COMPAT_MATRIX.flatMap((e) => [
      ...new Set([e.name, e.distribution, ...(e.alternativeDistributions ?? [])].map(normalize)),
    ]);
    expect(new Set(names).size).toBe(names.length);
  });

  it("maps every name back to its own entry", () => {
    for (const entry of COMPAT_MATRIX) {
      expect(lookupLibrary(entry.name)).toBe(entry);
      expect(lookupLibrary(entry.distribution)).toBe(entry);
    }
  });

  it.each(COMPAT_MATRIX.map((e) => [e.name, e] as const))("%s is complete and well-formed", (_name, entry) => {
    expect(["safe", "conditional", "unsafe"]).toContain(entry.classification);
    expect([true, false, "partial"]).toContain(entry.releasesGil);
    expect(new URL(entry.source).protocol).toBe("https:");
    expect(entry.notes.length).toBeGreaterThan(40);
    expect(entry.workaround.length).toBeGreaterThan(20);
    if (entry.minVersion !== undefined) expect(compareVersions(entry.minVersion, "0")).toBeGreaterThan(0);
  });

  it("is frozen", () => {
    expect(Object.isFrozen(COMPAT_MATRIX)).toBe(true);
    for (const entry of COMPAT_MATRIX) expect(Object.isFrozen(entry)).toBe(true);
    expect(() => (COMPAT_MATRIX as unknown as unknown[]).push({})).toThrow(TypeError);
  });

  it("keeps the classifications documented in docs/compatibility.md for key libraries", () => {
    expect(lookupLibrary("numpy")?.classification).toBe("safe");
    expect(lookupLibrary("matplotlib")?.classification).toBe("unsafe");
    expect(lookupLibrary("requests")?.classification).toBe("conditional");
    expect(lookupLibrary("sqlite3")?.classification).toBe("conditional");
    expect(lookupLibrary("pandas")?.classification).toBe("conditional");
    expect(lookupLibrary("xgboost")?.minVersion).toBe("1.4.0");
  });
});
