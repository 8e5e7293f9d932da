#!/usr/bin/env node
// Writes COMPAT_MATRIX (packages/compat/src/matrix.ts, the single source of truth)
// as python/src/snakepit_bridge/compat_matrix.json for the Python worker's own
// start-up check. Runs against the built package: `pnpm run generate` builds first.
// `--check` exits 1 (and writes nothing) when the committed file is stale.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { PYTHON_MATRIX_PATH, pythonMatrixJson } from "../dist/python-matrix.js";

const target = fileURLToPath(new URL(`../../../${PYTHON_MATRIX_PATH}`, import.meta.url));
const text = pythonMatrixJson();
let current = "";
try {
  current = readFileSync(target, "utf8");
} catch {
  /* not written yet */
}
if (process.argv.includes("--check")) {
  if (current !== text) {
    console.error(`${PYTHON_MATRIX_PATH} is stale: run pnpm --filter @snakepit/compat run generate`);
    process.exit(1);
  }
  console.log(`${PYTHON_MATRIX_PATH} is up to date`);
} else if (current === text) {
  console.log(`${PYTHON_MATRIX_PATH} is up to date`);
} else {
  writeFileSync(target, text);
  console.log(`wrote ${PYTHON_MATRIX_PATH}`);
}
