/**
 * Lifecycle's own event, on node:diagnostics_channel next to core's catalog.
 * Recycles are core's `snakepit:worker:recycled` (with lifecycle's reason and a
 * `detail` that carries memory); restarts after a crash or a kill are this one.
 */
import * as diagnosticsChannel from "node:diagnostics_channel";
import type { Pool } from "@snakepit/core";
import type { ExitClassification } from "./classify-exit.js";
import type { MemoryReading } from "./memory.js";

export const LIFECYCLE_EVENTS = {
  restart: "snakepit:lifecycle:restart",
} as const;

/** Why a worker was replaced without a graceful drain. */
export type RestartReason = "crash" | "hung" | "hard_timeout";

export interface LifecycleRestartEvent {
  readonly pool: Pool;
  readonly poolName: string;
  readonly profile: string;
  readonly workerId: string;
  readonly pid: number | undefined;
  /** "crash": it died on its own; "hung" / "hard_timeout": lifecycle killed it. */
  readonly reason: RestartReason;
  /** How it ended (a killed worker ends with SIGKILL). */
  readonly exit: ExitClassification;
  /** The last lines it wrote to stderr (a Python traceback or faulthandler dump, often). */
  readonly stderrTail: readonly string[];
  readonly uptimeMs: number;
  readonly requestsServed: number;
  /** Calls that were running on it when it ended. */
  readonly inFlight: number;
  /** Its last memory reading, if it was sampled. */
  readonly memory: MemoryReading | undefined;
  /** The delay before its replacement starts, from the restart backoff. */
  readonly nextStartDelayMs: number;
}

export const restartChannel = diagnosticsChannel.channel(LIFECYCLE_EVENTS.restart);
