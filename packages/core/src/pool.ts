/**
 * The pool: the public face over its parts. A call reads forward through them:
 * prepare (options, tool, arguments checked and encoded, here) → admission
 * (a worker with room, or the bounded queue: admission.ts) → the call runner
 * (send, map failures, give capacity back: call-runner.ts) → the worker's
 * channel. The workforce (workforce.ts) keeps the workers at full strength.
 */
import { Admission } from "./admission.js";
import { ChunkRelay } from "./chunk-relay.js";
import { checkCallOptions } from "./call-options.js";
import { CallRunner, type CallKind, type PreparedCall } from "./call-runner.js";
import { abortedError } from "./call-signal.js";
import { decodeValue, encodeValue } from "./codec.js";
import { createDeadlineTimer } from "./deadline-timer.js";
import { closeMatches } from "./did-you-mean.js";
import { SnakepitError } from "./errors.js";
import type { DescribeResponse } from "./gen/snakepit/worker/v1/worker_pb.js";
import type { ResolvedPoolOptions } from "./options.js";
import type { PoolControl } from "./plugin.js";
import { poolRef, type PoolCore } from "./pool-core.js";
import { toPoolDescription } from "./pool-description.js";
import { HookSet } from "./pool-hooks.js";
import type {
  CallOptions,
  CloseOptions,
  Pool,
  PoolDescription,
  PoolState,
  PoolStats,
  RecycleOptions,
  ToolDescription,
  ToolTypes,
  TypedClient,
  TypedClientOptions,
  WorkerHealth,
} from "./pool-types.js";
import { processProfile, threadProfile } from "./process-profile.js";
import { typedClient } from "./typed-client.js";
import { fromToolError } from "./wire-errors.js";
import type { WorkerProfile } from "./worker-profile.js";
import { Workforce } from "./workforce.js";

export function profileFor(options: ResolvedPoolOptions): WorkerProfile {
  if (typeof options.profile !== "string") return options.profile;
  return options.profile === "thread" ? threadProfile() : processProfile();
}

export class PoolImpl implements Pool {
  readonly name: string;
  readonly profile: string;
  private readonly options: ResolvedPoolOptions;
  private readonly core: PoolCore;
  private readonly admission: Admission;
  private readonly workforce: Workforce;
  private readonly runner: CallRunner;
  private nextCall = 1;
  private tools: Map<string, ToolDescription> | undefined;
  private description: PoolDescription | undefined;
  private closing: Promise<void> | undefined;
  private pluginDisposers: Array<() => void | Promise<void>> = [];

  constructor(options: ResolvedPoolOptions) {
    this.options = options;
    this.name = options.name;
    const profile = profileFor(options);
    this.profile = profile.name;
    this.core = {
      pool: this,
      name: this.name,
      profile: this.profile,
      options,
      slots: new Map(),
      hooks: new HookSet(this.name, options.logger),
      counters: { completed: 0, failed: 0, rejected: 0, crashes: 0, recycles: 0, kills: 0, resent: 0 },
      timers: createDeadlineTimer(),
      state: "starting",
    };
    this.admission = new Admission(this.core, () => this.workforce);
    this.workforce = new Workforce(this.core, profile, this.admission);
    this.runner = new CallRunner(this.core, this.admission, this.workforce);
  }

  /** The pool's private socket directory, made only when a worker asks for one (Connect over a Unix socket). */
  get runtimeDir() {
    return this.workforce.runtimeDir;
  }

  // ---- start-up -------------------------------------------------------------

  async start(): Promise<void> {
    try {
      await this.workforce.fill();
    } catch (err) {
      this.core.state = "failed";
      await this.destroy();
      this.core.state = "failed";
      throw err;
    }
    await this.loadDescription().catch((err: unknown) =>
      this.options.logger.warn(`could not describe the adapter's tools: ${String(err)}`, { pool: this.name }),
    );
    this.core.state = "ready";
    const control = this.control();
    for (const plugin of this.options.plugins) {
      const dispose = plugin.attach(control);
      if (typeof dispose === "function") this.pluginDisposers.push(dispose);
    }
    this.core.hooks.emit("onPoolCreated", () => ({ ...poolRef(this.core), size: this.options.size }));
  }

