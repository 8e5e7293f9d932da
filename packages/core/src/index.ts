// These declarations use Node's types (AbortSignal, Buffer, node:* modules): @types/node.
/// <reference types="node" preserve="true" />
// The public API of @snakepit/core. Everything exported is documented and kept stable.
export { createPool } from "./create-pool.js";
export { createSnakepit } from "./snakepit.js";
export type { Snakepit, SnakepitOptions } from "./snakepit.js";
export type {
  CallOptions,
  CloseOptions,
  ParamDescription,
  Pool,
  PoolDescription,
  PoolState,
  PoolStats,
  RecycleOptions,
  ToolDescription,
  WorkerHealth,
  WorkerState,
  WorkerStats,
} from "./pool-types.js";
export type { JsonSchema, StreamingTool, ToolCallParameters, ToolTypes, TypedClient, TypedClientOptions, UnaryTool } from "./pool-types.js";
export { typedClient } from "./typed-client.js";
export { DEFAULTS } from "./options.js";
export type { PoolOptions } from "./options.js";
export type { PoolSettings, ProfileName, PythonOptions, TransportName } from "./pool-settings.js";
export { SNAKEPIT_ERROR_CODES, SnakepitError, isSnakepitError } from "./errors.js";
export type { ConfigIssue, SnakepitErrorCode, SnakepitErrorDetails } from "./errors.js";
export { invalidConfigError, schemaIssues, unknownOptionIssue, type SchemaIssue } from "./config-issues.js";
export { SNAKEPIT_EVENTS } from "./events.js";
export type {
  PoolClosedEvent,
  PoolCreatedEvent,
  PoolDegradedEvent,
  PoolRecoveredEvent,
  PoolSaturatedEvent,
  RequestFinishedEvent,
  RequestQueuedEvent,
  RequestStartedEvent,
  SnakepitEventName,
  WorkerExitedEvent,
  WorkerOutputEvent,
  WorkerReadyEvent,
  WorkerRecycledEvent,
  WorkerStartFailedEvent,
  WorkerStartingEvent,
} from "./events.js";
export { processProfile, threadProfile } from "./process-profile.js";
export type { LocalProfileOptions } from "./process-profile.js";
// A profile's own type (the `profile` option takes one) and what a worker reports; the
// plumbing for writing profiles (channels, handles) is in @snakepit/core/profile.
export type { WorkerProfile, WorkerRuntimeInfo } from "./worker-profile.js";
export type { KillWorkerOptions, PoolControl, PoolPlugin, RestartPolicy } from "./plugin.js";
export { registerPoolHooks } from "./pool-hooks.js";
export type { PoolHooks } from "./pool-hooks.js";
export { backoffDelay, isFailedStart } from "./backoff.js";
export { consoleLogger, silentLogger } from "./logger.js";
export type { Logger } from "./logger.js";
export { resolvePythonExecutable } from "./python-executable.js";
export type { ResolvedExecutable } from "./python-executable.js";
export { isNDArray, ndarray, ndarrayStats } from "./ndarray.js";
export type { NDArray, NDArrayData, NDArrayOptions } from "./ndarray.js";
export type { NDArrayStats } from "./ndarray.js";
