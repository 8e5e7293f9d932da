/**
 * A profile whose workers are JavaScript functions in this process: the pool's
 * whole logic (queueing, deadlines, cancellation, sessions, recycling, errors,
 * events, hooks) without Python, for fast tests of code that uses a pool and of
 * the pool itself. Arguments and results go through the same codec as on the
 * wire, so what a tool receives and returns is what Python would.
 *
 *   const pool = await createPool({ profile: memoryProfile({ tools: { add: ({ a, b }) => a + b } }), python: { adapter: "test:Memory" } });
 */
import { create } from "@bufbuild/protobuf";
import { decodeValue, encodeValue } from "./codec.js";
import {
  CallResponseSchema,
  CancelResponseSchema,
  DescribeResponseSchema,
  DrainResponseSchema,
  HealthResponseSchema,
  StreamMessageSchema,
  ToolErrorSchema,
  ToolInfoSchema,
  WorkerInfoSchema,
  type CallRequest,
  type CallResponse,
  type StreamMessage,
  type ToolError,
} from "./gen/snakepit/worker/v1/worker_pb.js";
import { ChannelFailure, type ChannelCallOptions, type WorkerChannel } from "./worker-channel.js";
import type { WorkerExit, WorkerHandle, WorkerProfile, WorkerRuntimeInfo, WorkerStartContext } from "./worker-profile.js";

/** What a memory tool gets besides its arguments. */
export interface MemoryToolContext {
  /** Aborted when the caller aborts, the deadline passes, or the worker is stopped. */
  readonly signal: AbortSignal;
  readonly workerId: string;
  /** The headers sent with the call (trace context). */
  readonly headers: Readonly<Record<string, string>>;
}

/** A tool: a function of its named arguments; an async generator function streams. */
export type MemoryTool = (args: Record<string, unknown>, ctx: MemoryToolContext) => unknown;

export interface MemoryProfileOptions {
  readonly tools: Readonly<Record<string, MemoryTool>>;
  /** Calls each worker runs at once. Default 1. */
  readonly capacity?: number;
  /** Profile name in stats and events. Default "memory". */
  readonly name?: string;
}

const encoder = new TextEncoder();
let nextPid = 1;

export function memoryProfile(options: MemoryProfileOptions): WorkerProfile {
  const { tools } = options;
  const capacity = options.capacity ?? 1;
  if (!Number.isInteger(capacity) || capacity < 1) throw new TypeError(`memoryProfile: capacity must be a positive integer, not ${String(capacity)}`);
  return {
    name: options.name ?? "memory",
    async startWorker(ctx: WorkerStartContext): Promise<WorkerHandle> {
      const pid = nextPid++;
      let settle!: (exit: WorkerExit) => void;
      const exited = new Promise<WorkerExit>((resolve) => (settle = resolve));
      const life = new AbortController();
      let gone = false;
      const end = (expected: boolean) => {
        if (gone) return;
        gone = true;
        life.abort(new Error(`worker ${ctx.workerId} stopped`));
        settle({ exitCode: expected ? 0 : null, signal: expected ? null : "SIGKILL", stderrTail: [], expected });
      };
      const info: WorkerRuntimeInfo = {
        pid,
        pythonVersion: "",
        implementation: "javascript",
        freeThreaded: false,
        gilEnabled: false,
        threads: capacity,
        adapter: ctx.options.python.adapter,
        adapterThreadSafe: capacity > 1,
        platform: process.platform,
      };
      const channel = memoryChannel(tools, ctx.workerId, info, life.signal, () => gone);
      return {
        id: ctx.workerId,
        pid: undefined,
        capacity,
        info,
        channel,
        exited,
        stop: async () => end(true),
        kill: () => end(false),
      };
    },
  };
}