  private async loadDescription(): Promise<void> {
    const slot = [...this.core.slots.values()].find((s) => s.state === "ready" && s.handle);
    if (!slot?.handle) throw new SnakepitError("internal", "no ready worker to describe");
    const res = await slot.handle.channel.describe({ timeoutMs: 10_000 });
    this.setDescription(res);
  }

  private setDescription(res: DescribeResponse): void {
    this.description = toPoolDescription(res, this.options.python.adapter);
    this.tools = new Map(this.description.tools.map((t) => [t.name, t]));
  }

  // ---- calls ------------------------------------------------------------------

  /** Everything about a call that can be checked before it costs capacity, and its encoded arguments. */
  private prepare(tool: string, args: Record<string, unknown> | undefined, options: CallOptions, kind: CallKind): PreparedCall {
    if (this.core.state !== "ready") {
      throw new SnakepitError("pool_closed", `pool ${this.name} is ${this.core.state}; it takes no new calls`, { pool: this.name, tool });
    }
    const timeoutMs = checkCallOptions(options, tool, this.name) ?? this.options.defaultTimeoutMs;
    if (options.signal?.aborted) throw abortedError(tool, "", this.name, options.signal);
    if (this.workforce.degraded) throw this.workforce.degraded.error;
    if (typeof tool !== "string" || tool === "") {
      throw new SnakepitError("invalid_argument", "the tool name must be a non-empty string", { pool: this.name });
    }
    const known = this.tools?.get(tool);
    if (this.tools && !known) {
      const suggestions = closeMatches(tool, this.tools.keys());
      throw new SnakepitError(
        "unknown_tool",
        `unknown tool '${tool}' on adapter ${this.options.python.adapter}` +
          (suggestions.length ? `; did you mean ${suggestions.map((s) => `'${s}'`).join(" or ")}?` : "") +
          ` (tools: ${[...this.tools.keys()].join(", ")})`,
        { pool: this.name, tool, suggestions },
      );
    }
    if (known && kind === "stream" && !known.streaming) {
      throw new SnakepitError("invalid_argument", `tool '${tool}' is not a generator; call it with pool.execute()`, { pool: this.name, tool });
    }
    if (known && kind === "execute" && known.streaming) {
      throw new SnakepitError("invalid_argument", `tool '${tool}' is a generator; call it with pool.stream()`, { pool: this.name, tool });
    }
    if (args !== undefined && (typeof args !== "object" || args === null || Array.isArray(args))) {
      throw new SnakepitError("invalid_argument", `arguments of '${tool}' must be an object of named arguments`, { pool: this.name, tool });
    }
    const encoded = encodeValue(args ?? {}, "args", this.options.maxPayloadBytes);
    const callId = `${this.name}-${(this.nextCall++).toString(36)}`;
    // An absolute time in whole ms (the wire carries whole ms); Infinity for no deadline.
    const deadline = timeoutMs === Infinity ? Infinity : Math.ceil(Date.now() + timeoutMs);
    return { tool, encoded, deadline, callId };
  }

  execute<T = unknown>(tool: string, args?: Record<string, unknown>, options: CallOptions = {}): Promise<T> {
    const first = this.executeOnce<T>(tool, args, options);
    if (!options.idempotent) return first;
    // Safe to run twice: one retry, on another worker, after a crash.
    return first.catch((err: unknown) => {
      if (err instanceof SnakepitError && err.code === "worker_crashed" && this.core.state === "ready") {
        this.options.logger.warn(`retrying idempotent call ${tool} after a worker crash`, { pool: this.name, workerId: err.workerId });
        return this.executeOnce<T>(tool, args, options);
      }
      throw err;
    });
  }

