/** The public shape of a pool: what createPool resolves to. */
import type { WorkerRuntimeInfo } from "./worker-profile.js";

export type PoolState = "starting" | "ready" | "draining" | "stopped" | "failed";

export interface CallOptions {
  /**
   * Deadline for the whole call, queue wait included; it also reaches the Python
   * tool (`current_call().deadline`). Default: the pool's defaultTimeoutMs.
   */
  timeoutMs?: number;
  /** Abort the call: a queued call leaves the queue, a running one is cancelled in Python. */
  signal?: AbortSignal;
  /** Prefer the worker that served this session before (falls back to any free worker). */
  sessionId?: string;
  /**
   * The tool is safe to run twice: if its worker crashes mid-call, the call is
   * retried once on another worker. Default false.
   */
  idempotent?: boolean;
}

export interface CloseOptions {
  /** How long running calls may take before workers are killed. Default: the pool's closeTimeoutMs. */
  timeoutMs?: number;
}

export interface ParamDescription {
  readonly name: string;
  /** The Python annotation as written ("int", "list[str]"), or "" when there is none. */
  readonly type: string;
  readonly required: boolean;
  /** The default value, when it has one that JSON can carry. */
  readonly default?: unknown;
  readonly kind: string;
}

export interface ToolDescription {
  readonly name: string;
  readonly doc: string;
  readonly params: readonly ParamDescription[];
  readonly returns: string;
  /** Generator tools: call them with pool.stream(). */
  readonly streaming: boolean;
  readonly async: boolean;
  /**
   * JSON Schema (draft 2020-12) of the arguments object, derived from the Python type
   * hints; absent from workers that predate schemas. `snakepit types` prints TypeScript
   * from it, and `pool.client({ validate: true })` checks arguments against it.
   */
  readonly paramsSchema?: JsonSchema;
  /** JSON Schema of the result, or of each chunk for a streaming tool. */
  readonly returnsSchema?: JsonSchema;
  /** Annotations with no schema (typed as unknown), one line each naming the tool and the parameter. */
  readonly schemaWarnings: readonly string[];
}

/** A JSON Schema document, as parsed JSON. */
export type JsonSchema = { readonly [keyword: string]: unknown } | boolean;

export interface PoolDescription {
  readonly adapter: string;
  readonly worker: WorkerRuntimeInfo;
  readonly tools: readonly ToolDescription[];
}

export type WorkerState = "starting" | "ready" | "draining" | "stopping";

export interface WorkerStats {
  readonly id: string;
  readonly pid: number | undefined;
  readonly state: WorkerState;
  /** Calls running on it now. */
  readonly load: number;
  /** Calls it can run at once. */
  readonly capacity: number;
  /** Calls given to it so far (counted when given, before they run). */
  readonly requestsStarted: number;
  /** @deprecated The same number as requestsStarted, under its old name. */
  readonly requestsServed: number;
  readonly uptimeMs: number;
  /** What the worker reported at start-up (interpreter, adapter, host, memory baseline); absent while starting. */
  readonly info?: WorkerRuntimeInfo;
}

/** One worker's answer to a health check. */
export interface WorkerHealth {
  readonly workerId: string;
  readonly pid: number | undefined;
  /** "serving", "draining", or "unreachable" when it did not answer in time. */
  readonly status: "serving" | "draining" | "unreachable";
  readonly activeCalls: number;
  readonly capacity: number;
  readonly requestsStarted: number;
  /** Resident set size of the Python process. */
  readonly rssBytes: number;
  /** Proportional set size (Linux), 0 where the OS does not report it. */
  readonly pssBytes: number;
  /** Unique set size (Linux), 0 where the OS does not report it. */
  readonly ussBytes: number;
  readonly uptimeMs: number;
  /** Why it is unreachable. */
  readonly error?: string;
}

export interface RecycleOptions {
  /** Why (for the recycled event): "manual" by default; lifecycle uses "max_requests", "ttl", "memory", ... */
  reason?: string;
  detail?: Record<string, unknown>;
  /**
   * "when-replaced" (default): the worker keeps taking calls until its replacement
   * is ready. "now": it takes no further call from this moment (a hard limit).
   * Calling again with "now" while a recycle is under way upgrades it.
   */
  drain?: "now" | "when-replaced";
  /** How long the old worker may take to finish its running calls before it is stopped. Default: closeTimeoutMs. */
  drainTimeoutMs?: number;
  /**
   * Reject with worker_start_failed (the start's own error as cause) when the
   * replacement could not start, instead of resolving. Rolling replacements use
   * it to stop the roll. Default false.
   */
  rejectIfNotReplaced?: boolean;
}

