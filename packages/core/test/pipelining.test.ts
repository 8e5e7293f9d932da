/**
 * Pipelining rules of the pool, without Python: a fake worker that behaves as a
 * local process-profile worker does (one call at a time, in the order sent, each
 * answered before the next starts; calls not started yet can be withdrawn).
 */
import { describe, expect, it } from "vitest";
import type { CallRequest, CallResponse, CancelResponse, HealthResponse, StreamMessage } from "../src/gen/snakepit/worker/v1/worker_pb.js";
import { createPool, silentLogger, type Pool } from "../src/index.js";
import { ChannelFailure, type ChannelCallOptions, type WorkerChannel } from "../src/worker-channel.js";
import type { WorkerExit, WorkerHandle, WorkerProfile } from "../src/worker-profile.js";
import { rejectionOf } from "./helpers.js";

interface Queued {
  readonly req: CallRequest;
  readonly ms: number;
  resolve(r: CallResponse): void;
  reject(e: unknown): void;
}

interface InOrderWorker {
  readonly id: string;
  /** Tags of the calls it started, in order. */
  readonly started: number[];
  crash(): void;
}

function argsOf(req: CallRequest): { ms?: number; tag?: number } {
  return JSON.parse(Buffer.from(req.args?.json ?? new Uint8Array()).toString() || "{}") as { ms?: number; tag?: number };
}

function inOrderProfile(): WorkerProfile & { workers: InOrderWorker[] } {
  const workers: InOrderWorker[] = [];
  let pid = 200_000;
  return {
    name: "in-order-fake",
    workers,
    async startWorker(ctx): Promise<WorkerHandle> {
      let resolveExit!: (e: WorkerExit) => void;
      const exited = new Promise<WorkerExit>((r) => (resolveExit = r));
      const queue: Queued[] = [];
      let running: Queued | undefined;
      let dead = false;
      const started: number[] = [];
      const next = () => {
        if (running || dead) return;
        running = queue.shift();
        if (!running) return;
        const call = running;
        started.push(argsOf(call.req).tag ?? -1);
        const later = (f: () => void) => (call.ms === 0 ? setImmediate(f) : setTimeout(f, call.ms));
        later(() => {
          if (dead) return;
          running = undefined;
          call.resolve({
            $typeName: "snakepit.worker.v1.CallResponse",
            outcome: { case: "result", value: { $typeName: "snakepit.worker.v1.Payload", json: Buffer.from(JSON.stringify({ worker: ctx.workerId, tag: argsOf(call.req).tag ?? -1 })), attachments: [] } },
          });
          next();
        });
      };
      const worker: InOrderWorker = {
        id: ctx.workerId,
        started,
        crash() {
          dead = true;
          const lost = [...(running ? [running] : []), ...queue.splice(0)];
          running = undefined;
          for (const q of lost) q.reject(new ChannelFailure("unavailable", "the worker's socket closed"));
          resolveExit({ exitCode: 1, signal: null, stderrTail: [], expected: false });
        },
      };
      workers.push(worker);
      const channel: WorkerChannel = {
        execute(req: CallRequest, _o: ChannelCallOptions) {
          if (dead) return Promise.reject(new ChannelFailure("unavailable", "dead"));
          return new Promise<CallResponse>((resolve, reject) => {
            queue.push({ req, ms: argsOf(req).ms ?? 0, resolve, reject });
            next();
          });
        },
        async withdraw(callId: string) {
          const i = queue.findIndex((q) => q.req.callId === callId);
          if (i < 0) return false;
          const [q] = queue.splice(i, 1);
          q!.reject(new ChannelFailure("not_started", "withdrawn"));
          return true;
        },
        stream(): AsyncIterable<StreamMessage> {
          throw new Error("not supported");
        },
        cancel: async (): Promise<CancelResponse> => ({ $typeName: "snakepit.worker.v1.CancelResponse", found: false, finished: true, withdrawn: false }),
        describe: () => Promise.reject(new Error("no describe")),
        health: async () => ({ $typeName: "snakepit.worker.v1.HealthResponse", status: "serving" }) as unknown as HealthResponse,
        drain: () => Promise.reject(new Error("not supported")),
        close() {},
      };
      return {
        id: ctx.workerId,
        pid: pid++,
        capacity: 1,
        pipelineDepth: 8,
        info: { pid, pythonVersion: "3.x", implementation: "fake", freeThreaded: false, gilEnabled: true, threads: 1, adapter: "fake", adapterThreadSafe: false, platform: "linux" },
        channel,
        exited,
        async stop() {
          worker.crash();
        },
        kill() {
          worker.crash();
        },
      };
    },
  };
}

async function poolOf(profile: WorkerProfile): Promise<Pool> {
  return createPool({ size: 2, profile, logger: silentLogger, python: { adapter: "fake.module:Fake" } });
}

/** Calls that answer at once, until the pool counts the tool as fast (then it pipelines it under load). */
async function warmUp(pool: Pool): Promise<void> {
  for (let i = 0; i < 20; i++) await pool.execute("nap", { ms: 0, tag: 1000 + i });
}

describe("pipelining", () => {
  it("takes back calls pipelined behind a call that runs long while another worker is free (no call waits behind it)", async () => {
    const profile = inOrderProfile();
    await using pool = await poolOf(profile);
    await warmUp(pool);
    const order: number[] = [];
    const slow = pool.execute("nap", { ms: 400, tag: -1 }).then(() => order.push(-1));
    const burst = Array.from({ length: 16 }, (_, tag) => pool.execute("nap", { ms: 0, tag }).then(() => order.push(tag)));
    await Promise.resolve();
    // On a loaded machine the warm-up may not have made the tool count as fast: then
    // nothing was pipelined, and there is nothing to take back.
    const pipelined = Math.max(...pool.stats().perWorker.map((w) => w.load)) > 1;
    await Promise.all([slow, ...burst]);
    expect(order.at(-1)).toBe(-1); // every fast call finished before the long one
    if (pipelined) expect(pool.stats().resent).toBeGreaterThan(0);
    // The worker of the long call never started a call that was behind it.
    const longOne = profile.workers.find((w) => w.started.includes(-1))!;
    expect(longOne.started.slice(longOne.started.indexOf(-1) + 1)).toEqual([]);
  });

  it("sends the calls a dying worker never started to another worker; only the running one fails", async () => {
    const profile = inOrderProfile();
    await using pool = await poolOf(profile);
    await warmUp(pool);
    const dying = rejectionOf(pool.execute("nap", { ms: 100, tag: -1 }));
    const burst = Array.from({ length: 16 }, (_, tag) => pool.execute<{ tag: number }>("nap", { ms: 0, tag }));
    setTimeout(() => profile.workers.find((w) => w.started.includes(-1))!.crash(), 20);
    await Promise.resolve();
    const pipelined = Math.max(...pool.stats().perWorker.map((w) => w.load)) > 1;
    const results = await Promise.allSettled(burst);
    expect(await dying).toMatchObject({ code: "worker_crashed" });
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    expect(results.map((r) => (r as PromiseFulfilledResult<{ tag: number }>).value.tag)).toEqual(burst.map((_, i) => i));
    if (pipelined) expect(pool.stats().resent).toBeGreaterThan(0);
  });
});
