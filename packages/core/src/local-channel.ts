/**
 * The local data plane: Execute and Stream as length-prefixed DataFrames on a
 * socketpair shared with a worker the pool spawned. Control calls (Cancel,
 * Describe, Health, Drain) go to the worker's gRPC server through `control`.
 *
 * Same messages, same semantics as the Connect channel: deadlines travel in the
 * request and the worker enforces them; an abort sends a cancel frame (and the
 * pool follows up with the Cancel RPC); streams have flow control (credits), so
 * a slow consumer never makes the worker buffer without bound.
 */
import type { Duplex } from "node:stream";
import { create } from "@bufbuild/protobuf";
import {
  CancelRequestSchema,
  DataFrameSchema,
  StreamCreditSchema,
  type CallRequest,
  type CallResponse,
  type StreamMessage,
} from "./gen/snakepit/worker/v1/worker_pb.js";
import { decodeFrame, encodeCallFrame, encodeFrame, type IncomingFrame, type Outcome } from "./local-frames.js";
import { ChannelFailure, type ChannelCallOptions, type WorkerChannel } from "./worker-channel.js";

/** The worker's stream window (STREAM_WINDOW in local_transport.py); credits go back in halves. */
const STREAM_WINDOW = 16;
const CREDIT_BATCH = STREAM_WINDOW / 2;
const ENVELOPE_BYTES = 1024 * 1024;

interface PendingUnary {
  kind: "unary";
  resolve(res: CallResponse): void;
  reject(err: unknown): void;
}

interface PendingStream {
  kind: "stream";
  push(msg: StreamMessage | "end"): void;
  fail(err: unknown): void;
}

export interface LocalChannelOptions {
  /** The pool's end of the socketpair. */
  socket: Duplex;
  /** The gRPC channel to the same worker, for everything but Execute and Stream. */
  control: WorkerChannel;
  maxMessageBytes: number;
}

