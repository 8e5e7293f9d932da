// These declarations use Node's types (AbortSignal, Buffer, node:* modules): @types/node.
/// <reference types="node" preserve="true" />
// The public API of @snakepit/otel.
export { instrumentSnakepit } from "./instrument.js";
export type { InstrumentSnakepitOptions, SnakepitInstrumentation } from "./instrument.js";
export { INSTRUMENTATION_SCOPE, RPC_SERVICE, SNAKEPIT_ATTRIBUTES } from "./attributes.js";
export { DURATION_BUCKETS_S, SNAKEPIT_METRICS } from "./request-metrics.js";
export { grpcStatusFor } from "./rpc-status.js";
