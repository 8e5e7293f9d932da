/**
 * The event catalog, published on node:diagnostics_channel. Subscribe with
 * `diagnostics_channel.subscribe(SNAKEPIT_EVENTS.requestFinished, fn)`. Messages
 * are built only when someone listens. docs/events.md describes each one.
 */
import * as diagnosticsChannel from "node:diagnostics_channel";
import type { SnakepitErrorCode } from "./errors.js";
import type { Pool } from "./pool-types.js";
import type { WorkerRuntimeInfo } from "./worker-profile.js";

export const SNAKEPIT_EVENTS = {
  poolCreated: "snakepit:pool:created",
  poolClosed: "snakepit:pool:closed",
  poolSaturated: "snakepit:pool:saturated",
  poolDegraded: "snakepit:pool:degraded",
  poolRecovered: "snakepit:pool:recovered",
  workerStarting: "snakepit:worker:starting",
  workerReady: "snakepit:worker:ready",
  workerStartFailed: "snakepit:worker:start-failed",
  workerExited: "snakepit:worker:exited",
  workerRecycled: "snakepit:worker:recycled",
  workerOutput: "snakepit:worker:output",
  requestQueued: "snakepit:request:queued",
  requestStarted: "snakepit:request:started",
  requestFinished: "snakepit:request:finished",
} as const;

export type SnakepitEventName = (typeof SNAKEPIT_EVENTS)[keyof typeof SNAKEPIT_EVENTS];

interface PoolRef {
  /** The pool itself, for subscribers that want to look closer (stats, describe). */
  readonly pool: Pool;
  readonly poolName: string;
  readonly profile: string;
}

export interface PoolCreatedEvent extends PoolRef {
  readonly size: number;
}
export interface PoolClosedEvent extends PoolRef {
  readonly forced: boolean;
}
export interface PoolSaturatedEvent extends PoolRef {
  readonly queued: number;
  readonly maxQueue: number;
  readonly tool: string;
}
export interface PoolDegradedEvent extends PoolRef {
  readonly reason: string;
  readonly error: Error;
}
export interface PoolRecoveredEvent extends PoolRef {
  /** How long it was degraded. */
  readonly degradedMs: number;
}
export interface WorkerStartingEvent extends PoolRef {
  readonly workerId: string;
  /** Why it starts: the initial fill, a replacement after a crash, a recycle. */
  readonly reason: "initial" | "replace" | "recycle";
}
export interface WorkerReadyEvent extends PoolRef {
  readonly workerId: string;
  readonly pid: number | undefined;
  readonly startMs: number;
  readonly info: WorkerRuntimeInfo;
}
export interface WorkerStartFailedEvent extends PoolRef {
  readonly workerId: string;
  readonly error: Error;
}
export interface WorkerExitedEvent extends PoolRef {
  readonly workerId: string;
  readonly pid: number | undefined;
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** False for a crash. */
  readonly expected: boolean;
  readonly stderrTail: readonly string[];
  readonly uptimeMs: number;
  /** Calls it was given (counted when given, before they ran). */
  readonly requestsStarted: number;
  /** @deprecated The same number as requestsStarted, under its old name. */
  readonly requestsServed: number;
  /** Calls it answered (a result or the tool's own error). */
  readonly requestsCompleted: number;
  /** Calls that were running on it when it died. */
  readonly inFlight: number;
}
export interface WorkerRecycledEvent extends PoolRef {
  readonly workerId: string;
  readonly reason: string;
  readonly uptimeMs: number;
  /** Calls it was given. */
  readonly requestsStarted: number;
  /** @deprecated The same number as requestsStarted, under its old name. */
  readonly requestsServed: number;
  readonly detail?: Record<string, unknown>;
}
export interface WorkerOutputEvent extends PoolRef {
  readonly workerId: string;
  readonly stream: "stdout" | "stderr";
  readonly line: string;
}
export interface RequestQueuedEvent extends PoolRef {
  readonly callId: string;
  readonly tool: string;
  readonly queueDepth: number;
}
export interface RequestStartedEvent extends PoolRef {
  readonly callId: string;
  readonly tool: string;
  readonly kind: "execute" | "stream";
  readonly workerId: string;
  readonly sessionId: string | undefined;
  readonly waitMs: number;
  /**
   * Headers sent to the worker with the call. Subscribers may add to it
   * synchronously (trace context propagation does).
   */
  readonly headers: Record<string, string>;
  /** Attach request-scoped data for your own finished handler (e.g. a span). */
  readonly context: Map<unknown, unknown>;
}
export interface RequestFinishedEvent extends PoolRef {
  readonly callId: string;
  readonly tool: string;
  readonly kind: "execute" | "stream";
  /** Undefined when the call never reached a worker (rejected, timed out in the queue, aborted there). */
  readonly workerId: string | undefined;
  readonly waitMs: number;
  readonly runMs: number;
  readonly outcome: "ok" | "error";
  readonly errorCode: SnakepitErrorCode | undefined;
  readonly error: Error | undefined;
  /** The same map the started event carried (empty if it never started). */
  readonly context: Map<unknown, unknown>;
}

export const channels = {
  poolCreated: diagnosticsChannel.channel(SNAKEPIT_EVENTS.poolCreated),
  poolClosed: diagnosticsChannel.channel(SNAKEPIT_EVENTS.poolClosed),
  poolSaturated: diagnosticsChannel.channel(SNAKEPIT_EVENTS.poolSaturated),
  poolDegraded: diagnosticsChannel.channel(SNAKEPIT_EVENTS.poolDegraded),
  poolRecovered: diagnosticsChannel.channel(SNAKEPIT_EVENTS.poolRecovered),
  workerStarting: diagnosticsChannel.channel(SNAKEPIT_EVENTS.workerStarting),
  workerReady: diagnosticsChannel.channel(SNAKEPIT_EVENTS.workerReady),
  workerStartFailed: diagnosticsChannel.channel(SNAKEPIT_EVENTS.workerStartFailed),
  workerExited: diagnosticsChannel.channel(SNAKEPIT_EVENTS.workerExited),
  workerRecycled: diagnosticsChannel.channel(SNAKEPIT_EVENTS.workerRecycled),
  workerOutput: diagnosticsChannel.channel(SNAKEPIT_EVENTS.workerOutput),
  requestQueued: diagnosticsChannel.channel(SNAKEPIT_EVENTS.requestQueued),
  requestStarted: diagnosticsChannel.channel(SNAKEPIT_EVENTS.requestStarted),
  requestFinished: diagnosticsChannel.channel(SNAKEPIT_EVENTS.requestFinished),
};

/** Publish only when someone listens, so an unobserved pool builds no messages. */
export function publish<T>(channel: diagnosticsChannel.Channel, build: () => T): void {
  if (channel.hasSubscribers) channel.publish(build());
}