  private executeOnce<T>(tool: string, args: Record<string, unknown> | undefined, options: CallOptions): Promise<T> {
    let prepared: PreparedCall;
    try {
      prepared = this.prepare(tool, args, options, "execute");
    } catch (err) {
      this.core.counters.rejected++;
      return Promise.reject(err);
    }
    return this.runner.run(prepared, options, "execute", async (slot, req, signal, timeoutMs) => {
      const res = await slot.handle!.channel.execute(req, { signal, timeoutMs });
      if (res.outcome.case === "result") return decodeValue(res.outcome.value.json, res.outcome.value.attachments) as T;
      if (res.outcome.case === "error") {
        throw fromToolError(res.outcome.value, { tool, callId: req.callId, workerId: slot.id, pool: this.name });
      }
      throw new SnakepitError("internal", `worker ${slot.id} sent an empty response`);
    });
  }

  stream<T = unknown>(tool: string, args?: Record<string, unknown>, options: CallOptions = {}): AsyncIterable<T> {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const pool = this;
    return {
      async *[Symbol.asyncIterator]() {
        let prepared: PreparedCall;
        try {
          prepared = pool.prepare(tool, args, options, "stream");
        } catch (err) {
          pool.core.counters.rejected++;
          throw err;
        }
        // The runner wraps a promise; a stream needs to yield from inside, so it
        // hands the chunks over through this small relay.
        const relay = new ChunkRelay<T>();
        const done = pool.runner.run(
          prepared,
          options,
          "stream",
          async (slot, req, signal, timeoutMs) => {
            for await (const msg of slot.handle!.channel.stream(req, { signal, timeoutMs })) {
              if (msg.kind.case === "chunk") {
                await relay.put(decodeValue(msg.kind.value.json, msg.kind.value.attachments) as T);
              } else if (msg.kind.case === "error") {
                throw fromToolError(msg.kind.value, { tool, callId: req.callId, workerId: slot.id, pool: pool.name });
              }
            }
          },
          relay.stopSignal,
        );
        done.then(
          () => relay.end(),
          (err: unknown) => relay.fail(err),
        );
        try {
          for (;;) {
            const next = await relay.take();
            if (next.done) return;
            yield next.value;
          }
        } finally {
          // Leaving the loop early (break, return, throw) cancels the generator in Python.
          relay.stop();
          await done.catch(() => {});
        }
      },
    };
  }

  recycleWorker(workerId: string, options: RecycleOptions = {}): Promise<void> {
    return this.workforce.recycle(workerId, options);
  }

  // ---- inspection ---------------------------------------------------------------

  state(): PoolState {
    return this.core.state;
  }

  async describe(): Promise<PoolDescription> {
    if (this.core.state !== "ready" && this.description) return this.description;
    await this.loadDescription();
    return this.description!;
  }

  stats(): PoolStats {
    let workers = 0;
    let starting = 0;
    let busy = 0;
    let idle = 0;
    let capacity = 0;
    let inFlight = 0;
    const now = Date.now();
    const perWorker = [...this.core.slots.values()].map((s) => {
      if (s.state === "starting") starting++;
      if (s.state === "ready") {
        workers++;
        capacity += s.handle?.capacity ?? 0;
        if (s.load > 0) busy++;
        else idle++;
      }
      inFlight += s.running.size;
      return s.stats(now);
    });
    const degraded = this.workforce.degraded;
    return {
      name: this.name,
      profile: this.profile,
      state: this.core.state,
      size: this.options.size,
      workers,
      starting,
      busy,
      idle,
      capacity,
      inFlight,
      queued: this.admission.queued,
      ...this.core.counters,
      degraded: degraded ? { ...degraded } : undefined,
      perWorker,
    };
  }

  async health(options: { timeoutMs?: number } = {}): Promise<WorkerHealth[]> {
    const ready = [...this.core.slots.values()].filter((s) => s.handle && (s.state === "ready" || s.state === "draining"));
    return Promise.all(ready.map((s) => this.workerHealth(s.id, options)));
  }

