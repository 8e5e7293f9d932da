/**
 * Attribute names on Snakepit's spans and metrics. The `rpc.*`, `network.*` and
 * `error.type` ones are OpenTelemetry semantic conventions; the rest are Snakepit's.
 * docs/telemetry.md lists where each appears.
 */
export const SNAKEPIT_ATTRIBUTES = {
  rpcSystem: "rpc.system",
  rpcService: "rpc.service",
  rpcMethod: "rpc.method",
  rpcGrpcStatusCode: "rpc.grpc.status_code",
  networkTransport: "network.transport",
  serverAddress: "server.address",
  serverPort: "server.port",
  errorType: "error.type",
  poolName: "snakepit.pool.name",
  profile: "snakepit.profile",
  tool: "snakepit.tool",
  callId: "snakepit.call.id",
  callKind: "snakepit.call.kind",
  sessionId: "snakepit.session.id",
  workerId: "snakepit.worker.id",
  workerPid: "snakepit.worker.pid",
  queueWaitMs: "snakepit.queue.wait_ms",
  outcome: "snakepit.outcome",
  errorCode: "snakepit.error.code",
  pythonType: "snakepit.python.type",
  recycleReason: "snakepit.recycle.reason",
  crashReason: "snakepit.crash.reason",
} as const;

/** The gRPC service the pool calls in its workers (proto/snakepit/worker/v1/worker.proto). */
export const RPC_SERVICE = "snakepit.worker.v1.WorkerService";

/** The instrumentation scope of the tracer and meter. */
export const INSTRUMENTATION_SCOPE = "@snakepit/otel";
