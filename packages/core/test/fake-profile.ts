/**
 * An in-memory WorkerProfile for testing pool logic without Python: each fake
 * worker answers `execute` with `{ worker, tool }` (after `replyMs`), can be
 * made to crash, to lose its connection, or to swallow calls once dead (as a
 * socket nobody reads would), and its start can be made to fail.
 */
import type { CallRequest, CallResponse, CancelResponse, HealthResponse, StreamMessage } from "../src/gen/snakepit/worker/v1/worker_pb.js";
import { ChannelFailure, type ChannelCallOptions, type WorkerChannel } from "../src/worker-channel.js";
import { SnakepitError } from "../src/errors.js";
import type { WorkerExit, WorkerHandle, WorkerProfile, WorkerStartContext } from "../src/worker-profile.js";

export interface FakeWorker {
  readonly id: string;
  readonly pid: number;
  /** Calls sent to it (tool names), in order. */
  readonly calls: string[];
  dead: boolean;
  /** Die as a crash would (exit code 1, not expected), with these stderr lines. */
  crash(stderrTail?: string[], signal?: string | null): void;
  /** Its channel fails every call with "unavailable" from now on, though the process lives. */
  breakConnection(): void;
}

export interface FakeProfileOptions {
  /** How long a call takes. Default 1 ms. Per tool: { slow: 200 }. */
  replyMs?: number | Record<string, number>;
  /** How long a start takes. Default 5 ms. */
  startMs?: number;
  /** Return an error to make start number `n` (1-based) fail. */
  failStart?: (n: number) => Error | undefined;
  /** Called once a worker is ready (e.g. to crash it soon after). */
  onReady?: (worker: FakeWorker, n: number) => void;
  /** A dead worker's channel swallows calls (never answers) instead of failing them. */
  deadSwallows?: boolean;
  /** How long after kill() the exit is seen. Default 0. */
  exitAfterKillMs?: number;
  /** Sees each call request as the worker receives it (headers, deadline). */
  onRequest?: (request: CallRequest) => void;
}

export interface FakeProfile extends WorkerProfile {
  readonly workers: FakeWorker[];
  readonly starts: number;
  readonly startTimes: number[];
}

const response = (json: unknown): CallResponse => ({
  $typeName: "snakepit.worker.v1.CallResponse",
  outcome: {
    case: "result",
    value: { $typeName: "snakepit.worker.v1.Payload", json: Buffer.from(JSON.stringify(json)), attachments: [] },
  },
});

export function fakeProfile(options: FakeProfileOptions = {}): FakeProfile {
  const workers: FakeWorker[] = [];
  const startTimes: number[] = [];
  let starts = 0;
  let nextPid = 100_000;
  const replyFor = (tool: string) =>
    typeof options.replyMs === "number" ? options.replyMs : (options.replyMs?.[tool] ?? 1);

  const startWorker = async (ctx: WorkerStartContext): Promise<WorkerHandle> => {
    const n = ++starts;
    startTimes.push(Date.now());
    await new Promise((r) => setTimeout(r, options.startMs ?? 5));
    const failure = options.failStart?.(n);
    if (failure) throw failure;
    let resolveExit!: (e: WorkerExit) => void;
    const exited = new Promise<WorkerExit>((r) => (resolveExit = r));
    let exitedYet = false;
    const finish = (e: WorkerExit) => {
      if (exitedYet) return;
      exitedYet = true;
      worker.dead = true;
      for (const f of pending) f(new ChannelFailure("unavailable", "the worker's socket closed"));
      pending.clear();
      resolveExit(e);
    };
    const pending = new Set<(err: ChannelFailure) => void>();
    let broken = false;
    const worker: FakeWorker = {
      id: ctx.workerId,
      pid: nextPid++,
      calls: [],
      dead: false,
      crash(stderrTail = [], signal = null) {
        finish({ exitCode: signal ? null : 1, signal, stderrTail, expected: false });
      },
      breakConnection() {
        broken = true;
        for (const f of pending) f(new ChannelFailure("unavailable", "connection reset"));
        pending.clear();
      },
    };
    workers.push(worker);
    const channel: WorkerChannel = {
      execute(req: CallRequest, o: ChannelCallOptions) {
        if (worker.dead && options.deadSwallows) {
          worker.calls.push(req.tool);
          return guarded(o, () => {});
        }
        if (worker.dead || broken) return Promise.reject(new ChannelFailure("unavailable", "the worker's socket closed"));
        worker.calls.push(req.tool);
        options.onRequest?.(req);
        return guarded(o, (resolve) => {
          setTimeout(() => resolve(response({ worker: worker.id, tool: req.tool })), replyFor(req.tool));
        });
      },
      stream(): AsyncIterable<StreamMessage> {
        throw new Error("not supported by the fake profile");
      },
      cancel: async (): Promise<CancelResponse> => ({ $typeName: "snakepit.worker.v1.CancelResponse", found: false, finished: true, withdrawn: false }),
      describe: () => Promise.reject(new Error("the fake profile does not describe")),
      health: async (): Promise<HealthResponse> =>
        ({ $typeName: "snakepit.worker.v1.HealthResponse", status: "serving", activeCalls: 0 }) as unknown as HealthResponse,
      drain: () => Promise.reject(new Error("not supported")),
      close() {},
    };
    /** A call that fails like a channel does: on abort, at its timeoutMs (Node's setTimeout, 32-bit limit and all), or when the worker goes. */
    function guarded(o: ChannelCallOptions, run: (resolve: (r: CallResponse) => void) => void): Promise<CallResponse> {
      return new Promise<CallResponse>((resolve, reject) => {
        let timer: NodeJS.Timeout | undefined;
        const done = () => {
          clearTimeout(timer);
          o.signal?.removeEventListener("abort", onAbort);
          pending.delete(fail);
        };
        const fail = (err: ChannelFailure) => {
          done();
          reject(err);
        };
        const onAbort = () => fail(new ChannelFailure("aborted", "the call was aborted"));
        if (o.signal?.aborted) return onAbort();
        o.signal?.addEventListener("abort", onAbort, { once: true });
        if (o.timeoutMs !== undefined) timer = setTimeout(() => fail(new ChannelFailure("deadline_exceeded", `deadline of ${o.timeoutMs} ms passed`)), o.timeoutMs);
        pending.add(fail);
        run((r) => {
          if (!pending.has(fail)) return;
          done();
          resolve(r);
        });
      });
    }
    const kill = () => {
      worker.dead = true;
      const after = options.exitAfterKillMs ?? 0;
      setTimeout(() => finish({ exitCode: null, signal: "SIGKILL", stderrTail: [], expected: true }), after);
    };
    const handle: WorkerHandle = {
      id: ctx.workerId,
      pid: worker.pid,
      capacity: 1,
      info: {
        pid: worker.pid,
        pythonVersion: "fake",
        implementation: "fake",
        freeThreaded: false,
        gilEnabled: true,
        threads: 1,
        adapter: ctx.options.python.adapter,
        adapterThreadSafe: false,
        platform: process.platform,
      },
      channel,
      exited,
      async stop() {
        finish({ exitCode: 0, signal: null, stderrTail: [], expected: true });
      },
      kill,
    };
    options.onReady?.(worker, n);
    return handle;
  };

  return {
    name: "fake",
    workers,
    startTimes,
    get starts() {
      return starts;
    },
    startWorker,
  };
}

export const startFailure = (message: string) =>
  new SnakepitError("worker_start_failed", `worker could not start: ${message}`, { traceback: `Traceback (most recent call last):\n${message}` });
