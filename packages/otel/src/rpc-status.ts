/**
 * The gRPC status code (`rpc.grpc.status_code`) a call's outcome maps to. Tool
 * errors travel inside a successful RPC (the response carries them), and calls
 * refused in the queue never reach a worker, so the code is derived from the
 * Snakepit error code rather than read off the wire.
 */
import type { SnakepitErrorCode } from "@snakepit/core";

const GRPC_STATUS: Readonly<Record<SnakepitErrorCode, number>> = {
  invalid_config: 3, // INVALID_ARGUMENT
  invalid_argument: 3, // INVALID_ARGUMENT
  payload_too_large: 8, // RESOURCE_EXHAUSTED
  unknown_tool: 12, // UNIMPLEMENTED
  unknown_pool: 5, // NOT_FOUND
  queue_full: 8, // RESOURCE_EXHAUSTED
  queue_timeout: 14, // UNAVAILABLE
  deadline_exceeded: 4, // DEADLINE_EXCEEDED
  aborted: 1, // CANCELLED
  pool_closed: 14, // UNAVAILABLE
  worker_start_failed: 14, // UNAVAILABLE
  worker_crashed: 14, // UNAVAILABLE
  python_error: 2, // UNKNOWN
  internal: 13, // INTERNAL
  // Raised by @snakepit/compat's interpreter probe, never by a call; listed so the map stays total.
  python_not_found: 5, // NOT_FOUND
  probe_failed: 2, // UNKNOWN
  probe_timeout: 4, // DEADLINE_EXCEEDED
};

/** 0 (OK) without an error code; 2 (UNKNOWN) for a code this version does not know. */
export function grpcStatusFor(errorCode: SnakepitErrorCode | undefined): number {
  if (errorCode === undefined) return 0;
  return GRPC_STATUS[errorCode] ?? 2;
}