export function createLocalChannel(options: LocalChannelOptions): WorkerChannel {
  const { socket, control } = options;
  const maxFrame = options.maxMessageBytes + ENVELOPE_BYTES;
  const pending = new Map<string, PendingUnary | PendingStream>();
  let closed: ChannelFailure | undefined;

  // ---- frames in --------------------------------------------------------------
  let chunks: Buffer[] = [];
  let buffered = 0;
  let need = 4; // bytes needed for the next step: a header, then a body
  let bodyLength = -1;

  function take(n: number): Buffer {
    // Usually the whole frame sits in the first chunk: no copy then.
    const first = chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) chunks.shift();
      else chunks[0] = first.subarray(n);
      buffered -= n;
      return out;
    }
    const all = Buffer.concat(chunks, buffered);
    const out = all.subarray(0, n);
    chunks = all.length > n ? [all.subarray(n)] : [];
    buffered -= n;
    return out;
  }

  socket.on("data", (data: Buffer) => {
    chunks.push(data);
    buffered += data.length;
    while (buffered >= need) {
      if (bodyLength < 0) {
        bodyLength = take(4).readUInt32BE(0);
        if (bodyLength > maxFrame) {
          shutdown(new ChannelFailure("protocol", `worker sent a frame of ${bodyLength} bytes, over the limit of ${maxFrame}`));
          socket.destroy();
          return;
        }
        need = bodyLength;
      } else {
        const body = take(bodyLength);
        bodyLength = -1;
        need = 4;
        // A plain Uint8Array view, so bytes fields come out as Uint8Array, not Buffer.
        onFrame(decodeFrame(new Uint8Array(body.buffer, body.byteOffset, body.byteLength)));
      }
    }
  });
  const onGone = () => shutdown(new ChannelFailure("unavailable", "the worker's data socket closed"));
  socket.on("close", onGone);
  socket.on("error", onGone);

  function onFrame(frame: IncomingFrame): void {
    const p = pending.get(frame.callId);
    if (!p) return; // a call we gave up on (aborted, deadline): its late answer is dropped
    if (p.kind === "unary" && frame.kind === "result") {
      pending.delete(frame.callId);
      p.resolve(asCallResponse(frame.outcome));
    } else if (p.kind === "stream" && frame.kind === "chunk") {
      p.push(asStreamMessage(frame.outcome));
    } else if (p.kind === "stream" && frame.kind === "end") {
      pending.delete(frame.callId);
      p.push("end");
    }
  }

  function shutdown(reason: ChannelFailure): void {
    if (closed) return;
    closed = reason;
    for (const [id, p] of pending) {
      pending.delete(id);
      if (p.kind === "unary") p.reject(reason);
      else p.fail(reason);
    }
  }

  // ---- frames out -------------------------------------------------------------
  /** Write one length-prefixed frame. */
  function send(frame: Uint8Array): void {
    socket.write(frame);
  }

  function sendCall(kind: "execute" | "stream", request: CallRequest): void {
    send(
      encodeCallFrame(kind, {
        callId: request.callId,
        tool: request.tool,
        json: request.args?.json ?? new Uint8Array(0),
        attachments: request.args?.attachments ?? [],
        sessionId: request.sessionId,
        deadlineUnixMs: Number(request.deadlineUnixMs),
        headers: request.headers,
      }),
    );
  }

  function sendCancel(callId: string): void {
    if (!closed) send(encodeFrame(create(DataFrameSchema, { callId, kind: { case: "cancel", value: create(CancelRequestSchema, { callId }) } })));
  }

  /** Arm the deadline and abort for one call; returns a disarm function. */
  function guard(callId: string, o: ChannelCallOptions, fail: (err: ChannelFailure) => void): () => void {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      sendCancel(callId);
      fail(new ChannelFailure("aborted", "the call was aborted"));
    };
    if (o.timeoutMs !== undefined && Number.isFinite(o.timeoutMs)) {
      timer = setTimeout(() => {
        // The worker enforces the deadline too (it is in the request); this answers the caller on time.
        sendCancel(callId);
        fail(new ChannelFailure("deadline_exceeded", `deadline of ${o.timeoutMs} ms passed`));
      }, o.timeoutMs);
    }
    o.signal?.addEventListener("abort", onAbort, { once: true });
    return () => {
      clearTimeout(timer);
      o.signal?.removeEventListener("abort", onAbort);
    };
  }

  return {
    execute(request: CallRequest, o: ChannelCallOptions): Promise<CallResponse> {
      if (closed) return Promise.reject(closed);
      if (o.signal?.aborted) return Promise.reject(new ChannelFailure("aborted", "the call was aborted"));
      const callId = request.callId;
      return new Promise<CallResponse>((resolve, reject) => {
        const disarm = guard(callId, o, (err) => {
          pending.delete(callId);
          disarm();
          reject(err);
        });
        pending.set(callId, {
          kind: "unary",
          resolve: (res) => {
            disarm();
            resolve(res);
          },
          reject: (err) => {
            disarm();
            reject(err);
          },
        });
        sendCall("execute", request);
      });
    },

    stream(request: CallRequest, o: ChannelCallOptions): AsyncIterable<StreamMessage> {
      return {
        async *[Symbol.asyncIterator]() {
          if (closed) throw closed;
          if (o.signal?.aborted) throw new ChannelFailure("aborted", "the call was aborted");
          const callId = request.callId;
          const queue: Array<StreamMessage | "end"> = [];
          let failure: unknown;
          let wake: (() => void) | undefined;
          const notify = () => {
            const w = wake;
            wake = undefined;
            w?.();
          };
          const disarm = guard(callId, o, (err) => {
            pending.delete(callId);
            failure ??= err;
            notify();
          });
          pending.set(callId, {
            kind: "stream",
            push: (m) => {
              queue.push(m);
              notify();
            },
            fail: (err) => {
              failure ??= err;
              notify();
            },
          });
          sendCall("stream", request);
          let consumed = 0;
          let finished = false;
          try {
            for (;;) {
              if (queue.length === 0 && failure === undefined) await new Promise<void>((r) => (wake = r));
              if (queue.length === 0 && failure !== undefined) throw failure;
              const next = queue.shift()!;
              if (next === "end") {
                finished = true;
                return;
              }
              yield next;
              if (++consumed % CREDIT_BATCH === 0 && !closed) {
                send(encodeFrame(create(DataFrameSchema, { callId, kind: { case: "credit", value: create(StreamCreditSchema, { chunks: CREDIT_BATCH }) } })));
              }
            }
          } finally {
            disarm();
            if (!finished && pending.delete(callId)) sendCancel(callId);
          }
        },
      };
    },

    cancel: (callId, waitMs, o) => control.cancel(callId, waitMs, o),
    describe: (o) => control.describe(o),
    health: (o) => control.health(o),
    drain: (timeoutMs, o) => control.drain(timeoutMs, o),
    close() {
      shutdown(new ChannelFailure("unavailable", "the channel was closed"));
      socket.destroy();
      control.close();
    },
  };
}

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
