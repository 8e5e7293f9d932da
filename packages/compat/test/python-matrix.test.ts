import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { COMPAT_MATRIX } from "@snakepit/compat";
import { PYTHON_MATRIX_PATH, pythonMatrixJson } from "../src/python-matrix.js";

// The Python worker checks its own imports against a generated copy of the matrix
// (core never imports compat). This fails when that copy is stale.
const file = new URL(`../../../${PYTHON_MATRIX_PATH}`, import.meta.url);

describe(PYTHON_MATRIX_PATH, () => {
  it("is exactly what COMPAT_MATRIX generates (run `pnpm --filter @snakepit/compat run generate` if not)", () => {
    expect(readFileSync(file, "utf8")).toBe(pythonMatrixJson());
  });

  it("carries every row with the fields the worker reads", () => {
    const doc = JSON.parse(readFileSync(file, "utf8")) as { format: number; libraries: Array<Record<string, unknown>> };
    expect(doc.format).toBe(1);
    expect(doc.libraries.map((r) => r["name"])).toEqual(COMPAT_MATRIX.map((e) => e.name));
    const sqlite = doc.libraries.find((r) => r["name"] === "sqlite3");
    expect(sqlite).toMatchObject({ stdlib: true, classification: "conditional", min_version: null });
    expect(doc.libraries.find((r) => r["name"] === "xgboost")).toMatchObject({ min_version: "1.4.0" });
  });

  it("changes when the matrix changes", () => {
    const edited = COMPAT_MATRIX.map((e) => (e.name === "numpy" ? { ...e, classification: "unsafe" as const } : e));
    expect(pythonMatrixJson(edited)).not.toBe(pythonMatrixJson());
  });
});