function memoryChannel(
  tools: Readonly<Record<string, MemoryTool>>,
  workerId: string,
  info: WorkerRuntimeInfo,
  life: AbortSignal,
  isGone: () => boolean,
): WorkerChannel {
  let active = 0;
  let started = 0;
  const unavailable = () => new ChannelFailure("unavailable", `worker ${workerId} is gone`);

  /** Run one call of `tool`, ended early by the call's signal or the worker's end. */
  async function invoke<T>(req: CallRequest, o: ChannelCallOptions, run: (fn: MemoryTool, args: Record<string, unknown>, ctx: MemoryToolContext) => Promise<T>, onError: (e: ToolError) => T): Promise<T> {
    if (isGone()) throw unavailable();
    if (o.signal?.aborted) throw new ChannelFailure("aborted", "the call was aborted");
    const fn = tools[req.tool];
    if (!fn) return onError(toolError("unknown_tool", "KeyError", `unknown tool '${req.tool}' (tools: ${Object.keys(tools).join(", ")})`));
    const controller = new AbortController();
    let endCall!: (failure: ChannelFailure, reason: unknown) => void;
    const ended = new Promise<never>((_, reject) => {
      endCall = (failure, reason) => {
        controller.abort(reason);
        reject(failure);
      };
    });
    ended.catch(() => {});
    const onAbort = () => endCall(new ChannelFailure("aborted", "the call was aborted"), o.signal?.reason);
    const onWorkerEnd = () => endCall(unavailable(), life.reason);
    o.signal?.addEventListener("abort", onAbort, { once: true });
    life.addEventListener("abort", onWorkerEnd, { once: true });
    active++;
    started++;
    try {
      const args = decodeValue(req.args?.json ?? encoder.encode("{}"), req.args?.attachments ?? []) as Record<string, unknown>;
      return await Promise.race([run(fn, args, { signal: controller.signal, workerId, headers: req.headers }), ended]);
    } catch (err) {
      if (err instanceof ChannelFailure) throw err;
      return onError(fromThrown(err));
    } finally {
      active--;
      o.signal?.removeEventListener("abort", onAbort);
      life.removeEventListener("abort", onWorkerEnd);
    }
  }

  return {
    execute: (req, o) =>
      invoke<CallResponse>(
        req,
        o,
        async (fn, args, ctx) => {
          // A function that returns nothing returns None, as in Python.
          const result = (await fn(args, ctx)) ?? null;
          const encoded = encodeValue(result, "result", Infinity);
          return create(CallResponseSchema, { outcome: { case: "result", value: { json: encoded.json, attachments: encoded.attachments } } });
        },
        (error) => create(CallResponseSchema, { outcome: { case: "error", value: error } }),
      ),
    stream(req, o): AsyncIterable<StreamMessage> {
      return {
        async *[Symbol.asyncIterator]() {
          // The chunks go out as the generator yields them; an error ends the stream as a message.
          const queue: StreamMessage[] = [];
          let wake: (() => void) | undefined;
          let finished = false;
          const push = (m: StreamMessage) => {
            queue.push(m);
            wake?.();
          };
          const done = invoke<void>(
            req,
            o,
            async (fn, args, ctx) => {
              const out = fn(args, ctx);
              if (!isAsyncIterable(out)) {
                push(errorMessage(toolError("invalid_argument", "TypeError", `tool '${req.tool}' is not a generator; call it with pool.execute()`)));
                return;
              }
              for await (const chunk of out) {
                const encoded = encodeValue(chunk, "chunk", Infinity);
                push(create(StreamMessageSchema, { kind: { case: "chunk", value: { json: encoded.json, attachments: encoded.attachments } } }));
              }
            },
            (error) => push(errorMessage(error)),
          ).finally(() => {
            finished = true;
            wake?.();
          });
          for (;;) {
            if (queue.length) {
              yield queue.shift()!;
              continue;
            }
            if (finished) break;
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
          }
          await done;
        },
      };
    },
    cancel: async () => create(CancelResponseSchema, { found: false, finished: true }),
    describe: async () =>
      create(DescribeResponseSchema, {
        worker: create(WorkerInfoSchema, {
          pid: BigInt(info.pid),
          pythonVersion: info.pythonVersion,
          implementation: info.implementation,
          threads: info.threads,
          adapter: info.adapter,
          adapterThreadSafe: info.adapterThreadSafe,
          platform: info.platform,
        }),
        tools: Object.entries(tools).map(([name, fn]) =>
          create(ToolInfoSchema, { name, streaming: fn.constructor.name === "AsyncGeneratorFunction", isAsync: fn.constructor.name === "AsyncFunction" }),
        ),
      }),
    health: async () => {
      if (isGone()) throw unavailable();
      return create(HealthResponseSchema, { status: "serving", activeCalls: active, capacity: info.threads, requestsStarted: BigInt(started) });
    },
    drain: async () => create(DrainResponseSchema, {}),
    close() {},
  };
}

function isAsyncIterable(v: unknown): v is AsyncIterable<unknown> {
  return typeof v === "object" && v !== null && Symbol.asyncIterator in v;
}

function toolError(code: string, pythonType: string, message: string, traceback = ""): ToolError {
  return create(ToolErrorSchema, { code, pythonType, message, traceback });
}

/** What a tool threw, as the worker would report a raised exception. */
function fromThrown(err: unknown): ToolError {
  if (err instanceof Error) return toolError("python_error", err.name, err.message, err.stack ?? "");
  return toolError("python_error", "Error", String(err));
}

function errorMessage(error: ToolError): StreamMessage {
  return create(StreamMessageSchema, { kind: { case: "error", value: error } });
}
