/**
 * The pool: admits calls, queues them (bounded), sends each to the least-loaded
 * ready worker, enforces deadlines and cancellation, and keeps its workers at
 * full strength by replacing any that die.
 */
import { CallQueue, type QueueEntry } from "./call-queue.js";
import { ChunkRelay } from "./chunk-relay.js";
import { pickWorker } from "./worker-selection.js";
import { lazyRuntimeDir } from "./runtime-dirs.js";
import { toPoolDescription } from "./pool-description.js";
import { decodeValue, encodeValue, type EncodedValue } from "./codec.js";
import { closeMatches } from "./did-you-mean.js";
import { SnakepitError, type SnakepitErrorCode } from "./errors.js";
import { channels, publish } from "./events.js";
import type { CallRequest, DescribeResponse } from "./gen/snakepit/worker/v1/worker_pb.js";
import type { ResolvedPoolOptions } from "./options.js";
import type {
  CallOptions,
  CloseOptions,
  Pool,
  PoolDescription,
  PoolState,
  PoolStats,
  RecycleOptions,
  ToolDescription,
  WorkerHealth,
  WorkerState,
} from "./pool-types.js";
import { processProfile, threadProfile } from "./process-profile.js";
import { ChannelFailure } from "./worker-channel.js";
import type { KillWorkerOptions, PoolControl, RestartPolicy } from "./plugin.js";
import type { WorkerExit, WorkerHandle, WorkerProfile } from "./worker-profile.js";
import { fromToolError } from "./wire-errors.js";
import { MAX_TIMER_DELAY_MS, setLongTimeout, type LongTimeout } from "./long-timer.js";
import { CORE_RESTART, backoffDelay, isFailedStart } from "./backoff.js";
import { typedClient } from "./typed-client.js";
import type { ToolTypes, TypedClient, TypedClientOptions } from "./pool-types.js";

type CallKind = "execute" | "stream";

/** One worker as the pool tracks it. */
interface Slot {
  readonly id: string;
  handle: WorkerHandle | undefined;
  state: WorkerState;
  /** Capacity taken: running calls, plus cancelled calls Python has not finished yet. */
  load: number;
  served: number;
  readyAt: number;
  exit: WorkerExit | undefined;
  readonly running: Set<RunningCall>;
  /** Resolved when load drops to zero (recycle and close wait on this). */
  idleWaiters?: Array<() => void>;
  /** Set by killWorker: what its running calls fail with. */
  killError?: SnakepitError;
  /** Set while recycleWorker replaces it. */
  recycling?: Promise<void>;
  /** Calls on it that are not known to be fast; only a worker with none takes pipelined calls. */
  slowLoad: number;
  /** Calls it answered (a result or a tool's error): it has shown it can serve. */
  completed: number;
  /**
   * The pool has given up on it (killed, lost, exited): out of rotation for good,
   * even before its exit is seen. A call claimed onto it but not sent goes elsewhere.
   */
  gone: boolean;
}

interface RunningCall {
  readonly callId: string;
  /** performance.now() when it was sent. */
  readonly sentAt: number;
  /** A withdraw of it is under way. */
  withdrawing: boolean;
  /** End it with `error`; `notStarted`: the worker never started it, so it may run elsewhere. */
  fail(error: SnakepitError, notStarted?: boolean): void;
}

interface PendingCall extends QueueEntry {
  readonly callId: string;
  readonly tool: string;
  readonly fast: boolean;
  readonly sessionId: string | undefined;
  readonly enqueuedAt: number;
  /** When it leaves the queue with queue_timeout or deadline_exceeded (Date.now() time). */
  readonly giveUpAt: number;
  resolve(slot: Slot): void;
  reject(error: SnakepitError): void;
}

/** Limits how many cancelled-call acknowledgements we wait for per attempt. */
const CANCEL_WAIT_MS = 1000;
/** A tool whose recent calls ran in less than this (ms) may be pipelined under load. */
const FAST_TOOL_MS = 1;
/**
 * A call pipelined behind one running longer than this (ms) is withdrawn when
 * another worker has room: no call waits behind another while a worker is free.
 */
const WITHDRAW_AFTER_MS = 2;
/** How often one call may be sent again because its worker never started it. */
const MAX_NOT_STARTED_RETRIES = 3;
/** Affinity entries kept (oldest dropped first). */
const MAX_SESSIONS = 10_000;

export function profileFor(options: ResolvedPoolOptions): WorkerProfile {
  if (typeof options.profile !== "string") return options.profile;
  return options.profile === "thread" ? threadProfile() : processProfile();
}

export class PoolImpl implements Pool {
  readonly name: string;
  readonly profile: string;
  private readonly options: ResolvedPoolOptions;
  private readonly profileImpl: WorkerProfile;
  private poolState: PoolState = "starting";
  private readonly slots = new Map<string, Slot>();
  private readonly queue = new CallQueue<PendingCall>();
  private readonly sessions = new Map<string, string>();
  private readonly lifetime = new AbortController();
  private withdrawTimer: NodeJS.Timeout | undefined;
  /** Made only when a worker asks for it (Connect over a Unix socket); local-transport pools never do. */
  private readonly runtimeDir = lazyRuntimeDir();
  private nextWorker = 1;
  private nextCall = 1;
  private rotate = 0;
  private counters = { completed: 0, failed: 0, rejected: 0, crashes: 0, recycles: 0, resent: 0 };
  /** Failed starts (early deaths included) since a worker last showed it can serve. */
  private failuresInARow = 0;
  private lastFailure: SnakepitError | undefined;
  private lastFailureAt = 0;
  private replacementTimer: LongTimeout | undefined;
  /** When the armed replacement timer fires (Date.now() time). */
  private nextStartAt = 0;
  private tools: Map<string, ToolDescription> | undefined;
  private description: PoolDescription | undefined;
  private closing: Promise<void> | undefined;
  private pluginDisposers: Array<() => void | Promise<void>> = [];
  /** Recent run time of each tool (exponentially weighted), to know which are fast. */
  private readonly runTimeEwma = new Map<string, number>();
  private claimListeners: Array<(workerId: string, requestsStarted: number) => void> = [];
  private restartPolicy: RestartPolicy = { delayMs: (n) => backoffDelay(n, CORE_RESTART.backoffMs, CORE_RESTART.backoffMaxMs) };
  /** A plugin set the restart policy: it also decides when the pool is degraded. */
  private customRestartPolicy = false;
  private degradedByCore = false;
  private degraded: { reason: string; since: number; error: SnakepitError } | undefined;

