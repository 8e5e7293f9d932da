import type { LibraryCompat } from "./library-compat.js";
import { COMPAT_MATRIX } from "./matrix.js";

/**
 * Where the Python worker package keeps its copy of the matrix, relative to the
 * repository root. The worker reads it at start-up (so core never imports compat).
 */
export const PYTHON_MATRIX_PATH = "python/src/snakepit_bridge/compat_matrix.json";

/** Bumped when the shape of the JSON changes; the Python reader checks it. */
export const PYTHON_MATRIX_FORMAT = 1;

/** One row as the Python worker reads it (snake_case, every key present). */
interface PythonMatrixRow {
  readonly name: string;
  readonly distribution: string;
  readonly alternative_distributions: readonly string[];
  readonly stdlib: boolean;
  readonly classification: LibraryCompat["classification"];
  readonly min_version: string | null;
  readonly releases_gil: boolean | "partial";
  readonly notes: string;
  readonly workaround: string;
  readonly source: string;
}

function row(entry: LibraryCompat): PythonMatrixRow {
  return {
    name: entry.name,
    distribution: entry.distribution,
    alternative_distributions: entry.alternativeDistributions ?? [],
    stdlib: entry.stdlib ?? false,
    classification: entry.classification,
    min_version: entry.minVersion ?? null,
    releases_gil: entry.releasesGil,
    notes: entry.notes,
    workaround: entry.workaround,
    source: entry.source,
  };
}

/**
 * The matrix as the text of `compat_matrix.json`: `COMPAT_MATRIX` is the single
 * source of truth, this is its generated copy for the Python worker. Written by
 * `pnpm --filter @snakepit/compat run generate`; a test fails when the committed
 * file differs from this.
 */
export function pythonMatrixJson(matrix: readonly LibraryCompat[] = COMPAT_MATRIX): string {
  const document = {
    generated_from: "packages/compat/src/matrix.ts",
    generated_by: "pnpm --filter @snakepit/compat run generate (do not edit by hand)",
    format: PYTHON_MATRIX_FORMAT,
    libraries: matrix.map(row),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
