// These declarations use Node's types (AbortSignal, Buffer, node:* modules): @types/node.
/// <reference types="node" preserve="true" />
// The public API of @snakepit/diagnostics. The `snakepit` CLI is the package's bin (src/cli.ts).
export { inspect } from "./snapshot.js";
export type {
  DiagnosticsSnapshot,
  InspectOptions,
  PoolSnapshot,
  RuntimeSnapshot,
  WorkerDisplayState,
  WorkerSnapshot,
} from "./snapshot.js";
export type { HistogramSummary } from "./latency-histogram.js";
export type { MemorySample } from "./pool-tracker.js";
export { trackPool, untrackPool } from "./pool-tracker.js";
export type { DiagnosticsTarget } from "./targets.js";
export { DEFAULT_THRESHOLDS, recommend } from "./recommend.js";
export type { Recommendation, RecommendationRule, RecommendOptions, RecommendThresholds, Severity } from "./recommend.js";
export { serveDiagnostics } from "./serve-diagnostics.js";
export type { DiagnosticsServer, ServeDiagnosticsOptions } from "./serve-diagnostics.js";
export { PROMETHEUS_CONTENT_TYPE, toPrometheus } from "./prometheus.js";
export { runDoctor } from "./doctor.js";
export type { CheckStatus, DoctorCheck, DoctorOptions, DoctorReport } from "./doctor.js";
export { DEFAULT_SCALING_CONFIGS, SCALING_TOLERANCE, diagnoseScaling } from "./diagnose-scaling.js";
export type { ScalingConfig, ScalingOptions, ScalingProgress, ScalingReport, ScalingResult } from "./diagnose-scaling.js";