  constructor(options: ResolvedPoolOptions) {
    this.options = options;
    this.name = options.name;
    this.profileImpl = profileFor(options);
    this.profile = this.profileImpl.name;
  }

  // ---- start-up -------------------------------------------------------------

  async start(): Promise<void> {
    const ids = Array.from({ length: this.options.size }, () => this.newSlot());
    let firstError: unknown;
    let next = 0;
    const runner = async () => {
      while (next < ids.length && firstError === undefined) {
        const slot = ids[next++]!;
        try {
          await this.startSlot(slot, "initial");
        } catch (err) {
          firstError ??= err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.startupConcurrency, ids.length) }, runner));
    if (firstError !== undefined) {
      this.poolState = "failed";
      await this.destroy();
      this.poolState = "failed";
      throw firstError;
    }
    await this.loadDescription().catch((err: unknown) =>
      this.options.logger.warn(`could not describe the adapter's tools: ${String(err)}`, { pool: this.name }),
    );
    this.poolState = "ready";
    const control = this.control();
    for (const plugin of this.options.plugins) {
      const dispose = plugin.attach(control);
      if (typeof dispose === "function") this.pluginDisposers.push(dispose);
    }
    publish(channels.poolCreated, () => ({ pool: this, poolName: this.name, profile: this.profile, size: this.options.size }));
  }

  private newSlot(): Slot {
    const slot: Slot = {
      id: `${this.name}/w${this.nextWorker++}`,
      handle: undefined,
      state: "starting",
      load: 0,
      served: 0,
      readyAt: 0,
      exit: undefined,
      running: new Set(),
      slowLoad: 0,
      completed: 0,
      gone: false,
    };
    this.slots.set(slot.id, slot);
    return slot;
  }

  private async startSlot(slot: Slot, reason: "initial" | "replace" | "recycle"): Promise<void> {
    const startedAt = performance.now();
    publish(channels.workerStarting, () => ({ ...this.ref(), workerId: slot.id, reason }));
    const deadline = new AbortController();
    const startTimer = setLongTimeout(
      () => deadline.abort(new SnakepitError("worker_start_failed", `worker ${slot.id} did not start within startTimeoutMs`)),
      this.options.startTimeoutMs + 5_000,
      { unref: true },
    );
    let handle: WorkerHandle;
    const runtimeDir = this.runtimeDir;
    try {
      handle = await this.profileImpl.startWorker({
        workerId: slot.id,
        poolName: this.name,
        options: this.options,
        get runtimeDir() {
          return runtimeDir.path;
        },
        signal: AbortSignal.any([this.lifetime.signal, deadline.signal]),
        logger: this.options.logger,
        onOutput: (stream, line) => this.onOutput(slot.id, stream, line),
      });
    } catch (err) {
      startTimer.clear();
      this.slots.delete(slot.id);
      const error = SnakepitError.from(err, "worker_start_failed");
      publish(channels.workerStartFailed, () => ({ ...this.ref(), workerId: slot.id, error }));
      throw error;
    }
    startTimer.clear();
    if (this.lifetime.signal.aborted) {
      handle.kill();
      this.slots.delete(slot.id);
      throw new SnakepitError("pool_closed", `pool ${this.name} closed while worker ${slot.id} was starting`);
    }
    slot.handle = handle;
    slot.state = "ready";
    slot.readyAt = Date.now();
    void handle.exited.then((exit) => this.onWorkerExit(slot, exit));
    if (this.degradedByCore) {
      this.degradedByCore = false;
      this.setDegraded(undefined);
    }
    publish(channels.workerReady, () => ({
      ...this.ref(),
      workerId: slot.id,
      pid: handle.pid,
      startMs: performance.now() - startedAt,
      info: handle.info,
    }));
    this.dispatch();
  }

  private onOutput(workerId: string, stream: "stdout" | "stderr", line: string): void {
    this.options.logger.info(line, { workerId, stream, pool: this.name });
    publish(channels.workerOutput, () => ({ ...this.ref(), workerId, stream, line }));
  }

  private async loadDescription(): Promise<void> {
    const slot = [...this.slots.values()].find((s) => s.state === "ready" && s.handle);
    if (!slot?.handle) throw new SnakepitError("internal", "no ready worker to describe");
    const res = await slot.handle.channel.describe({ timeoutMs: 10_000 });
    this.setDescription(res);
  }

  private setDescription(res: DescribeResponse): void {
    this.description = toPoolDescription(res, this.options.python.adapter);
    this.tools = new Map(this.description.tools.map((t) => [t.name, t]));
  }

  // ---- worker exits and replacement -------------------------------------------

  private onWorkerExit(slot: Slot, exit: WorkerExit): void {
    slot.exit = exit;
    slot.gone = true;
    const wasRunning = slot.running.size;
    const crashed = !exit.expected && slot.state !== "stopping";
    const uptimeMs = slot.readyAt ? Date.now() - slot.readyAt : 0;
    this.slots.delete(slot.id);
    publish(channels.workerExited, () => ({
      ...this.ref(),
      workerId: slot.id,
      pid: slot.handle?.pid,
      exitCode: exit.exitCode,
      signal: exit.signal,
      expected: !crashed,
      stderrTail: exit.stderrTail,
      uptimeMs,
      requestsServed: slot.served,
      requestsCompleted: slot.completed,
      inFlight: wasRunning,
    }));
    if (wasRunning) {
      const err = this.crashError(slot, exit);
      // A pipelining worker runs its calls in order, one at a time, and answers each
      // before it starts the next: of the calls still open, only the first can have
      // started. The others never ran, and are sent to another worker.
      const inOrder = (slot.handle?.pipelineDepth ?? 0) > 0;
      const capacity = slot.handle?.capacity ?? 1;
      [...slot.running].forEach((call, i) => call.fail(err, inOrder && i >= capacity));
    }
    if (crashed) {
      this.counters.crashes++;
      const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.exitCode}`;
      this.options.logger.warn(`worker ${slot.id} died (${how}); starting a replacement`, { pool: this.name, workerId: slot.id });
      if (isFailedStart({ uptimeMs, requestsCompleted: slot.completed })) {
        // It died at start-up, before serving: as good as a failed start (backoff, budget).
        const tail = exit.stderrTail.length ? `\n--- last lines of stderr ---\n${exit.stderrTail.slice(-20).join("\n")}` : "";
        this.noteFailure(
          new SnakepitError(
            "worker_start_failed",
            `worker ${slot.id} died (${how}) ${Math.round(uptimeMs)} ms after it became ready, before it answered a call${tail}`,
            { exitCode: exit.exitCode, signal: exit.signal, stderrTail: exit.stderrTail, workerId: slot.id, pool: this.name },
          ),
        );
      } else {
        // It was serving: killed from outside, or a call crashed it. Not a failed start.
        this.failuresInARow = 0;
        this.lastFailure = this.crashError(slot, exit);
        this.lastFailureAt = Date.now();
      }
    }
    this.ensureSize();
  }

  /** A start failed (or a worker died at start-up): count it, remember why, maybe degrade. */
  private noteFailure(error: SnakepitError): void {
    this.failuresInARow++;
    this.lastFailure = error;
    this.lastFailureAt = Date.now();
    if (this.customRestartPolicy || this.failuresInARow < CORE_RESTART.maxStartFailures || this.readyCount() > 0) return;
    this.degradedByCore = true;
    this.setDegraded(
      new SnakepitError(
        "worker_start_failed",
        `pool ${this.name} is degraded: its last ${this.failuresInARow} worker starts failed and no worker is running; ` +
          `it keeps retrying in the background (restart backoff up to ${CORE_RESTART.backoffMaxMs} ms). Last failure: ${error.message}`,
        { cause: error, pool: this.name, ...failureDetails(error) },
      ),
      `${this.failuresInARow} worker starts failed in a row`,
    );
  }

  /** A worker answered a call: if it started after the last failure, starts work again. */
  private noteServing(slot: Slot): void {
    if (slot.completed++ === 0 && this.failuresInARow > 0 && slot.readyAt >= this.lastFailureAt) this.failuresInARow = 0;
  }

  private readyCount(): number {
    let n = 0;
    for (const s of this.slots.values()) if (s.state === "ready") n++;
    return n;
  }

  /** No worker can take a call and none is starting: calls wait for the replacement timer. */
  private starved(): boolean {
    if (!this.replacementTimer) return false;
    for (const s of this.slots.values()) if (s.state === "ready" || s.state === "starting") return false;
    return true;
  }

  /** What a call gets when it cannot be served before it gives up: the backoff and the last failure. */
  private starvedError(tool: string, callId: string): SnakepitError {
    const last = this.lastFailure;
    const inMs = Math.max(0, Math.round(this.nextStartAt - Date.now()));
    return new SnakepitError(
      last?.code === "worker_crashed" ? "worker_crashed" : "worker_start_failed",
      `pool ${this.name} has no worker running, and starts the next one in ${inMs} ms (restart backoff after ` +
        `${this.failuresInARow} failure${this.failuresInARow === 1 ? "" : "s"} in a row), later than call ${tool} may wait` +
        (last ? `. Last failure: ${last.message}` : ""),
      { cause: last, pool: this.name, tool, callId, ...(last ? failureDetails(last) : {}) },
    );
  }

  /** Fail the queued calls that would give up before the next start, with the reason. */
  private failStarvedQueue(): void {
    if (!this.starved()) return;
    for (const entry of this.queue.entries()) {
      if (entry.giveUpAt >= this.nextStartAt) continue;
      this.queue.remove(entry);
      this.counters.rejected++;
      entry.reject(this.starvedError(entry.tool, entry.callId));
    }
  }

  /**
   * The pool gives up on a worker (kill, lost connection): no further call goes to
   * it from now on. Its replacement starts when its exit is seen, so that the
   * restart policy knows how it ended (a crash counts toward the backoff).
   */
  private takeOutOfRotation(slot: Slot): void {
    slot.gone = true;
    if (slot.state === "ready") slot.state = "draining";
  }

  private crashError(slot: Slot, exit: WorkerExit): SnakepitError {
    if (slot.killError) return slot.killError;
    if (exit.expected && (this.poolState === "draining" || this.poolState === "stopped")) {
      return new SnakepitError("pool_closed", `pool ${this.name} was closed before the call finished`, { pool: this.name, workerId: slot.id });
    }
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.exitCode}`;
    const tail = exit.stderrTail.length ? `\n--- last lines of stderr ---\n${exit.stderrTail.slice(-10).join("\n")}` : "";
    return new SnakepitError("worker_crashed", `worker ${slot.id} ${how} while running this call${tail}`, {
      exitCode: exit.exitCode,
      signal: exit.signal,
      stderrTail: exit.stderrTail,
      workerId: slot.id,
      pool: this.name,
    });
  }

  /** Start workers until the pool is back at its size (with backoff after failures). */
  private ensureSize(): void {
    if (this.poolState !== "ready" || this.replacementTimer) return;
    let live = 0;
    for (const s of this.slots.values()) if (s.state === "ready" || s.state === "starting") live++;
    if (live >= this.options.size) return;
    let delay = this.restartPolicy.delayMs(this.failuresInARow);
    if (!(delay >= 0)) delay = 0;
    this.nextStartAt = Date.now() + delay;
    this.replacementTimer = setLongTimeout(() => {
      this.replacementTimer = undefined;
      if (this.poolState !== "ready") return;
      const slot = this.newSlot();
      this.startSlot(slot, "replace").then(
        () => this.ensureSize(),
        (err: unknown) => {
          if (this.poolState === "ready") {
            const error = SnakepitError.from(err, "worker_start_failed");
            this.noteFailure(error);
            this.options.logger.error(`could not start a replacement worker: ${error.message}`, { pool: this.name });
          }
          this.ensureSize();
        },
      );
      this.ensureSize();
    }, delay);
    // A backoff longer than the queue may wait: the calls get the reason now, not a timeout later.
    this.failStarvedQueue();
  }

  recycleWorker(workerId: string, options: RecycleOptions = {}): Promise<void> {
    const old = this.slots.get(workerId);
    if (!old?.handle || old.exit) return Promise.resolve();
    if (old.recycling) {
      // Already being replaced: a "now" upgrades it to take no further call.
      if (options.drain === "now" && old.state === "ready") old.state = "draining";
      return old.recycling;
    }
    if (old.state !== "ready") return Promise.resolve();
    const handle = old.handle;
    if (options.drain === "now") old.state = "draining";
    this.counters.recycles++;
    publish(channels.workerRecycled, () => ({
      ...this.ref(),
      workerId,
      reason: options.reason ?? "manual",
      uptimeMs: Date.now() - old.readyAt,
      requestsServed: old.served,
      ...(options.detail ? { detail: options.detail } : {}),
    }));
    old.recycling = (async () => {
      // The replacement starts first; the old worker keeps serving (unless drained
      // now) until it is ready, so the pool never runs short.
      try {
        await this.startSlot(this.newSlot(), "recycle");
      } catch (err) {
        if (this.poolState === "ready") this.noteFailure(SnakepitError.from(err, "worker_start_failed"));
        if (old.state === "ready" && !old.exit) {
          // Still serving (not drained now): a working worker beats a missing one.
          // It stays; recycling it can be tried again later.
          this.options.logger.error(`could not start the replacement for ${workerId}, so it keeps serving: ${SnakepitError.from(err).message}`, { pool: this.name });
          delete old.recycling;
          return;
        }
        this.options.logger.error(`could not start the replacement for ${workerId}: ${SnakepitError.from(err).message}`, { pool: this.name });
      }
      if (old.state === "ready") old.state = "draining";
      await this.waitIdle(old, options.drainTimeoutMs ?? this.options.closeTimeoutMs);
      old.state = "stopping";
      await handle.stop({ timeoutMs: 2_000 });
      this.ensureSize();
    })();
    return old.recycling;
  }

  private async waitIdle(slot: Slot, timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (slot.load > 0 && !slot.exit && Date.now() < until) {
      let timer: LongTimeout | undefined;
      await new Promise<void>((resolve) => {
        slot.idleWaiters ??= [];
        slot.idleWaiters.push(resolve);
        timer = setLongTimeout(resolve, Math.max(0, until - Date.now()), { unref: true });
      });
      timer?.clear();
    }
  }

  // ---- admission, selection, dispatch ------------------------------------------

  private pick(sessionId: string | undefined, fast = false): Slot | undefined {
    const preferred = sessionId === undefined ? undefined : this.sessions.get(sessionId);
    const chosen = pickWorker([...this.slots.values()], { preferred, fast, rotate: this.rotate });
    this.rotate = (this.rotate + 1) % Math.max(1, this.slots.size);
    return chosen;
  }

  /** Known fast: its recent calls took well under a millisecond (then pipelining cannot hurt a neighbour much). */
  private isFast(tool: string): boolean {
    const ms = this.runTimeEwma.get(tool);
    return ms !== undefined && ms < FAST_TOOL_MS;
  }

  private noteRunTime(tool: string, ms: number): void {
    const prev = this.runTimeEwma.get(tool);
    this.runTimeEwma.set(tool, prev === undefined ? ms : prev * 0.8 + ms * 0.2);
  }

  private claim(slot: Slot, sessionId: string | undefined, fast: boolean): void {
    slot.load++;
    if (!fast) slot.slowLoad++;
    slot.served++;
    for (const listener of this.claimListeners) listener(slot.id, slot.served);
    if (sessionId !== undefined) {
      this.sessions.delete(sessionId);
      this.sessions.set(sessionId, slot.id);
      if (this.sessions.size > MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    }
  }

  private release(slot: Slot, fast: boolean): void {
    slot.load--;
    if (!fast) slot.slowLoad--;
    if (slot.load === 0 && slot.idleWaiters) {
      for (const w of slot.idleWaiters.splice(0)) w();
    }
    this.dispatch();
    if (this.queue.size === 0 && this.pipelined > 0) this.withdrawStuck();
  }

  /**
   * Calls pipelined behind a call that runs long, while another worker has room,
   * are taken back (those the worker has not started) and sent there: no call
   * waits behind another while a worker is free.
   */
  private withdrawStuck(): void {
    const slots = [...this.slots.values()];
    if (!slots.some((s) => s.state === "ready" && !s.gone && s.handle && s.load < s.handle.capacity)) return;
    const now = performance.now();
    let recheckIn = Infinity;
    for (const s of slots) {
      const h = s.handle;
      if (!h?.channel.withdraw || s.gone || s.running.size <= h.capacity) continue;
      const calls = [...s.running];
      const waited = now - calls[0]!.sentAt;
      if (waited < WITHDRAW_AFTER_MS) {
        recheckIn = Math.min(recheckIn, WITHDRAW_AFTER_MS - waited);
        continue;
      }
      for (const call of calls.slice(h.capacity)) {
        if (call.withdrawing) continue;
        call.withdrawing = true;
        // On success the channel fails the call as not started, and run() sends it again.
        h.channel.withdraw(call.callId).then(
          (ok) => void (call.withdrawing = ok),
          () => void (call.withdrawing = false),
        );
      }
    }
    if (recheckIn !== Infinity && !this.withdrawTimer) {
      this.withdrawTimer = setTimeout(() => {
        this.withdrawTimer = undefined;
        if (this.queue.size === 0) this.withdrawStuck();
      }, Math.ceil(recheckIn));
      this.withdrawTimer.unref();
    }
  }

  /** Calls sent to workers beyond their capacity right now. */
  private get pipelined(): number {
    let n = 0;
    for (const s of this.slots.values()) if (s.handle && s.running.size > s.handle.capacity) n += s.running.size - s.handle.capacity;
    return n;
  }

  /** Hand queued calls to workers with free capacity. */
  private dispatch(): void {
    for (let head = this.queue.peek(); head; head = this.queue.peek()) {
      const slot = this.pick(head.sessionId, head.fast);
      if (!slot) return;
      this.queue.shift();
      this.claim(slot, head.sessionId, head.fast);
      head.resolve(slot);
    }
  }

  /** Wait for a worker; resolves with capacity already claimed. */
  private acquire(callId: string, tool: string, fast: boolean, sessionId: string | undefined, deadline: number, signal: AbortSignal | undefined): Promise<Slot> {
    const slot = this.queue.size === 0 ? this.pick(sessionId, fast) : undefined;
    if (slot) {
      this.claim(slot, sessionId, fast);
      return Promise.resolve(slot);
    }
    if (this.queue.size >= this.options.maxQueue) {
      publish(channels.poolSaturated, () => ({ ...this.ref(), queued: this.queue.size, maxQueue: this.options.maxQueue, tool }));
      return Promise.reject(
        new SnakepitError(
          "queue_full",
          `pool ${this.name} is saturated: ${this.queue.size} calls already wait (maxQueue ${this.options.maxQueue}); ` +
            "retry later, add workers, or raise maxQueue",
          { pool: this.name, tool, callId },
        ),
      );
    }
    const now = Date.now();
    const queueLimit = now + this.options.queueTimeoutMs;
    const giveUpAt = Math.min(queueLimit, deadline);
    // No worker, and the next start comes after this call gives up: say why now.
    if (this.starved() && giveUpAt < this.nextStartAt) return Promise.reject(this.starvedError(tool, callId));
    return new Promise<Slot>((resolve, reject) => {
      const byDeadline = deadline <= queueLimit;
      const waitMs = giveUpAt - now;
      const entry: PendingCall = {
        removed: false,
        callId,
        tool,
        fast,
        sessionId,
        enqueuedAt: now,
        giveUpAt,
        resolve: (s) => {
          cleanup();
          resolve(s);
        },
        reject: (e) => {
          cleanup();
          reject(e);
        },
      };
      const timer = Number.isFinite(waitMs)
        ? setLongTimeout(() => {
            this.queue.remove(entry);
            entry.reject(
              byDeadline
                ? new SnakepitError("deadline_exceeded", `call ${tool} passed its deadline while waiting for a free worker`, { pool: this.name, tool, callId })
                : new SnakepitError(
                    "queue_timeout",
                    `call ${tool} waited ${this.options.queueTimeoutMs} ms (queueTimeoutMs) for a free worker; ` +
                      "the pool is too small for this load, or its workers are stuck",
                    { pool: this.name, tool, callId },
                  ),
            );
          }, waitMs)
        : undefined;
      const onAbort = () => {
        this.queue.remove(entry);
        entry.reject(abortedError(tool, callId, this.name, signal));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const cleanup = () => {
        timer?.clear();
        signal?.removeEventListener("abort", onAbort);
      };
      this.queue.push(entry);
      publish(channels.requestQueued, () => ({ ...this.ref(), callId, tool, queueDepth: this.queue.size }));
    });
  }

  // ---- calls ------------------------------------------------------------------

  private prepare(tool: string, args: Record<string, unknown> | undefined, options: CallOptions, kind: CallKind) {
    if (this.poolState !== "ready") {
      throw new SnakepitError("pool_closed", `pool ${this.name} is ${this.poolState}; it takes no new calls`, { pool: this.name, tool });
    }
    // Every option is checked before anything is claimed: a bad one must not cost capacity.
    const timeoutMs = checkCallOptions(options, tool, this.name) ?? this.options.defaultTimeoutMs;
    if (options.signal?.aborted) throw abortedError(tool, "", this.name, options.signal);
    if (this.degraded) throw this.degraded.error;
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
    return { encoded, deadline, callId };
  }

  private request(callId: string, tool: string, encoded: EncodedValue, sessionId: string | undefined, deadline: number, headers: Record<string, string>): CallRequest {
    // A plain message object: protobuf-es v2 messages are plain objects, and the
    // reflective create() costs more than the rest of a no-op call.
    return {
      $typeName: "snakepit.worker.v1.CallRequest",
      callId,
      tool,
      args: { $typeName: "snakepit.worker.v1.Payload", json: encoded.json, attachments: encoded.attachments },
      sessionId: sessionId ?? "",
      deadlineUnixMs: Number.isFinite(deadline) ? BigInt(deadline) : 0n,
      headers,
    };
  }

  execute<T = unknown>(tool: string, args?: Record<string, unknown>, options: CallOptions = {}): Promise<T> {
    const first = this.executeOnce<T>(tool, args, options);
    if (!options.idempotent) return first;
    // Safe to run twice: one retry, on another worker, after a crash.
    return first.catch((err: unknown) => {
      if (err instanceof SnakepitError && err.code === "worker_crashed" && this.poolState === "ready") {
        this.options.logger.warn(`retrying idempotent call ${tool} after a worker crash`, { pool: this.name, workerId: err.workerId });
        return this.executeOnce<T>(tool, args, options);
      }
      throw err;
    });
  }

  private executeOnce<T>(tool: string, args: Record<string, unknown> | undefined, options: CallOptions): Promise<T> {
    let prepared: ReturnType<PoolImpl["prepare"]>;
    try {
      prepared = this.prepare(tool, args, options, "execute");
    } catch (err) {
      this.counters.rejected++;
      return Promise.reject(err);
    }
    return this.run(tool, prepared, options, "execute", async (slot, req, signal, timeoutMs) => {
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
        let prepared: ReturnType<PoolImpl["prepare"]>;
        try {
          prepared = pool.prepare(tool, args, options, "stream");
        } catch (err) {
          pool.counters.rejected++;
          throw err;
        }
        // The pool's run() wraps a promise; a stream needs to yield from inside, so
        // it hands the chunks over through this small relay.
        const relay = new ChunkRelay<T>();
        const done = pool.run(tool, prepared, options, "stream", async (slot, req, signal, timeoutMs) => {
          for await (const msg of slot.handle!.channel.stream(req, { signal, timeoutMs })) {
            if (msg.kind.case === "chunk") {
              await relay.put(decodeValue(msg.kind.value.json, msg.kind.value.attachments) as T);
            } else if (msg.kind.case === "error") {
              throw fromToolError(msg.kind.value, { tool, callId: req.callId, workerId: slot.id, pool: pool.name });
            }
          }
        }, relay.stopSignal);
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

  /**
   * Admission to completion for one call: wait for a worker, send, map failures,
   * release capacity (only once Python has really finished a cancelled call).
   * Whatever fails after the claim, the one finally below releases it.
   */
  private async run<R>(
    tool: string,
    prepared: { encoded: EncodedValue; deadline: number; callId: string },
    options: CallOptions,
    kind: CallKind,
    send: (slot: Slot, req: ReturnType<PoolImpl["request"]>, signal: AbortSignal, timeoutMs: number | undefined) => Promise<R>,
    stopSignal?: AbortSignal,
  ): Promise<R> {
    const { encoded, deadline, callId } = prepared;
    const userSignal = stopSignal && options.signal ? AbortSignal.any([options.signal, stopSignal]) : (options.signal ?? stopSignal);
    const enqueuedAt = performance.now();
    const context = new Map<unknown, unknown>();
    const headers: Record<string, string> = {};
    for (let attempt = 0; ; attempt++) {
      // Decided once per attempt, so claim and release agree. A call sent again is
      // never pipelined: it waits for a free slot, so it cannot be handed back twice.
      const fast = attempt === 0 && kind === "execute" && this.isFast(tool);
      let slot: Slot;
      try {
        slot = await this.acquire(callId, tool, fast, options.sessionId, deadline, userSignal);
        // Its worker went away between the claim and now (an exit, a kill): the call
        // was never sent, so it may go to another worker.
        while (slot.gone) {
          this.release(slot, fast);
          slot = await this.acquire(callId, tool, fast, options.sessionId, deadline, userSignal);
        }
      } catch (err) {
        const e = SnakepitError.from(err);
        if (e.code === "queue_full" || e.code === "queue_timeout" || e.code === "pool_closed") this.counters.rejected++;
        else this.counters.failed++;
        this.finished(callId, tool, kind, undefined, performance.now() - enqueuedAt, 0, e, context);
        throw e;
      }
      const claimed = slot;
      const startedAt = performance.now();
      const waitMs = startedAt - enqueuedAt;
      const controller = new AbortController();
      const onUserAbort = () => controller.abort(userSignal?.reason);
      let listening = false;
      let failedBy: SnakepitError | undefined;
      let pastDeadline = false;
      let deadlineTimer: LongTimeout | undefined;
      let abandoned = false;
      let notStarted = false;
      const running: RunningCall = {
        callId,
        sentAt: performance.now(),
        withdrawing: false,
        fail: (e, never = false) => {
          if (!failedBy) notStarted = never;
          failedBy ??= e;
          controller.abort(e);
        },
      };
      try {
        // A call sent again (its first worker never started it) is still one call to observers.
        if (attempt === 0) publish(channels.requestStarted, () => ({
          ...this.ref(),
          callId,
          tool,
          kind,
          workerId: claimed.id,
          sessionId: options.sessionId,
          waitMs,
          headers,
          context,
        }));
        const req = this.request(callId, tool, encoded, options.sessionId, deadline, headers);
        userSignal?.addEventListener("abort", onUserAbort, { once: true });
        listening = true;
        claimed.running.add(running);
        let timeoutMs: number | undefined;
        if (Number.isFinite(deadline)) {
          const remaining = Math.max(1, deadline - Date.now());
          if (remaining <= MAX_TIMER_DELAY_MS) timeoutMs = remaining;
          else {
            // Beyond what a channel's timer may take: the pool keeps this deadline itself.
            deadlineTimer = setLongTimeout(
              () => {
                pastDeadline = true;
                running.fail(new SnakepitError("deadline_exceeded", `call ${tool} passed its deadline on worker ${claimed.id}; the tool was told to stop`, { pool: this.name, tool, callId, workerId: claimed.id }));
              },
              remaining,
              { unref: true },
            );
          }
        }
        const result = await send(claimed, req, controller.signal, timeoutMs);
        this.noteServing(claimed);
        this.counters.completed++;
        if (kind === "execute") this.noteRunTime(tool, performance.now() - startedAt);
        this.finished(callId, tool, kind, claimed.id, waitMs, performance.now() - startedAt, undefined, context);
        return result;
      } catch (err) {
        const never = (failedBy !== undefined && notStarted) || (failedBy === undefined && err instanceof ChannelFailure && err.kind === "not_started");
        if (never && attempt < MAX_NOT_STARTED_RETRIES && this.poolState === "ready" && !userSignal?.aborted && Date.now() < deadline) {
          // The worker never started it (withdrawn, or its worker died first): send it elsewhere.
          this.counters.resent++;
          continue;
        }
        let e: SnakepitError;
        if (never && !failedBy) {
          // Handed back, but it cannot be sent again (deadline, abort, closing pool): it did not run.
          e = userSignal?.aborted
            ? abortedError(tool, callId, this.name, userSignal)
            : Date.now() >= deadline
              ? new SnakepitError("deadline_exceeded", `call ${tool} passed its deadline before a worker started it`, { pool: this.name, tool, callId })
              : this.poolState !== "ready"
                ? new SnakepitError("pool_closed", `pool ${this.name} closed before a worker started call ${tool}`, { pool: this.name, tool, callId })
                : new SnakepitError("internal", `call ${tool} was handed back by its workers ${attempt + 1} times without running`, { pool: this.name, tool, callId });
        } else if (failedBy) {
          e = failedBy;
          abandoned = pastDeadline;
        } else if (err instanceof ChannelFailure) {
          e = await this.channelError(err, claimed, tool, callId, userSignal);
          // The worker may still be running it (cancel is cooperative): keep its capacity until it is done.
          abandoned = err.kind === "aborted" || err.kind === "deadline_exceeded";
        } else {
          // The worker answered (the tool's own error, or a result we could not use): it served.
          e = SnakepitError.from(err);
          this.noteServing(claimed);
        }
        if (e.code === "aborted" && userSignal?.aborted && stopSignal?.aborted && !options.signal?.aborted) {
          // The consumer left a stream early: that is not a failure.
          this.counters.completed++;
          this.finished(callId, tool, kind, claimed.id, waitMs, performance.now() - startedAt, undefined, context);
        } else {
          this.counters.failed++;
          this.finished(callId, tool, kind, claimed.id, waitMs, performance.now() - startedAt, e, context);
        }
        throw e;
      } finally {
        deadlineTimer?.clear();
        if (listening) userSignal?.removeEventListener("abort", onUserAbort);
        claimed.running.delete(running);
        if (abandoned && !claimed.exit && !claimed.gone) void this.settleCancelled(claimed, callId, fast);
        else this.release(claimed, fast);
      }
    }
  }

  /** Hold a cancelled call's capacity until the worker confirms it has stopped running it (or is gone). */
  private async settleCancelled(slot: Slot, callId: string, fast: boolean): Promise<void> {
    try {
      const gone = slot.handle ? slot.handle.exited.then(() => undefined) : Promise.resolve(undefined);
      while (!slot.exit && !slot.gone && slot.handle) {
        const res = await Promise.race([slot.handle.channel.cancel(callId, CANCEL_WAIT_MS, { timeoutMs: CANCEL_WAIT_MS + 2_000 }), gone]);
        if (!res || res.finished || !res.found) break;
      }
    } catch {
      /* the worker went away: its exit handling takes over */
    } finally {
      this.release(slot, fast);
    }
  }

  private async channelError(err: ChannelFailure, slot: Slot, tool: string, callId: string, userSignal: AbortSignal | undefined): Promise<SnakepitError> {
    const ctx = { pool: this.name, tool, callId, workerId: slot.id, cause: err };
    if (err.kind === "aborted" && userSignal?.aborted) return abortedError(tool, callId, this.name, userSignal);
    if (err.kind === "deadline_exceeded") {
      return new SnakepitError("deadline_exceeded", `call ${tool} passed its deadline on worker ${slot.id}; the tool was told to stop`, ctx);
    }
    // The connection broke: most often because the worker died. No further call
    // goes to it from now on; wait briefly for its exit so the error can say how it died.
    if (err.kind !== "protocol" && !slot.gone) this.takeOutOfRotation(slot);
    const exit = slot.exit ?? (slot.handle ? await Promise.race([slot.handle.exited, delay(2_000)]) : undefined);
    if (exit) return this.crashError(slot, exit);
    if (err.kind === "protocol") return new SnakepitError("internal", `worker ${slot.id} refused the call: ${err.message}`, ctx);
    // Alive but unreachable: it is of no use; replace it.
    slot.handle?.kill();
    return new SnakepitError("worker_crashed", `lost the connection to worker ${slot.id} (${err.message}); it was replaced`, ctx);
  }

  private finished(
    callId: string,
    tool: string,
    kind: CallKind,
    workerId: string | undefined,
    waitMs: number,
    runMs: number,
    error: SnakepitError | undefined,
    context: Map<unknown, unknown>,
  ): void {
    publish(channels.requestFinished, () => ({
      ...this.ref(),
      callId,
      tool,
      kind,
      workerId,
      waitMs,
      runMs,
      outcome: error ? ("error" as const) : ("ok" as const),
      errorCode: error?.code as SnakepitErrorCode | undefined,
      error,
      context,
    }));
  }

  // ---- inspection ---------------------------------------------------------------

  state(): PoolState {
    return this.poolState;
  }

  async describe(): Promise<PoolDescription> {
    if (this.poolState !== "ready" && this.description) return this.description;
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
    const perWorker = [...this.slots.values()].map((s) => {
      if (s.state === "starting") starting++;
      if (s.state === "ready") {
        workers++;
        capacity += s.handle?.capacity ?? 0;
        if (s.load > 0) busy++;
        else idle++;
      }
      inFlight += s.running.size;
      return {
        id: s.id,
        pid: s.handle?.pid,
        state: s.state,
        load: s.load,
        capacity: s.handle?.capacity ?? 0,
        requestsServed: s.served,
        uptimeMs: s.readyAt ? now - s.readyAt : 0,
        ...(s.handle ? { info: s.handle.info } : {}),
      };
    });
    return {
      name: this.name,
      profile: this.profile,
      state: this.poolState,
      size: this.options.size,
      workers,
      starting,
      busy,
      idle,
      capacity,
      inFlight,
      queued: this.queue.size,
      ...this.counters,
      degraded: this.degraded ? { ...this.degraded } : undefined,
      perWorker,
    };
  }

  async health(options: { timeoutMs?: number } = {}): Promise<WorkerHealth[]> {
    const ready = [...this.slots.values()].filter((s) => s.handle && (s.state === "ready" || s.state === "draining"));
    return Promise.all(ready.map((s) => this.workerHealth(s.id, options)));
  }

  private async workerHealth(workerId: string, options: { timeoutMs?: number } = {}): Promise<WorkerHealth> {
    const slot = this.slots.get(workerId);
    const base = {
      workerId,
      pid: slot?.handle?.pid,
      capacity: slot?.handle?.capacity ?? 0,
      uptimeMs: slot?.readyAt ? Date.now() - slot.readyAt : 0,
    };
    if (!slot?.handle) {
      return { ...base, status: "unreachable", activeCalls: 0, requestsStarted: 0, rssBytes: 0, pssBytes: 0, ussBytes: 0, error: "no such worker" };
    }
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
      const message = err instanceof Error ? err.message : String(err);
      return { ...base, status: "unreachable", activeCalls: 0, requestsStarted: 0, rssBytes: 0, pssBytes: 0, ussBytes: 0, error: message };
    }
  }

  private killWorker(workerId: string, options: KillWorkerOptions): void {
    const slot = this.slots.get(workerId);
    if (!slot?.handle || slot.exit) return;
    slot.killError =
      options.error ??
      new SnakepitError("worker_crashed", `worker ${workerId} was killed (${options.reason}) while running this call`, {
        workerId,
        pool: this.name,
      });
    this.counters.recycles++;
    publish(channels.workerRecycled, () => ({
      ...this.ref(),
      workerId,
      reason: options.reason,
      uptimeMs: slot.readyAt ? Date.now() - slot.readyAt : 0,
      requestsServed: slot.served,
      ...(options.detail ? { detail: options.detail } : {}),
    }));
    this.options.logger.warn(`killing worker ${workerId}: ${options.reason}`, { pool: this.name, workerId });
    for (const call of [...slot.running]) call.fail(slot.killError);
    slot.handle.kill();
    // Out of rotation at once, not only when its exit is seen.
    this.takeOutOfRotation(slot);
  }

  private setDegraded(error: SnakepitError | undefined, reason = "degraded"): void {
    if (error) {
      const wasHealthy = !this.degraded;
      this.degraded = { reason, since: this.degraded?.since ?? Date.now(), error };
      for (const entry of this.queue.drain()) {
        this.counters.rejected++;
        entry.reject(error);
      }
      if (wasHealthy) {
        this.options.logger.error(`pool ${this.name} is degraded: ${reason}`, { pool: this.name });
        publish(channels.poolDegraded, () => ({ ...this.ref(), reason, error }));
      }
    } else if (this.degraded) {
      const degradedMs = Date.now() - this.degraded.since;
      this.degraded = undefined;
      this.options.logger.info(`pool ${this.name} recovered`, { pool: this.name });
      publish(channels.poolRecovered, () => ({ ...this.ref(), degradedMs }));
    }
  }

  /** What plugins get: the pool plus the mechanisms policy needs. */
  private control(): PoolControl {
    return {
      pool: this,
      options: this.options,
      workerHealth: (id, o) => this.workerHealth(id, o),
      killWorker: (id, o) => this.killWorker(id, o),
      onClaim: (listener) => {
        this.claimListeners.push(listener);
        return () => {
          this.claimListeners = this.claimListeners.filter((l) => l !== listener);
        };
      },
      setRestartPolicy: (policy) => {
        this.restartPolicy = policy;
        this.customRestartPolicy = true;
      },
      setDegraded: (error, reason) => this.setDegraded(error, reason),
    };
  }

  // ---- shutdown -----------------------------------------------------------------

  close(options: CloseOptions = {}): Promise<void> {
    this.closing ??= this.shutdown(options.timeoutMs ?? this.options.closeTimeoutMs, false);
    return this.closing;
  }

  destroy(): Promise<void> {
    if (this.closing && this.poolState === "stopped") return this.closing;
    const previous = this.closing;
    const forced = this.shutdown(0, true);
    this.closing = previous ? Promise.all([previous, forced]).then(() => {}) : forced;
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async shutdown(timeoutMs: number, force: boolean): Promise<void> {
    const wasFailed = this.poolState === "failed";
    if (this.poolState !== "stopped") this.poolState = "draining";
    this.replacementTimer?.clear();
    this.replacementTimer = undefined;
    const closed = new SnakepitError("pool_closed", `pool ${this.name} was closed`, { pool: this.name });
    for (const entry of this.queue.drain()) {
      this.counters.rejected++;
      entry.reject(closed);
    }
    const slots = [...this.slots.values()];
    if (force) {
      for (const s of slots) for (const call of [...s.running]) call.fail(closed);
    } else {
      const until = Date.now() + timeoutMs;
      await Promise.all(slots.map((s) => this.waitIdle(s, Math.max(0, until - Date.now()))));
      for (const s of slots) for (const call of [...s.running]) call.fail(new SnakepitError("pool_closed", `pool ${this.name} closed before the call finished (closeTimeoutMs)`, { pool: this.name }));
    }
    this.lifetime.abort();
    clearTimeout(this.withdrawTimer);
    await Promise.all(
      slots.map(async (s) => {
        s.state = "stopping";
        if (!s.handle) return;
        if (force) s.handle.kill();
        else await s.handle.stop({ timeoutMs: 2_000 });
        await s.handle.exited;
      }),
    );
    for (const dispose of this.pluginDisposers.splice(0)) {
      try {
        await dispose();
      } catch (err) {
        this.options.logger.warn(`plugin dispose failed: ${String(err)}`, { pool: this.name });
      }
    }
    await this.runtimeDir.remove();
    const wasReady = !wasFailed;
    this.poolState = wasFailed ? "failed" : "stopped";
    if (wasReady) publish(channels.poolClosed, () => ({ ...this.ref(), forced: force }));
  }

  private ref() {
    return { pool: this as Pool, poolName: this.name, profile: this.profile };
  }

  // ---- typed calls (typed-client.ts) -----------------------------------------------

  client<T extends ToolTypes<T>>(options?: TypedClientOptions): TypedClient<T> {
    return typedClient<T>(this, options);
  }
}

function abortedError(tool: string, callId: string, pool: string, signal: AbortSignal | undefined): SnakepitError {
  const reason: unknown = signal?.reason;
  const why = reason instanceof Error ? `: ${reason.message}` : reason !== undefined ? `: ${String(reason)}` : "";
  return new SnakepitError("aborted", `call ${tool} was aborted${why}`, { pool, tool, callId, cause: reason });
}

/** What a failure's error carries over into the errors derived from it (degraded, starved). */
function failureDetails(e: SnakepitError) {
  return {
    ...(e.traceback !== undefined ? { traceback: e.traceback } : {}),
    ...(e.pythonType !== undefined ? { pythonType: e.pythonType } : {}),
    ...(e.stderrTail !== undefined ? { stderrTail: e.stderrTail } : {}),
    ...(e.exitCode !== undefined ? { exitCode: e.exitCode } : {}),
    ...(e.signal !== undefined ? { signal: e.signal } : {}),
  };
}

/** Latest deadline a call may have: the last moment a JS Date can hold. */
const MAX_DATE_MS = 8.64e15;

/**
 * Check a call's options before anything is claimed; returns its timeoutMs
 * (undefined for the pool's default). Throws invalid_argument naming the option.
 */
function checkCallOptions(options: CallOptions, tool: string, pool: string): number | undefined {
  const bad = (message: string) => new SnakepitError("invalid_argument", `call ${tool}: ${message}`, { pool, tool });
  if (typeof options !== "object" || options === null) throw bad("the call options must be an object ({ timeoutMs, signal, sessionId, idempotent })");
  const { signal, timeoutMs, sessionId, idempotent } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw bad("options.signal must be an AbortSignal (for example new AbortController().signal, or AbortSignal.timeout(ms))");
  }
  if (sessionId !== undefined && (typeof sessionId !== "string" || sessionId === "")) {
    throw bad(`options.sessionId must be a non-empty string, not ${describeValue(sessionId)}; convert ids with String(id) yourself`);
  }
  if (idempotent !== undefined && typeof idempotent !== "boolean") throw bad("options.idempotent must be a boolean");
  if (timeoutMs === undefined) return undefined;
  if (typeof timeoutMs !== "number" || !(timeoutMs > 0)) {
    throw bad(`options.timeoutMs must be a positive number of milliseconds (Infinity for no deadline), not ${describeValue(timeoutMs)}`);
  }
  if (timeoutMs !== Infinity && Date.now() + timeoutMs > MAX_DATE_MS) {
    throw bad(`options.timeoutMs ${timeoutMs} puts the deadline past the last date JavaScript can represent; pass Infinity for no deadline`);
  }
  return timeoutMs;
}

function describeValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "symbol") return "a symbol";
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint" || v === undefined || v === null) return `${typeof v} ${String(v)}`;
  return typeof v === "function" ? "a function" : "an object";
}

function delay(ms: number): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), ms).unref());
}
