/**
 * One call from admission to its answer: wait for a worker, send, map what went
 * wrong to a SnakepitError, and give the capacity back (only once Python has
 * really finished a cancelled call). A call its worker never started (taken
 * back from behind a slow call, or pipelined on a worker that died) is sent to
 * another worker; a call that ran is never run twice here.
 */
import type { Admission } from "./admission.js";
import { abortedError, CallSignal } from "./call-signal.js";
import type { EncodedValue } from "./codec.js";
import { SnakepitError, type SnakepitErrorCode } from "./errors.js";
import type { CallRequest } from "./gen/snakepit/worker/v1/worker_pb.js";
import { poolRef, type PoolCore } from "./pool-core.js";
import type { CallOptions } from "./pool-types.js";
import { MAX_TIMER_DELAY_MS } from "./long-timer.js";
import { ChannelFailure } from "./worker-channel.js";
import type { WorkerSlot } from "./worker-slot.js";
import type { Workforce } from "./workforce.js";

export type CallKind = "execute" | "stream";

/** A call checked and encoded, ready to be admitted. */
export interface PreparedCall {
  readonly tool: string;
  readonly encoded: EncodedValue;
  /** Absolute (Date.now() ms, whole); Infinity for none. */
  readonly deadline: number;
  readonly callId: string;
}

/** Sends one attempt of the call to the worker of `slot`. */
export type SendCall<R> = (slot: WorkerSlot, request: CallRequest, signal: CallSignal, timeoutMs: number | undefined) => Promise<R>;

/** Limits how long each cancelled-call acknowledgement is waited for. */
const CANCEL_WAIT_MS = 1000;
/** How often one call may be sent again because its worker never started it. */
const MAX_NOT_STARTED_RETRIES = 3;
/** No headers to send: shared, since nothing writes to it. */
const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

export class CallRunner {
  constructor(
    private readonly core: PoolCore,
    private readonly admission: Admission,
    private readonly workforce: Workforce,
  ) {}

  async run<R>(prepared: PreparedCall, options: CallOptions, kind: CallKind, send: SendCall<R>, stopSignal?: AbortSignal): Promise<R> {
    const { core, admission } = this;
    const { tool, encoded, deadline, callId } = prepared;
    const callerSignal = stopSignal && options.signal ? AbortSignal.any([options.signal, stopSignal]) : (options.signal ?? stopSignal);
    const call = new CallSignal(callId, tool, core.name, deadline, callerSignal, core.timers);
    const enqueuedAt = performance.now();
    // Made only when a hook or subscriber takes part in calls.
    const observed = core.hooks.wants("onCallStart") || core.hooks.wants("onCallEnd");
    const context = observed ? new Map<unknown, unknown>() : undefined;
    const headers = observed ? {} : NO_HEADERS;
    try {
      for (let attempt = 0; ; attempt++) {
        // Decided once per attempt, so claim and release agree. A call sent again is
        // never pipelined: it waits for a free slot, so it cannot be handed back twice.
        const fast = attempt === 0 && kind === "execute" && admission.isFast(tool);
        let slot: WorkerSlot;
        try {
          slot = await admission.acquire(call, fast, options.sessionId);
          // Its worker went away between the claim and now (an exit, a kill): the call
          // was never sent, so it may go to another worker.
          while (slot.gone) {
            admission.release(slot, fast);
            slot = await admission.acquire(call, fast, options.sessionId);
          }
        } catch (err) {
          const e = SnakepitError.from(err);
          if (e.code === "queue_full" || e.code === "queue_timeout" || e.code === "pool_closed") core.counters.rejected++;
          else core.counters.failed++;
          this.finished(call, kind, undefined, performance.now() - enqueuedAt, 0, e, context);
          throw e;
        }
        const startedAt = performance.now();
        const waitMs = startedAt - enqueuedAt;
        let abandoned = false;
        try {
          // A call sent again (its first worker never started it) is still one call to observers.
          if (attempt === 0 && observed) {
            core.hooks.emit("onCallStart", () => ({
              ...poolRef(core),
              callId,
              tool,
              kind,
              workerId: slot.id,
              sessionId: options.sessionId,
              waitMs,
              headers,
              context: context!,
            }));
          }
          call.where = slot.id;
          call.sentAt = startedAt;
          admission.sent(slot, call);
          // Channels may arm a timer from it: beyond setTimeout's limit the call signal alone keeps the deadline.
          const remaining = Math.max(1, deadline - Date.now());
          const timeoutMs = remaining <= MAX_TIMER_DELAY_MS ? remaining : undefined;
          const result = await send(slot, request(call, encoded, options.sessionId, headers), call, timeoutMs);
          this.workforce.noteServing(slot);
          core.counters.completed++;
          const doneAt = performance.now();
          if (kind === "execute") admission.noteRunTime(tool, doneAt - slot.begunAt(startedAt, doneAt));
          this.finished(call, kind, slot.id, waitMs, doneAt - startedAt, undefined, context);
          return result;
        } catch (err) {
          const failedBy = call.aborted ? call.reason : undefined;
          const never = (failedBy !== undefined && call.notStarted) || (failedBy === undefined && err instanceof ChannelFailure && err.kind === "not_started");
          const mayResend = () => attempt < MAX_NOT_STARTED_RETRIES && core.state === "ready" && !callerSignal?.aborted && Date.now() < deadline;
          if (never && mayResend()) {
            // The worker never started it (withdrawn, or its worker died first): send it elsewhere.
            core.counters.resent++;
            call.rearm();
            continue;
          }
          let e: SnakepitError;
          if (never && !failedBy) {
            // Handed back, but it cannot be sent again (deadline, abort, closing pool): it did not run.
            e = callerSignal?.aborted
              ? abortedError(tool, callId, core.name, callerSignal)
              : Date.now() >= deadline
                ? new SnakepitError("deadline_exceeded", `call ${tool} passed its deadline before a worker started it`, { pool: core.name, tool, callId })
                : core.state !== "ready"
                  ? new SnakepitError("pool_closed", `pool ${core.name} closed before a worker started call ${tool}`, { pool: core.name, tool, callId })
                  : new SnakepitError("internal", `call ${tool} was handed back by its workers ${attempt + 1} times without running`, { pool: core.name, tool, callId });
          } else if (failedBy) {
            e = failedBy;
            // The caller aborted or the deadline passed: the worker may still be running it
            // (cancel is cooperative), so its capacity is kept until it is done.
            abandoned = call.cancelled;
          } else if (err instanceof ChannelFailure) {
            e = await this.channelError(err, slot, tool, callId);
            // The lane broke before the worker's exit was seen; the exit, seen meanwhile,
            // may say the worker never started this call: then it runs elsewhere after all.
            if (err.kind === "unavailable" && call.aborted && call.notStarted && mayResend()) {
              core.counters.resent++;
              call.rearm();
              continue;
            }
            abandoned = err.kind === "aborted" || err.kind === "deadline_exceeded";
          } else {
            // The worker answered (the tool's own error, or a result we could not use): it served.
            e = SnakepitError.from(err);
            this.workforce.noteServing(slot);
          }
          if (e.code === "aborted" && callerSignal?.aborted && stopSignal?.aborted && !options.signal?.aborted) {
            // The consumer left a stream early: that is not a failure.
            core.counters.completed++;
            this.finished(call, kind, slot.id, waitMs, performance.now() - startedAt, undefined, context);
          } else {
            core.counters.failed++;
            this.finished(call, kind, slot.id, waitMs, performance.now() - startedAt, e, context);
          }
          throw e;
        } finally {
          admission.left(slot, call);
          if (abandoned && !slot.exit && !slot.gone) void this.settleCancelled(slot, callId, fast);
          else admission.release(slot, fast);
        }
      }
    } finally {
      call.dispose();
    }
  }