  private async workerHealth(workerId: string, options: { timeoutMs?: number } = {}): Promise<WorkerHealth> {
    const slot = this.core.slots.get(workerId);
    const base = {
      workerId,
      pid: slot?.handle?.pid,
      capacity: slot?.handle?.capacity ?? 0,
      uptimeMs: slot?.uptimeMs() ?? 0,
    };
    const unreachable = (error: string): WorkerHealth => ({
      ...base,
      status: "unreachable",
      activeCalls: 0,
      requestsStarted: 0,
      rssBytes: 0,
      pssBytes: 0,
      ussBytes: 0,
      error,
    });
    if (!slot?.handle) return unreachable("no such worker");
    try {
      const h = await slot.handle.channel.health({ timeoutMs: options.timeoutMs ?? 2_000 });
      return {
        ...base,
        status: h.status === "draining" ? "draining" : "serving",
        activeCalls: h.activeCalls,
        requestsStarted: Number(h.requestsStarted),
        rssBytes: Number(h.rssBytes),
        pssBytes: Number(h.pssBytes),
        ussBytes: Number(h.ussBytes),
      };
    } catch (err) {
      return unreachable(err instanceof Error ? err.message : String(err));
    }
  }

  /** What plugins get: the pool plus the mechanisms policy needs. */
  private control(): PoolControl {
    const hooks = this.core.hooks;
    return {
      pool: this,
      options: this.options,
      workerHealth: (id, o) => this.workerHealth(id, o),
      killWorker: (id, o) => this.workforce.kill(id, o),
      addHooks: (h) => hooks.add(h),
      onClaim: (listener) => hooks.add({ onCallClaimed: listener }),
      setRestartPolicy: (policy) => this.workforce.setRestartPolicy(policy),
      setDegraded: (error, reason) => this.workforce.setDegraded(error, reason),
    };
  }

  // ---- shutdown -----------------------------------------------------------------

  close(options: CloseOptions = {}): Promise<void> {
    this.closing ??= this.shutdown(options.timeoutMs ?? this.options.closeTimeoutMs, false);
    return this.closing;
  }

  destroy(): Promise<void> {
    if (this.closing && this.core.state === "stopped") return this.closing;
    const previous = this.closing;
    const forced = this.shutdown(0, true);
    this.closing = previous ? Promise.all([previous, forced]).then(() => {}) : forced;
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async shutdown(timeoutMs: number, force: boolean): Promise<void> {
    const { core } = this;
    const wasFailed = core.state === "failed";
    if (core.state !== "stopped") core.state = "draining";
    this.workforce.stopReplacing();
    const closed = new SnakepitError("pool_closed", `pool ${this.name} was closed`, { pool: this.name });
    this.admission.rejectAll(closed);
    const slots = [...core.slots.values()];
    if (force) {
      for (const s of slots) s.failAll(closed);
    } else {
      const until = Date.now() + timeoutMs;
      await Promise.all(slots.map((s) => s.waitIdle(Math.max(0, until - Date.now()))));
      const late = new SnakepitError("pool_closed", `pool ${this.name} closed before the call finished (closeTimeoutMs)`, { pool: this.name });
      for (const s of slots) s.failAll(late);
    }
    this.admission.stop();
    await this.workforce.stopAll(slots, force);
    core.timers.clear();
    for (const dispose of this.pluginDisposers.splice(0)) {
      try {
        await dispose();
      } catch (err) {
        this.options.logger.warn(`plugin dispose failed: ${String(err)}`, { pool: this.name });
      }
    }
    core.state = wasFailed ? "failed" : "stopped";
    if (!wasFailed) core.hooks.emit("onPoolClosed", () => ({ ...poolRef(core), forced: force }));
  }

  // ---- typed calls (typed-client.ts) -----------------------------------------------

  client<T extends ToolTypes<T>>(options?: TypedClientOptions): TypedClient<T> {
    return typedClient<T>(this, options);
  }
}
