// These declarations use Node's types (AbortSignal, Buffer, node:* modules): @types/node.
/// <reference types="node" preserve="true" />
export { probePython } from "./python-probe.js";
export type { ProbePythonOptions, PythonProbe, PythonVersionInfo } from "./python-probe.js";

export { COMPAT_MATRIX } from "./matrix.js";
export type { Classification, LibraryCompat } from "./library-compat.js";
export { lookupLibrary } from "./lookup-library.js";

export { checkCompatibility } from "./check-compatibility.js";
export type {
  CheckCompatibilityInput,
  CompatReport,
  CompatWarning,
  CompatWarningCode,
  LibraryList,
} from "./check-compatibility.js";

export { recommendProfile } from "./recommend-profile.js";
export type { ProfileRecommendation, RecommendProfileInput, Workload } from "./recommend-profile.js";
