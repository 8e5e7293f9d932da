/**
 * How a library behaves when several tool calls run on threads of one Python
 * process (Snakepit's "thread" profile).
 *
 * - `safe`: documented (or established) as usable from concurrent threads.
 * - `conditional`: usable if you follow the workaround (one object per thread,
 *   a lock, a thread-count setting, ...).
 * - `unsafe`: shares state across threads in ways the library does not protect;
 *   prefer the "process" profile.
 */
export type Classification = "safe" | "conditional" | "unsafe";

/** One row of the thread-safety matrix. */
export interface LibraryCompat {
  /** Import name, e.g. `sklearn`. */
  readonly name: string;
  /** Main PyPI distribution name, e.g. `scikit-learn`. */
  readonly distribution: string;
  /** Other distributions that provide the same import name (e.g. `opencv-python-headless`). */
  readonly alternativeDistributions?: readonly string[];
  /**
   * Part of the standard library, so there is no distribution to ask for a version.
   * For `sqlite3` the probe reports the linked SQLite library version.
   */
  readonly stdlib?: boolean;
  readonly classification: Classification;
  /** Version from which the classification holds; older versions are treated as unsafe. */
  readonly minVersion?: string;
  /** Why the library has this classification, with what the docs say. */
  readonly notes: string;
  /** What to do in the thread profile. */
  readonly workaround: string;
  /** Does heavy work release the GIL, i.e. can threads run it in parallel on a GIL build? */
  readonly releasesGil: boolean | "partial";
  /** The library's own documentation page that supports the classification. */
  readonly source: string;
}
