import type { ProfileName } from "@snakepit/core";
import type { Classification, LibraryCompat } from "./library-compat.js";
import { lookupLibrary } from "./lookup-library.js";
import type { PythonProbe } from "./python-probe.js";
import { compareVersions } from "./version.js";

/**
 * Libraries to check: either installed versions by name (`null` = not installed,
 * as {@link PythonProbe.libraries} reports them) or just the names in use.
 */
export type LibraryList = Readonly<Record<string, string | null>> | readonly string[];

/**
 * What a {@link CompatWarning} is about.
 *
 * - `unsafe`: the library is classified unsafe for the thread profile (makes `ok` false).
 * - `below-min-version`: the installed version is older than the one the
 *   classification holds from, so it is treated as unsafe (makes `ok` false).
 * - `conditional`: usable on threads if the workaround is followed.
 * - `min-version-unchecked`: the classification needs a minimum version but the
 *   installed version is unknown.
 * - `gil-enabled-on-free-threaded`: a free-threaded build running with the GIL on.
 * - `free-threaded`: the GIL is off, so races the GIL used to hide can now happen.
 */
export type CompatWarningCode =
  | "unsafe"
  | "below-min-version"
  | "conditional"
  | "min-version-unchecked"
  | "gil-enabled-on-free-threaded"
  | "free-threaded";

/** One finding of {@link checkCompatibility}. */
export interface CompatWarning {
  readonly code: CompatWarningCode;
  /** The library as named in the input, or `"python"` for notes about the interpreter. */
  readonly library: string;
  /** The matrix classification; absent for interpreter notes. */
  readonly classification?: Classification;
  /** Installed version (the Python version for interpreter notes), `null` when unknown. */
  readonly installedVersion: string | null;
  /** The version the classification holds from, when the matrix names one. */
  readonly minVersion?: string;
  /** Why this matters in the thread profile. */
  readonly reason: string;
  /** What to do about it. */
  readonly workaround: string;
  /** Documentation backing the classification. */
  readonly source?: string;
}

/** Input of {@link checkCompatibility}. */
export interface CheckCompatibilityInput {
  /** Libraries in use; defaults to the installed libraries of `probe`. */
  readonly libraries?: LibraryList;
  /** Interpreter facts; also supplies versions for a plain list of names. */
  readonly probe?: PythonProbe;
  readonly profile: ProfileName;
}

/** Result of {@link checkCompatibility}. */
export interface CompatReport {
  /** False when the profile should not be used with these libraries. */
  readonly ok: boolean;
  /** Findings, most serious first. */
  readonly warnings: readonly CompatWarning[];
  /** Libraries in use that the matrix does not cover (reported for both profiles). */
  readonly unknown: readonly string[];
}

/** A library in use, resolved against the matrix. */
export interface LibraryInUse {
  readonly requested: string;
  /** `undefined` when the caller did not say which version is installed. */
  readonly version: string | undefined;
  readonly entry: LibraryCompat | undefined;
}

/**
 * Lists the libraries in use. Names mapped to `null` are not installed and are
 * left out; two names for one matrix row (`sklearn`, `scikit-learn`) count once.
 */
export function librariesInUse(libraries: LibraryList | undefined, probe: PythonProbe | undefined): LibraryInUse[] {
  let named: Array<[string, string | undefined]>;
  if (libraries === undefined) {
    named = Object.entries(probe?.libraries ?? {}).flatMap(([name, version]) =>
      version === null ? [] : [[name, version] as [string, string]],
    );
  } else if (isNameList(libraries)) {
    named = libraries.map((name) => [name, probe?.libraries[name] ?? undefined]);
  } else {
    named = Object.entries(libraries).flatMap(([name, version]) =>
      version === null ? [] : [[name, version] as [string, string]],
    );
  }
  const seen = new Set<string>();
  const result: LibraryInUse[] = [];
  for (const [requested, version] of named) {
    const entry = lookupLibrary(requested);
    const key = entry?.name ?? `?${requested}`;
    if (seen.has(key)) continue;
    seen.add(key);
    result.push({ requested, version, entry });
  }
  return result;
}

function isNameList(libraries: LibraryList): libraries is readonly string[] {
  return Array.isArray(libraries);
}

const SEVERITY: Readonly<Record<CompatWarningCode, number>> = {
  unsafe: 0,
  "below-min-version": 0,
  conditional: 1,
  "min-version-unchecked": 2,
  "gil-enabled-on-free-threaded": 3,
  "free-threaded": 3,
};