  /** Hold a cancelled call's capacity until the worker confirms it has stopped running it (or is gone). */
  private async settleCancelled(slot: WorkerSlot, callId: string, fast: boolean): Promise<void> {
    try {
      const gone = slot.handle ? slot.handle.exited.then(() => undefined) : Promise.resolve(undefined);
      while (!slot.exit && !slot.gone && slot.handle) {
        const res = await Promise.race([slot.handle.channel.cancel(callId, CANCEL_WAIT_MS, { timeoutMs: CANCEL_WAIT_MS + 2_000 }), gone]);
        if (!res || res.finished || !res.found) break;
      }
    } catch {
      /* the worker went away: its exit handling takes over */
    } finally {
      this.admission.release(slot, fast);
    }
  }

  /** What a channel's failure means, from what the pool knows of the worker (did it exit, and how?). */
  private async channelError(err: ChannelFailure, slot: WorkerSlot, tool: string, callId: string): Promise<SnakepitError> {
    const { core } = this;
    const ctx = { pool: core.name, tool, callId, workerId: slot.id, cause: err };
    if (err.kind === "deadline_exceeded") {
      return new SnakepitError("deadline_exceeded", `call ${tool} passed its deadline on worker ${slot.id}; the tool was told to stop`, ctx);
    }
    // The connection broke: most often because the worker died. No further call
    // goes to it from now on; wait briefly for its exit so the error can say how it died.
    if (err.kind !== "protocol" && !slot.gone) slot.takeOutOfRotation();
    const exit = slot.exit ?? (slot.handle ? await Promise.race([slot.handle.exited, delay(2_000)]) : undefined);
    if (exit) return this.workforce.crashError(slot, exit);
    if (err.kind === "protocol") return new SnakepitError("internal", `worker ${slot.id} refused the call: ${err.message}`, ctx);
    // Alive but unreachable: it is of no use; replace it.
    slot.handle?.kill();
    return new SnakepitError("worker_crashed", `lost the connection to worker ${slot.id} (${err.message}); it was replaced`, ctx);
  }

  private finished(
    call: CallSignal,
    kind: CallKind,
    workerId: string | undefined,
    waitMs: number,
    runMs: number,
    error: SnakepitError | undefined,
    context: Map<unknown, unknown> | undefined,
  ): void {
    const { core } = this;
    core.hooks.emit("onCallEnd", () => ({
      ...poolRef(core),
      callId: call.callId,
      tool: call.tool,
      kind,
      workerId,
      waitMs,
      runMs,
      outcome: error ? ("error" as const) : ("ok" as const),
      errorCode: error?.code as SnakepitErrorCode | undefined,
      error,
      context: context ?? new Map(),
    }));
  }
}

/**
 * The request as a plain message object: protobuf-es v2 messages are plain
 * objects, and the reflective create() costs more than the rest of a no-op call.
 */
function request(call: CallSignal, encoded: EncodedValue, sessionId: string | undefined, headers: Record<string, string>): CallRequest {
  return {
    $typeName: "snakepit.worker.v1.CallRequest",
    callId: call.callId,
    tool: call.tool,
    args: { $typeName: "snakepit.worker.v1.Payload", json: encoded.json, attachments: encoded.attachments },
    sessionId: sessionId ?? "",
    deadlineUnixMs: Number.isFinite(call.deadline) ? BigInt(call.deadline) : 0n,
    headers,
  };
}

function delay(ms: number): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), ms).unref());
}
