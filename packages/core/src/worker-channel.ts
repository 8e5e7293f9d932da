/**
 * A connection to one worker that speaks the wire contract's messages: the
 * local channel (socketpairs) for workers the pool spawns, the Connect-RPC
 * channel for workers reached over a socket. A profile may bring its own (any
 * transport that carries the same messages with the same semantics).
 */
import type {
  CallRequest,
  CallResponse,
  CancelResponse,
  DescribeResponse,
  DrainResponse,
  HealthResponse,
  StreamMessage,
} from "./gen/snakepit/worker/v1/worker_pb.js";

/**
 * The part of AbortSignal a channel uses. The pool passes each call's own
 * signal, which carries the caller's abort and the call's deadline (the pool
 * keeps every call's deadline behind one timer); an AbortSignal fits too.
 */
export interface ChannelSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

export interface ChannelCallOptions {
  /**
   * Aborting ends the call on this side at once. It does not stop the tool in
   * the worker: the pool sends cancel() for that, once, and waits until it stopped.
   * For execute() and stream() it also fires at the call's deadline.
   */
  signal?: ChannelSignal | undefined;
  /**
   * For requests other than calls (describe, health, cancel, drain): how long to
   * wait. Calls carry their deadline in the request (deadlineUnixMs) and in the
   * signal; a channel need not arm a timer of its own for them.
   */
  timeoutMs?: number | undefined;
}

export interface WorkerChannel {
  execute(request: CallRequest, options: ChannelCallOptions): Promise<CallResponse>;
  stream(request: CallRequest, options: ChannelCallOptions): AsyncIterable<StreamMessage>;
  /** Cancel a running call; waits up to `waitMs` for it to finish in the worker. */
  cancel(callId: string, waitMs: number, options?: ChannelCallOptions): Promise<CancelResponse>;
  describe(options?: ChannelCallOptions): Promise<DescribeResponse>;
  health(options?: ChannelCallOptions): Promise<HealthResponse>;
  drain(timeoutMs: number, options?: ChannelCallOptions): Promise<DrainResponse>;
  /**
   * Take back a call the worker has not started (one pipelined behind another):
   * resolves true when it never will run, and the call then fails here with a
   * "not_started" ChannelFailure (the pool sends it elsewhere); false when it has
   * started, and it runs on. Only transports that pipeline implement it.
   */
  withdraw?(callId: string): Promise<boolean>;
  /** Drop the connection; calls still open fail. Idempotent. */
  close(): void;
}

/**
 * "not_started": the worker never started the call (it was withdrawn), so it may
 * run elsewhere, idempotent or not.
 */
export type ChannelFailureKind = "deadline_exceeded" | "aborted" | "unavailable" | "protocol" | "not_started";

/**
 * What a channel throws when the call did not complete as a call: the deadline
 * passed, the caller aborted, or the worker could not be reached. The pool turns
 * these into SnakepitErrors, using what it knows about the worker (did it exit?).
 */
export class ChannelFailure extends Error {
  override readonly name = "ChannelFailure";
  constructor(
    readonly kind: ChannelFailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