function libraryWarnings(lib: LibraryInUse & { entry: LibraryCompat }): CompatWarning[] {
  const { entry, requested, version } = lib;
  const base = {
    library: requested,
    classification: entry.classification,
    installedVersion: version ?? null,
    source: entry.source,
    ...(entry.minVersion === undefined ? {} : { minVersion: entry.minVersion }),
  };
  if (entry.minVersion !== undefined && version !== undefined) {
    const cmp = compareVersions(version, entry.minVersion);
    if (cmp !== undefined && cmp < 0) {
      return [
        {
          ...base,
          code: "below-min-version",
          reason:
            `${requested} ${version} is older than ${entry.minVersion}, the version from which it is classified ` +
            `${entry.classification} for threads. ${entry.notes}`,
          workaround: `Upgrade ${entry.distribution} to ${entry.minVersion} or newer, or use the process profile. ${entry.workaround}`,
        },
      ];
    }
  }
  const warnings: CompatWarning[] = [];
  if (entry.classification !== "safe") {
    warnings.push({ ...base, code: entry.classification, reason: entry.notes, workaround: entry.workaround });
  }
  const versionUnknown =
    version === undefined || (entry.minVersion !== undefined && compareVersions(version, entry.minVersion) === undefined);
  if (entry.minVersion !== undefined && versionUnknown) {
    warnings.push({
      ...base,
      code: "min-version-unchecked",
      reason:
        `${requested} is classified ${entry.classification} for threads only from ${entry.minVersion}, ` +
        `and the installed version is ${version === undefined ? "unknown" : `not comparable (${version})`}.`,
      workaround: `Make sure ${entry.distribution} is ${entry.minVersion} or newer (probePython reports the installed version).`,
    });
  }
  return warnings;
}

function interpreterWarnings(probe: PythonProbe | undefined): CompatWarning[] {
  if (probe === undefined || !probe.freeThreaded) return [];
  if (probe.gilEnabled) {
    return [
      {
        code: "gil-enabled-on-free-threaded",
        library: "python",
        installedVersion: probe.version,
        reason:
          `${probe.executable} is a free-threaded build, but the GIL is enabled at run time (PYTHON_GIL=1 or -X gil=1), ` +
          "so threads do not run Python code in parallel; only work that releases the GIL overlaps.",
        workaround:
          "Unset PYTHON_GIL / -X gil to get parallel threads. Note that importing an extension module without " +
          "free-threading support also turns the GIL back on (with a RuntimeWarning), which a probe that imports " +
          "nothing cannot see: check sys._is_gil_enabled() in a worker after your imports.",
      },
    ];
  }
  return [
    {
      code: "free-threaded",
      library: "python",
      installedVersion: probe.version,
      reason:
        `${probe.executable} runs without the GIL, so threads run Python code truly in parallel. The matrix was written ` +
        "for GIL builds: code that was only safe because the GIL serialised it (shared dicts or lists updated without " +
        "locks, lazily built caches) can now race.",
      workaround:
        "Use library versions that publish free-threaded (cp313t or newer) wheels, and guard shared state in your own " +
        "tools with locks.",
    },
  ];
}

/**
 * Checks whether the libraries in use suit a worker profile.
 *
 * - `process`: always `ok`, with no warnings: processes share no Python state.
 * - `thread`: an `unsafe` library, or one older than its matrix `minVersion`,
 *   makes `ok` false; a `conditional` library adds a warning but keeps `ok`;
 *   free-threaded interpreters get a note.
 *
 * Libraries missing from the matrix are listed in `unknown` for either profile.
 *
 * @example
 * checkCompatibility({ libraries: { numpy: "1.26.4", matplotlib: "3.8.0" }, profile: "thread" });
 * // { ok: false, warnings: [{ code: "unsafe", library: "matplotlib", ... }], unknown: [] }
 */
export function checkCompatibility(input: CheckCompatibilityInput): CompatReport {
  const libraries = librariesInUse(input.libraries, input.probe);
  const unknown = libraries.filter((lib) => lib.entry === undefined).map((lib) => lib.requested);
  if (input.profile === "process") return { ok: true, warnings: [], unknown };

  const warnings: CompatWarning[] = [];
  for (const lib of libraries) {
    if (lib.entry !== undefined) warnings.push(...libraryWarnings({ ...lib, entry: lib.entry }));
  }
  warnings.push(...interpreterWarnings(input.probe));
  warnings.sort((a, b) => SEVERITY[a.code] - SEVERITY[b.code]);
  const ok = !warnings.some((w) => w.code === "unsafe" || w.code === "below-min-version");
  return { ok, warnings, unknown };
}