export interface PoolStats {
  readonly name: string;
  readonly profile: string;
  readonly state: PoolState;
  /** The number of workers the pool keeps. */
  readonly size: number;
  /** Workers ready to take calls. */
  readonly workers: number;
  readonly starting: number;
  /** Ready workers with at least one call running. */
  readonly busy: number;
  /** Ready workers with nothing running. */
  readonly idle: number;
  readonly capacity: number;
  readonly inFlight: number;
  readonly queued: number;
  readonly completed: number;
  readonly failed: number;
  /** Calls refused without running: queue full, queue timeout, closed pool. */
  readonly rejected: number;
  /** Workers that died unexpectedly and were replaced. */
  readonly crashes: number;
  /** Workers replaced on purpose: recycled (age, requests, memory, by hand) or killed by a plugin. */
  readonly recycles: number;
  /** Of those, workers killed by a plugin (hung, past a hard timeout) rather than drained. */
  readonly kills: number;
  /**
   * Calls sent to a second worker because the first never started them: taken
   * back from behind a call that ran long, or pipelined on a worker that died.
   */
  readonly resent: number;
  /** Set while the pool is degraded (a plugin said so): callers get this error at once. */
  readonly degraded: { readonly reason: string; readonly since: number; readonly error: Error } | undefined;
  readonly perWorker: readonly WorkerStats[];
}

export interface Pool extends AsyncDisposable {
  readonly name: string;
  /** The profile's name: "process", "thread", or a custom profile's. */
  readonly profile: string;
  state(): PoolState;
  /** Run a tool and resolve to its result. */
  execute<T = unknown>(tool: string, args?: Record<string, unknown>, options?: CallOptions): Promise<T>;
  /** Run a generator tool; iterate to receive what it yields. Leaving the loop early stops it in Python. */
  stream<T = unknown>(tool: string, args?: Record<string, unknown>, options?: CallOptions): AsyncIterable<T>;
  /** The adapter's tools, with their parameters and docs, and the worker's interpreter. */
  describe(): Promise<PoolDescription>;
  /**
   * A typed client: one method per tool, typed by the interface `snakepit types`
   * generates (`pool.client<Tools>()`). See docs/typed-calls.md.
   */
  client<T extends ToolTypes<T>>(options?: TypedClientOptions): TypedClient<T>;
  stats(): PoolStats;
  /** Ask every ready worker for its health and memory (answered even while all tool slots are busy). */
  health(options?: { timeoutMs?: number }): Promise<WorkerHealth[]>;
  /**
   * Replace one worker without losing a call: a new worker starts first, new
   * calls go to it, the old one finishes what it runs (bounded), then stops. If
   * the new worker cannot start, an old worker that was not drained at once
   * keeps serving (recycle it again later).
   */
  recycleWorker(workerId: string, options?: RecycleOptions): Promise<void>;
  /** Stop taking calls, let running ones finish (bounded), stop the workers. Idempotent. */
  close(options?: CloseOptions): Promise<void>;
  /** Fail everything now and kill the workers. */
  destroy(): Promise<void>;
}

// ---- typed calls (docs/typed-calls.md) ------------------------------------------

/** A tool that returns: `args` is its arguments object, `returns` its result. */
export interface UnaryTool<A = Record<string, unknown>, R = unknown> {
  readonly args: A;
  readonly returns: R;
}

/** A generator tool: `args` is its arguments object, `yields` one chunk. */
export interface StreamingTool<A = Record<string, unknown>, C = unknown> {
  readonly args: A;
  readonly yields: C;
}

/** What `snakepit types` generates: one entry per tool, keyed by the tool's name. */
export type ToolTypes<T> = { readonly [K in keyof T]: UnaryTool<any, any> | StreamingTool<any, any> };

/** The argument list of a typed call: the arguments object (optional when every argument is), then the call options. */
export type ToolCallParameters<A> = {} extends A ? [args?: A, options?: CallOptions] : [args: A, options?: CallOptions];

/**
 * One method per tool: a tool that returns resolves to its result, a generator tool
 * is an AsyncIterable of its chunks (leaving the loop early stops it in Python).
 * Each method keeps the JSDoc `snakepit types` wrote from the tool's docstring.
 */
export type TypedClient<T extends ToolTypes<T>> = {
  readonly [K in keyof T]: T[K] extends StreamingTool<infer A, infer C>
    ? (...call: ToolCallParameters<A>) => AsyncIterable<C>
    : T[K] extends UnaryTool<infer A, infer R>
      ? (...call: ToolCallParameters<A>) => Promise<R>
      : never;
};

export interface TypedClientOptions {
  /**
   * Check each call's arguments against the tool's JSON Schema (from Describe) before
   * the call leaves Node; a mismatch rejects with `invalid_argument` listing every
   * problem with its path (`error.issues`). For arguments that come from outside the
   * program (a request body); the generated types already check the program's own.
   * Default false.
   */
  validate?: boolean;
}
