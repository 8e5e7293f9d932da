import type { LibraryCompat } from "./library-compat.js";
import { COMPAT_MATRIX } from "./matrix.js";

/** PEP 503 normalisation, lower-cased: `Scikit_Learn` and `scikit.learn` both become `scikit-learn`. */
export function normalizeLibraryName(name: string): string {
  return name.trim().toLowerCase().replace(/[-_.]+/g, "-");
}

const INDEX: ReadonlyMap<string, LibraryCompat> = (() => {
  const index = new Map<string, LibraryCompat>();
  for (const entry of COMPAT_MATRIX) {
    const names = [entry.name, entry.distribution, ...(entry.alternativeDistributions ?? [])];
    for (const name of names) {
      const key = normalizeLibraryName(name);
      // First entry wins so an alias can never shadow another row's own name.
      if (!index.has(key)) index.set(key, entry);
    }
  }
  return index;
})();

/**
 * Finds a library in {@link COMPAT_MATRIX} by import name (`sklearn`, `cv2`, `PIL`)
 * or distribution name (`scikit-learn`, `opencv-python-headless`, `pillow`),
 * case-insensitively and treating `-`, `_` and `.` alike.
 *
 * @returns the matrix entry, or `undefined` when the library is not in the matrix.
 */
export function lookupLibrary(name: string): LibraryCompat | undefined {
  return INDEX.get(normalizeLibraryName(name));
}
