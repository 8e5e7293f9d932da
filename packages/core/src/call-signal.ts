/**
 * One signal per call, from admission to the last byte of its answer. It links
 * the caller's AbortSignal (if any) and the call's deadline (one timer for the
 * whole pool), and its reason is the SnakepitError the call ends with: the queue,
 * the channel and the pool's error mapping all read it, and none arms a timer
 * of its own for the call.
 *
 * It is a small object rather than an AbortController: a call that the caller
 * gave no signal costs no AbortSignal, listener or timer of its own. Channels see
 * it as a ChannelSignal (the part of AbortSignal they use).
 */
import { SnakepitError } from "./errors.js";
import type { DeadlineTimer } from "./deadline-timer.js";
import type { ChannelSignal } from "./worker-channel.js";

type Listener = () => void;

export class CallSignal implements ChannelSignal {
  aborted = false;
  reason: SnakepitError | undefined;
  /** Set with the reason when the worker never started the call: it may run elsewhere. */
  notStarted = false;
  /**
   * The caller aborted or the deadline passed: the tool may still run in the
   * worker (cancel is cooperative), so its capacity is held until it stops.
   */
  cancelled = false;
  /** performance.now() when the current attempt was sent. */
  sentAt = 0;
  /** A withdraw of it is under way. */
  withdrawing = false;
  /** Where it is, for the deadline's message: "queue", or the worker's id. */
  where = "queue";
  private listeners: Listener[] | undefined;
  private unlinkCaller: (() => void) | undefined;
  private unschedule: (() => void) | undefined;

  constructor(
    readonly callId: string,
    readonly tool: string,
    readonly pool: string,
    /** Absolute (Date.now() ms); Infinity for none. */
    readonly deadline: number,
    /** The caller's own signal (or the stream consumer's stop signal). */
    readonly caller: AbortSignal | undefined,
    timers: DeadlineTimer,
  ) {
    if (caller) {
      const onAbort = () => {
        if (this.aborted) return;
        this.cancelled = true;
        this.fail(abortedError(tool, callId, pool, caller));
      };
      caller.addEventListener("abort", onAbort, { once: true });
      this.unlinkCaller = () => caller.removeEventListener("abort", onAbort);
    }
    if (Number.isFinite(deadline)) this.unschedule = timers.add(deadline, () => this.expire());
  }

  /** End the call (this attempt of it) with `error`; `notStarted`: the worker never started it. */
  fail(error: SnakepitError, notStarted = false): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = error;
    this.notStarted = notStarted;
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners) for (const l of listeners) l();
  }

  /**
   * Ready for another attempt after one its worker never started. Only then: a
   * call the caller aborted or whose deadline passed has ended for good.
   */
  rearm(): void {
    this.aborted = false;
    this.reason = undefined;
    this.notStarted = false;
    this.withdrawing = false;
    this.where = "queue";
  }

  /** The call ended: unlink from the caller's signal and the deadline timer. */
  dispose(): void {
    this.unlinkCaller?.();
    this.unschedule?.();
    this.unlinkCaller = this.unschedule = undefined;
    this.listeners = undefined;
  }

  addEventListener(_type: "abort", listener: Listener): void {
    if (this.aborted) return;
    (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: "abort", listener: Listener): void {
    const i = this.listeners?.indexOf(listener) ?? -1;
    if (i >= 0) this.listeners!.splice(i, 1);
  }

  private expire(): void {
    this.unschedule = undefined;
    if (this.aborted) return;
    this.cancelled = true;
    const ctx = { pool: this.pool, tool: this.tool, callId: this.callId };
    this.fail(
      this.where === "queue"
        ? new SnakepitError("deadline_exceeded", `call ${this.tool} passed its deadline while waiting for a free worker`, ctx)
        : new SnakepitError("deadline_exceeded", `call ${this.tool} passed its deadline on worker ${this.where}; the tool was told to stop`, {
            ...ctx,
            workerId: this.where,
          }),
    );
  }
}

export function abortedError(tool: string, callId: string, pool: string, signal: AbortSignal | undefined): SnakepitError {
  const reason: unknown = signal?.reason;
  const why = reason instanceof Error ? `: ${reason.message}` : reason !== undefined ? `: ${String(reason)}` : "";
  return new SnakepitError("aborted", `call ${tool} was aborted${why}`, { pool, tool, callId, cause: reason });
}
