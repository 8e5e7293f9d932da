// These declarations use Node's types (AbortSignal, Buffer, node:* modules): @types/node.
/// <reference types="node" preserve="true" />
// The public API of @snakepit/lifecycle.
export { lifecycle, lifecycleStats } from "./lifecycle.js";
export type { LifecyclePlugin } from "./lifecycle.js";
export { LIFECYCLE_DEFAULTS, resolveLifecycleOptions } from "./options.js";
export type { LifecycleOptions, MemoryMode, ResolvedLifecycleOptions } from "./options.js";
export { recycleAll } from "./recycle-all.js";
export type { RecycleAllOptions, RecycleAllResult } from "./recycle-all.js";
export { classifyExit } from "./classify-exit.js";
export type { ExitClassification, ExitKind } from "./classify-exit.js";
export { LIFECYCLE_EVENTS } from "./events.js";
export type { LifecycleRestartEvent, RestartReason } from "./events.js";
export type { MemoryMetric, MemoryReading } from "./memory.js";
export type { LifecycleStats, LimitUse, WorkerLifecycleStats } from "./stats.js";
