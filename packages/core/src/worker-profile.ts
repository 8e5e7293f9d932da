/**
 * The seam between the pool and the ways workers come to exist. The pool owns
 * queueing, selection, deadlines, cancellation and replacing workers that die;
 * a profile only starts workers and says how many calls each one takes at once.
 */
import type { Logger } from "./logger.js";
import type { PoolSettings } from "./pool-settings.js";
import type { WorkerChannel } from "./worker-channel.js";

/** What the worker reports about its interpreter and adapter. */
export interface WorkerRuntimeInfo {
  readonly pid: number;
  readonly pythonVersion: string;
  readonly implementation: string;
  /** The interpreter is a free-threaded build (Py_GIL_DISABLED). */
  readonly freeThreaded: boolean;
  /** The GIL is enabled at run time (always true on a GIL build). */
  readonly gilEnabled: boolean;
  readonly threads: number;
  readonly adapter: string;
  readonly adapterThreadSafe: boolean;
  readonly platform: string;
  /** Where the worker runs ("host:port"), for workers on other hosts; absent for local processes. */
  readonly host?: string;
  /**
   * The worker's own memory after its adapter's setup(), before its first call:
   * the baseline for memory recycling. Absent when the profile cannot tell.
   */
  readonly memoryBaseline?: { readonly rssBytes: number; readonly pssBytes: number; readonly ussBytes: number };
}

/** How a worker ended. */
export interface WorkerExit {
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** The last lines the worker wrote to stderr. */
  readonly stderrTail: readonly string[];
  /** True when the pool asked it to stop (close, recycle); false for a crash. */
  readonly expected: boolean;
}

export interface WorkerStartContext {
  /** Unique within the pool's lifetime, e.g. "default/w3". */
  readonly workerId: string;
  readonly poolName: string;
  readonly options: PoolSettings;
  /** A private directory (mode 0700) for this pool's sockets, made the first time it is read; removed on close. */
  readonly runtimeDir: string;
  /** Aborted when the start deadline passes or the pool closes. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /** Called for each line the worker prints (stdout or stderr). */
  onOutput(stream: "stdout" | "stderr", line: string): void;
}

/** One started, ready worker, as the pool sees it. */
export interface WorkerHandle {
  readonly id: string;
  /** The OS process id, when the worker is a local process. */
  readonly pid: number | undefined;
  /** How many calls it runs at once. */
  readonly capacity: number;
  /**
   * Calls it may be sent beyond its capacity when calls queue and the tools are
   * known to be fast: they wait in the worker, in order. Only for transports that
   * keep order and can cancel a waiting call (the local data plane). Default 0.
   */
  readonly pipelineDepth?: number;
  /**
   * Once the worker has exited: true for a call it never began, false for one it
   * may have, undefined when it cannot tell (then the pool assumes, of an in-order
   * worker's open calls, that only the first `capacity` may have begun).
   */
  neverStarted?(callId: string): boolean | undefined;
  readonly info: WorkerRuntimeInfo;
  readonly channel: WorkerChannel;
  /** Settles once, when the worker is gone for whatever reason. Never rejects. */
  readonly exited: Promise<WorkerExit>;
  /** Stop gracefully: let running calls finish (bounded by timeoutMs), then end. */
  stop(options: { timeoutMs: number }): Promise<void>;
  /** End it now (SIGKILL for a process). Idempotent. */
  kill(): void;
}

export interface WorkerProfile {
  /** Shown in stats and events: "process", "thread", or your own name. */
  readonly name: string;
  /**
   * Start one worker and resolve once it can take calls. Reject with a
   * SnakepitError("worker_start_failed") that says why when it cannot.
   */
  startWorker(context: WorkerStartContext): Promise<WorkerHandle>;
}
