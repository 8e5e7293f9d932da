/**
 * The local transport: every WorkerService message as a length-prefixed
 * DataFrame on two socketpairs shared with a worker the pool spawned (see the
 * end of worker.proto). No HTTP, no gRPC, no listening socket.
 *
 * - The data lane carries calls (execute, stream, credits; results, chunks, ends).
 * - The control lane carries what must be answered while every tool slot is
 *   busy: cancel, describe, health, drain.
 *
 * Same messages, same semantics as the Connect channel: the deadline travels in
 * the request and the worker enforces it (the timer here only answers the caller
 * on time); an abort or a deadline ends the call on this side, and the pool
 * then sends one cancel() that waits until the worker has really stopped it;
 * streams have flow control (credits), so a slow consumer never makes the
 * worker buffer without bound.
 */
import type { Duplex } from "node:stream";
import { create, fromBinary } from "@bufbuild/protobuf";
import {
  CancelRequestSchema,
  DataFrameSchema,
  DescribeRequestSchema,
  DrainRequestSchema,
  HealthRequestSchema,
  StreamCreditSchema,
  type CallRequest,
  type CallResponse,
  type CancelResponse,
  type DataFrame,
  type DescribeResponse,
  type DrainResponse,
  type HealthResponse,
  type StreamMessage,
} from "./gen/snakepit/worker/v1/worker_pb.js";
import { createDeadlineTimer } from "./deadline-timer.js";
import { createFrameLane } from "./frame-lane.js";
import { GATHER_MIN_BYTES, decodeFrame, encodeCallFrame, encodeCallFrameParts, encodeFrame, type IncomingFrame, type Outcome } from "./local-frames.js";
import { createSegmentLedger, type SharedMemoryOffer } from "./shm-ledger.js";
import { ChannelFailure, type ChannelCallOptions, type WorkerChannel } from "./worker-channel.js";

/** The worker's stream window (STREAM_WINDOW in local_transport.py); credits go back in halves. */
const STREAM_WINDOW = 16;
const CREDIT_BATCH = STREAM_WINDOW / 2;
const ENVELOPE_BYTES = 1024 * 1024;
/** The python_type of the worker's answer to a call it handed back (calls.py WITHDRAWN_TYPE). */
const WITHDRAWN_TYPE = "snakepit_bridge.Withdrawn";

interface PendingUnary {
  kind: "unary";
  /** Its place among the call frames sent on the data lane (1-based), as the worker counts them. */
  seq: number;
  resolve(res: CallResponse): void;
  reject(err: unknown): void;
}

interface PendingStream {
  kind: "stream";
  seq: number;
  push(msg: StreamMessage | "end"): void;
  fail(err: unknown): void;
}

type ControlCase = "cancelReply" | "describeReply" | "healthReply" | "drainReply";

interface PendingControl {
  resolve(frame: DataFrame): void;
  reject(err: unknown): void;
}

export interface LocalChannelOptions {
  /** The pool's end of the data-lane socketpair. */
  data: Duplex;
  /** The pool's end of the control-lane socketpair. */
  control: Duplex;
  maxMessageBytes: number;
  /**
   * Shared memory offered to this worker (its environment carries the same offer).
   * Used once the worker accepts it (its first frame); until then, and without
   * it, every attachment travels inline.
   */
  sharedMemory?: SharedMemoryOffer;
  /**
   * The worker's progress page (progress-page.ts): read when the data lane ends,
   * so that calls the worker never began fail as not_started (sent elsewhere).
   */
  progress?: { read(): number | undefined };
}

export interface LocalChannel extends WorkerChannel {
  withdraw(callId: string): Promise<boolean>;
  /**
   * Settles once both lanes have closed: everything the worker wrote before it
   * ended has been delivered. Calls still open then never got an answer.
   */
  readonly drained: Promise<void>;
  /** True once the worker accepted the shared memory offered (its first frame); false if the lanes closed first. */
  readonly sharedMemoryAccepted: Promise<boolean>;
  /**
   * Once the data lane has ended: true for a call the worker never began (by its
   * progress page), false for one it may have; undefined when that is not known.
   */
  neverStarted(callId: string): boolean | undefined;
}

