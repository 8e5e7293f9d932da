import type { ProfileName } from "@snakepit/core";
import { checkCompatibility, librariesInUse } from "./check-compatibility.js";
import type { LibraryList } from "./check-compatibility.js";
import type { PythonProbe } from "./python-probe.js";

/**
 * What tool calls mostly do: wait on I/O (network, disk, databases), compute,
 * or both. `"unknown"` when you cannot say.
 */
export type Workload = "io" | "cpu" | "mixed" | "unknown";

/** Input of {@link recommendProfile}. */
export interface RecommendProfileInput {
  /** Interpreter facts; its installed libraries are used when `libraries` is absent. */
  readonly probe?: PythonProbe;
  /** Libraries the tools use (names, or versions by name). */
  readonly libraries?: LibraryList;
  /** Defaults to `"unknown"`. */
  readonly workload?: Workload;
}

/** Result of {@link recommendProfile}. */
export interface ProfileRecommendation {
  readonly profile: ProfileName;
  /** Plain-language reasons, most important first. */
  readonly reasons: readonly string[];
}

function list(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? "") : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

/**
 * Recommends a worker profile and says why:
 *
 * 1. any library unsafe on threads (or older than its `minVersion`) → `process`;
 * 2. I/O-bound work → `thread` (waiting releases the GIL, threads are cheap);
 * 3. CPU or mixed work on a free-threaded interpreter with the GIL off → `thread`;
 * 4. CPU or mixed work in libraries that release the GIL → `thread`;
 * 5. CPU or mixed work in pure Python on a GIL build → `process`;
 * 6. unknown workload → `process`, the safe default.
 *
 * @example
 * recommendProfile({ libraries: ["httpx"], workload: "io" });
 * // { profile: "thread", reasons: ["I/O-bound calls spend most of their time waiting ..."] }
 */
export function recommendProfile(input: RecommendProfileInput = {}): ProfileRecommendation {
  const { probe, libraries } = input;
  const workload = input.workload ?? "unknown";
  const report = checkCompatibility({ profile: "thread", ...(probe ? { probe } : {}), ...(libraries ? { libraries } : {}) });

  const blocking = report.warnings.filter((w) => w.code === "unsafe" || w.code === "below-min-version");
  if (blocking.length > 0) {
    return {
      profile: "process",
      reasons: blocking.map((w) =>
        w.code === "unsafe"
          ? `${w.library} is not safe to use from concurrent threads; separate processes keep its state apart.`
          : `${w.library} ${w.installedVersion ?? ""} is older than ${w.minVersion ?? "the version"} from which it is thread-safe.`,
      ),
    };
  }

  const conditional = report.warnings.filter((w) => w.code === "conditional").map((w) => w.library);
  const threadCaveats =
    conditional.length > 0 ? [`Follow the thread-profile workarounds for ${list(conditional)} (see checkCompatibility).`] : [];
  const parallelThreads = probe !== undefined && probe.freeThreaded && !probe.gilEnabled;
  const gilReleasing = librariesInUse(libraries, probe)
    .filter((lib) => lib.entry?.releasesGil === true)
    .map((lib) => lib.requested);
  const gilNote =
    probe !== undefined && probe.freeThreaded && probe.gilEnabled
      ? ["The interpreter is a free-threaded build but runs with the GIL enabled, so it gives threads no extra parallelism."]
      : [];

  if (workload === "io") {
    return {
      profile: "thread",
      reasons: [
        "I/O-bound calls spend most of their time waiting with the GIL released, so a few processes can serve many " +
          "calls on threads, using far less memory than a process per concurrent call.",
        ...threadCaveats,
      ],
    };
  }

  if (workload === "cpu" || workload === "mixed") {
    if (parallelThreads) {
      return {
        profile: "thread",
        reasons: [
          "The interpreter is free-threaded with the GIL disabled, so CPU-bound calls run in parallel on threads.",
          "The matrix was written for GIL builds; guard shared state that the GIL used to protect.",
          ...threadCaveats,
        ],
      };
    }
    if (gilReleasing.length > 0) {
      return {
        profile: "thread",
        reasons: [
          `The heavy computation can run in parallel on threads because ${list(gilReleasing)} release the GIL while working.`,
          "Pure-Python parts of each call still take turns on the GIL; if they dominate, prefer the process profile.",
          ...threadCaveats,
          ...gilNote,
        ],
      };
    }
    return {
      profile: "process",
      reasons: [
        workload === "cpu"
          ? "CPU-bound work in pure Python holds the GIL, so threads of one process would take turns; separate processes run in parallel."
          : "The CPU-bound part of the work is in pure Python and would serialise on the GIL; separate processes run it in parallel.",
        ...gilNote,
      ],
    };
  }

  return {
    profile: "process",
    reasons: [
      "The workload is unknown, and the process profile is the safe default: calls share no Python state.",
      "Pass workload: \"io\" if calls mostly wait on the network, disk or databases; the thread profile then serves them with less memory.",
    ],
  };
}