export function createLocalChannel(options: LocalChannelOptions): LocalChannel {
  const maxFrameBytes = options.maxMessageBytes + ENVELOPE_BYTES;
  const calls = new Map<string, PendingUnary | PendingStream>();
  // Control replies come back under the request's call_id; a cancel's call_id is
  // the call it cancels, so several may share one id: answered in order.
  const controls = new Map<string, PendingControl[]>();
  let nextControlId = 0;
  /** Call frames (execute, stream) written to the data lane so far. */
  let callFrames = 0;
  /** After the data lane ended: the calls then open that the worker never began (by its page). */
  let notBegun: Set<string> | undefined;
  let begunKnown = false;
  let closed: ChannelFailure | undefined;
  const deadlines = createDeadlineTimer();
  const segments = createSegmentLedger(options.sharedMemory);
  let onAccepted: (accepted: boolean) => void = noop;
  const sharedMemoryAccepted = new Promise<boolean>((resolve) => (onAccepted = resolve));

  let lanesOpen = 2;
  let onDrained: () => void = noop;
  const drained = new Promise<void>((resolve) => (onDrained = resolve));
  // A lane that ends fails what only it could answer; the other lane still delivers
  // what the worker wrote to it (the pool needs every reply to tell which calls ran).
  const laneClosed = (lane: "data" | "control", reason: string, byPeer: boolean) => {
    const failure = new ChannelFailure("unavailable", reason);
    closed ??= failure;
    if (lane === "data") failOpenCalls(failure, byPeer);
    else failControls(failure);
    if (--lanesOpen === 0) {
      onAccepted(false);
      deadlines.clear();
      onDrained();
    }
  };
  const data = createFrameLane({
    socket: options.data,
    maxFrameBytes,
    onFrame: (body) => onDataFrame(decodeFrame(body)),
    onClose: (reason, byPeer) => laneClosed("data", reason, byPeer),
  });
  const control = createFrameLane({
    socket: options.control,
    maxFrameBytes,
    onFrame: (body) => onControlFrame(fromBinary(DataFrameSchema, body)),
    onClose: (reason, byPeer) => laneClosed("control", reason, byPeer),
  });

  function onDataFrame(frame: IncomingFrame): void {
    if (frame.kind === "sharedMemoryReady") {
      onAccepted(segments.accept(frame.prefix, frame.minBytes));
      return;
    }
    let failure: ChannelFailure | undefined;
    if ((frame.kind === "result" || frame.kind === "chunk") && frame.shared.length) {
      // The segments are ours from here, whether or not anyone still waits for them.
      try {
        segments.take(frame.shared, frame.outcome);
      } catch (err) {
        failure = new ChannelFailure("protocol", `the worker's result for call ${frame.callId}: ${(err as Error).message}`, { cause: err });
      }
    }
    const p = calls.get(frame.callId);
    if (!p) return; // a call we gave up on (aborted, deadline): its late answer is dropped
    if (failure) {
      calls.delete(frame.callId);
      if (p.kind === "unary") p.reject(failure);
      else p.fail(failure);
      return;
    }
    if (p.kind === "unary" && frame.kind === "result") {
      calls.delete(frame.callId);
      // A withdrawn call's answer can overtake the withdraw's reply (another lane):
      // either way, it never ran.
      if (frame.outcome.case === "error" && frame.outcome.error.pythonType === WITHDRAWN_TYPE) {
        p.reject(new ChannelFailure("not_started", `call ${frame.callId} was withdrawn before the worker started it`));
      } else p.resolve(asCallResponse(frame.outcome));
    } else if (p.kind === "stream" && frame.kind === "chunk") {
      p.push(asStreamMessage(frame.outcome));
    } else if (p.kind === "stream" && frame.kind === "end") {
      calls.delete(frame.callId);
      p.push("end");
    }
  }

  function onControlFrame(frame: DataFrame): void {
    const waiting = controls.get(frame.callId);
    const p = waiting?.shift();
    if (!p) return; // a reply that came after its request timed out
    if (waiting!.length === 0) controls.delete(frame.callId);
    p.resolve(frame);
  }

  function failCalls(reason: ChannelFailure): void {
    for (const [id, p] of calls) {
      calls.delete(id);
      if (p.kind === "unary") p.reject(reason);
      else p.fail(reason);
    }
  }

  /**
   * The data lane ended. When the worker's end closed (it died, or stopped reading),
   * a call it never began (sent after the last one its progress page names) fails
   * as not_started, so the pool may send it elsewhere; the others with `reason`.
   * Not when this side ended the lane: the worker may still run what it has read.
   */
  function failOpenCalls(reason: ChannelFailure, byPeer: boolean): void {
    const begun = byPeer ? options.progress?.read() : undefined;
    begunKnown = begun !== undefined;
    if (begun !== undefined) {
      notBegun = new Set();
      for (const [id, p] of calls) {
        if (p.seq <= begun) continue;
        notBegun.add(id);
        calls.delete(id);
        const never = new ChannelFailure("not_started", `call ${id} was never started: its worker ended first`);
        if (p.kind === "unary") p.reject(never);
        else p.fail(never);
      }
    }
    failCalls(reason);
  }

  function failControls(reason: ChannelFailure): void {
    for (const [id, waiting] of controls) {
      controls.delete(id);
      for (const p of waiting) p.reject(reason);
    }
  }

  /** Close both lanes now (what is still unread is dropped). */
  function shutdown(reason: ChannelFailure): void {
    closed ??= reason;
    deadlines.clear();
    failCalls(reason);
    failControls(reason);
    data.destroy();
    control.destroy();
  }

  /** Send a call; returns the segments made for its arguments (unlink them when it settles). */
  function sendCall(kind: "execute" | "stream", request: CallRequest, entry: { seq: number }): string[] {
    const placed = segments.place(request.args?.attachments ?? []);
    const call = {
      callId: request.callId,
      tool: request.tool,
      json: request.args?.json ?? new Uint8Array(0),
      attachments: placed.attachments,
      shared: placed.shared,
      sessionId: request.sessionId,
      deadlineUnixMs: Number(request.deadlineUnixMs),
      headers: request.headers,
    };
    let inline = 0;
    for (const a of placed.attachments) inline += a.byteLength;
    // Large attachments leave as they are (a gather write), small calls as one buffer.
    data.send(inline >= GATHER_MIN_BYTES ? encodeCallFrameParts(kind, call) : encodeCallFrame(kind, call));
    // Counted as the frame leaves, exactly as the worker counts what it reads.
    entry.seq = ++callFrames;
    return placed.names;
  }

  /**
   * Answer the caller on time when its signal aborts or its deadline passes; returns a
   * disarm function. A call with a signal needs no timer here: the pool's call signal
   * fires at the deadline too (one timer for the whole pool).
   */
  function guard(o: ChannelCallOptions, fail: (err: ChannelFailure) => void, isCall = false): () => void {
    const { signal, timeoutMs } = o;
    const unschedule =
      timeoutMs !== undefined && Number.isFinite(timeoutMs) && !(isCall && signal)
        ? deadlines.add(Date.now() + timeoutMs, () => fail(new ChannelFailure("deadline_exceeded", `deadline of ${timeoutMs} ms passed`)))
        : undefined;
    if (!signal) return unschedule ?? noop;
    const onAbort = () => fail(new ChannelFailure("aborted", "the call was aborted"));
    signal.addEventListener("abort", onAbort, { once: true });
    return () => {
      unschedule?.();
      signal.removeEventListener("abort", onAbort);
    };
  }

  /** Send one control frame and wait for its reply of the expected kind. */
  function request<C extends ControlCase>(
    callId: string,
    kind: DataFrame["kind"],
    expected: C,
    o: ChannelCallOptions | undefined,
  ): Promise<Extract<DataFrame["kind"], { case: C }>["value"]> {
    if (closed) return Promise.reject(closed);
    if (o?.signal?.aborted) return Promise.reject(new ChannelFailure("aborted", "the request was aborted"));
    return new Promise((resolve, reject) => {
      const entry: PendingControl = {
        resolve: (frame) => {
          disarm();
          if (frame.kind.case === expected) resolve(frame.kind.value as never);
          else reject(new ChannelFailure("protocol", `the worker answered ${expected.replace("Reply", "")} with ${frame.kind.case ?? "an empty frame"}`));
        },
        reject: (err) => {
          disarm();
          reject(err);
        },
      };
      const disarm = guard(o ?? {}, (err) => {
        const waiting = controls.get(callId);
        const i = waiting?.indexOf(entry) ?? -1;
        if (i >= 0) waiting!.splice(i, 1);
        if (waiting?.length === 0) controls.delete(callId);
        disarm();
        reject(err);
      });
      const waiting = controls.get(callId);
      if (waiting) waiting.push(entry);
      else controls.set(callId, [entry]);
      control.send(encodeFrame(create(DataFrameSchema, { callId, kind })));
    });
  }

  const controlId = () => `ctl-${(nextControlId++).toString(36)}`;

  return {
    execute(req: CallRequest, o: ChannelCallOptions): Promise<CallResponse> {
      if (closed) return Promise.reject(closed);
      if (o.signal?.aborted) return Promise.reject(new ChannelFailure("aborted", "the call was aborted"));
      const callId = req.callId;
      let made: string[] = [];
      const answer = new Promise<CallResponse>((resolve, reject) => {
        const disarm = guard(
          o,
          (err) => {
            calls.delete(callId);
            disarm();
            reject(err);
          },
          true,
        );
        const entry: PendingUnary = {
          kind: "unary",
          seq: 0,
          resolve: (res) => {
            disarm();
            resolve(res);
          },
          reject: (err) => {
            disarm();
            reject(err);
          },
        };
        calls.set(callId, entry);
        made = sendCall("execute", req, entry);
      });
      // The argument segments are the pool's: removed once the call settles, however it ends.
      if (made.length === 0) return answer;
      const release = () => segments.release(made);
      answer.then(release, release);
      return answer;
    },

    stream(req: CallRequest, o: ChannelCallOptions): AsyncIterable<StreamMessage> {
      return {
        async *[Symbol.asyncIterator]() {
          if (closed) throw closed;
          if (o.signal?.aborted) throw new ChannelFailure("aborted", "the call was aborted");
          const callId = req.callId;
          const queue: Array<StreamMessage | "end"> = [];
          let failure: unknown;
          let wake: (() => void) | undefined;
          const notify = () => {
            const w = wake;
            wake = undefined;
            w?.();
          };
          const disarm = guard(
            o,
            (err) => {
              calls.delete(callId);
              failure ??= err;
              notify();
            },
            true,
          );
          const entry: PendingStream = {
            kind: "stream",
            seq: 0,
            push: (m) => {
              queue.push(m);
              notify();
            },
            fail: (err) => {
              failure ??= err;
              notify();
            },
          };
          calls.set(callId, entry);
          const made = sendCall("stream", req, entry);
          let consumed = 0;
          try {
            for (;;) {
              if (queue.length === 0 && failure === undefined) await new Promise<void>((r) => (wake = r));
              if (queue.length === 0 && failure !== undefined) throw failure;
              const next = queue.shift()!;
              if (next === "end") return;
              yield next;
              if (++consumed % CREDIT_BATCH === 0) {
                data.send(encodeFrame(create(DataFrameSchema, { callId, kind: { case: "credit", value: create(StreamCreditSchema, { chunks: CREDIT_BATCH }) } })));
              }
            }
          } finally {
            disarm();
            // Left early (the consumer stopped): drop the rest; the pool cancels the call.
            calls.delete(callId);
            segments.release(made);
          }
        },
      };
    },

    async withdraw(callId: string): Promise<boolean> {
      const p = calls.get(callId);
      if (!p || p.kind !== "unary") return false;
      const reply = await request(callId, { case: "cancel", value: create(CancelRequestSchema, { callId, withdraw: true }) }, "cancelReply", undefined);
      if (!reply.withdrawn) return false;
      // It will never run: its late "aborted" answer is dropped, and the caller may send it elsewhere.
      if (calls.get(callId) === p) {
        calls.delete(callId);
        p.reject(new ChannelFailure("not_started", `call ${callId} was withdrawn before the worker started it`));
      }
      return true;
    },
    drained,
    sharedMemoryAccepted,
    neverStarted(callId: string): boolean | undefined {
      if (!begunKnown) return undefined;
      return notBegun!.has(callId);
    },
    cancel(callId: string, waitMs: number, o?: ChannelCallOptions): Promise<CancelResponse> {
      return request(callId, { case: "cancel", value: create(CancelRequestSchema, { callId, waitMs: Math.max(0, Math.ceil(waitMs)) }) }, "cancelReply", o);
    },
    describe(o?: ChannelCallOptions): Promise<DescribeResponse> {
      return request(controlId(), { case: "describe", value: create(DescribeRequestSchema) }, "describeReply", o);
    },
    health(o?: ChannelCallOptions): Promise<HealthResponse> {
      return request(controlId(), { case: "health", value: create(HealthRequestSchema) }, "healthReply", o);
    },
    drain(timeoutMs: number, o?: ChannelCallOptions): Promise<DrainResponse> {
      return request(controlId(), { case: "drain", value: create(DrainRequestSchema, { timeoutMs: BigInt(Math.ceil(timeoutMs)) }) }, "drainReply", o);
    },
    close() {
      shutdown(new ChannelFailure("unavailable", "the channel was closed"));
    },
  };
}

const noop = () => {};

// The pool consumes CallResponse / StreamMessage; build them as plain message
// objects (protobuf-es v2 messages are plain objects) without the reflective create().
function asCallResponse(o: Outcome): CallResponse {
  return {
    $typeName: "snakepit.worker.v1.CallResponse",
    outcome:
      o.case === "payload"
        ? { case: "result", value: { $typeName: "snakepit.worker.v1.Payload", json: o.json, attachments: o.attachments } }
        : { case: "error", value: o.error },
  };
}

function asStreamMessage(o: Outcome): StreamMessage {
  return {
    $typeName: "snakepit.worker.v1.StreamMessage",
    kind:
      o.case === "payload"
        ? { case: "chunk", value: { $typeName: "snakepit.worker.v1.Payload", json: o.json, attachments: o.attachments } }
        : { case: "error", value: o.error },
  };
}
