/**
 * Lifecycle for one pool: it follows the pool through its hooks and decides when a worker is
 * replaced; the pool does the replacing (recycleWorker, killWorker), the
 * routing, and the failing of calls. Policy lives here, mechanism in core.
 */
import {
  SnakepitError,
  backoffDelay,
  isFailedStart,
  type PoolControl,
  type RecycleOptions,
  type RequestFinishedEvent,
  type RequestStartedEvent,
  type WorkerExitedEvent,
  type WorkerHealth,
  type WorkerReadyEvent,
  type WorkerRecycledEvent,
  type WorkerRuntimeInfo,
  type WorkerStartFailedEvent,
} from "@snakepit/core";
import { classifyExit, type ExitKind } from "./classify-exit.js";
import { restartChannel, type LifecycleRestartEvent, type RestartReason } from "./events.js";
import { judgeMemory, memoryOf, type MemoryReading } from "./memory.js";
import type { ResolvedLifecycleOptions } from "./options.js";
import type { AttachedLifecycle } from "./registry.js";
import { drawLimit, replacementLead } from "./request-limit.js";
import { inTurn, replaceWorker } from "./rolling.js";
import type { LifecycleStats, LimitUse, WorkerLifecycleStats } from "./stats.js";

/**
 * A crash at start-up (core's isFailedStart: soon after ready, before answering a
 * call) counts toward the restart backoff like a failed start, for this long.
 */
const EARLY_CRASH_WINDOW_MS = 60_000;
/** Health-call timeout when periodic checks are off (memory is then sampled after requests only). */
const SAMPLE_TIMEOUT_MS = 5_000;
/**
 * After a request, memory is sampled unless the last sample is more recent than
 * ten times what a health call takes (at least this many ms); a sample then
 * follows when that gap is over. A health call costs a few ms of the worker's
 * time, so sampling after every request of a sub-millisecond tool would slow it
 * many times over; this keeps the cost near a tenth at most.
 */
const MIN_SAMPLE_GAP_MS = 20;
const MAX_SAMPLE_GAP_MS = 500;
/** Start-up time assumed until one has been seen. */
const DEFAULT_START_MS = 1_000;
/** Start-up times remembered; the longest of them plans the next early start. */
const START_SAMPLES = 5;

interface Tracked {
  readonly id: string;
  readonly pid: number | undefined;
  readonly readyAt: number;
  readonly capacity: number;
  started: number;
  readonly requestLimit: number | undefined;
  prestarted: boolean;
  /** After a replacement for its request limit failed to start: not before this time again. */
  retryAt: number;
  readonly ttlMs: number | undefined;
  ttlTimer: NodeJS.Timeout | undefined;
  checkTimer: NodeJS.Timeout | undefined;
  probing: boolean;
  lastProbeAt: number;
  /** How long its health calls take (moving average). */
  probeMs: number;
  nextCheckAt: number;
  /** A request finished since the last sample began. */
  sampleDue: boolean;
  misses: number;
  answered: number;
  lastHealthError: string | undefined;
  baseline: MemoryReading | undefined;
  memory: MemoryReading | undefined;
  warnedBornAbove: boolean;
  /** The reason of the replacement under way (or waiting its turn), if any. */
  recycling: string | undefined;
  /** Lifecycle has taken it out of rotation (a hard limit, or a kill). */
  outOfRotation: boolean;
  /** Set when lifecycle killed it. */
  killedFor: RestartReason | undefined;
}

const EXIT_KINDS: readonly ExitKind[] = ["segfault", "abort", "killed", "signal", "exit_code", "clean"];

export class PoolLifecycle implements AttachedLifecycle {
  private readonly workers = new Map<string, Tracked>();
  private readonly hardTimers = new Map<string, NodeJS.Timeout>();
  private readonly recycles: Record<string, number> = {};
  private readonly restarts: Record<RestartReason, number> = { crash: 0, hung: 0, hard_timeout: 0 };
  private readonly crashes = Object.fromEntries(EXIT_KINDS.map((k) => [k, 0])) as Record<ExitKind, number>;
  private earlyCrashes: number[] = [];
  private startFailuresInARow = 0;
  private startFailuresTotal = 0;
  private lastStartError: Error | undefined;
  private degradedByUs = false;
  private startSamples: number[] = [];
  private disposed = false;
  private readonly unsubscribers: Array<() => void> = [];

  constructor(
    private readonly control: PoolControl,
    private readonly o: ResolvedLifecycleOptions,
  ) {}

  attach(): () => void {
    const pool = this.control.pool;
    // Our own pool's hooks (core calls them for this pool only, errors contained).
    const hard = this.o.hardTimeoutMs !== undefined;
    const finished = hard || this.o.maxMemoryBytes !== undefined;
    this.unsubscribers.push(
      this.control.addHooks({
        onWorkerReady: (e) => this.guard("onWorkerReady", () => this.onReady(e)),
        onWorkerExit: (e) => this.guard("onWorkerExit", () => this.onExited(e)),
        onWorkerStartFailed: (e) => this.guard("onWorkerStartFailed", () => this.onStartFailed(e)),
        onWorkerRecycled: (e) => this.guard("onWorkerRecycled", () => this.onRecycled(e)),
        onCallClaimed: (id, n) => this.guard("onCallClaimed", () => this.onClaim(id, n)),
        ...(hard ? { onCallStart: (e: RequestStartedEvent) => this.guard("onCallStart", () => this.onRequestStarted(e)) } : {}),
        ...(finished ? { onCallEnd: (e: RequestFinishedEvent) => this.guard("onCallEnd", () => this.onRequestFinished(e)) } : {}),
      }),
    );
    // The replacement delay is ours: failed starts in a row plus recent early crashes.
    this.control.setRestartPolicy({ delayMs: () => this.restartDelay() });

    const now = Date.now();
    const first = pool.stats().perWorker.filter((w) => w.state === "ready");
    first.forEach((w, i) => {
      // Workers started together would reach one limit together: the first ones get
      // limits spread evenly below it (never above: it is a cap), so their replacements
      // come one after the other, a fraction of the limit apart.
      const stagger = this.o.maxRequests === undefined ? 0 : Math.floor((i * this.o.maxRequests) / first.length);
      const t = this.track(w.id, w.pid, now - w.uptimeMs, w.capacity, w.requestsServed, stagger);
      this.takeBaseline(t, w.info);
    });
    const shared = pool.stats().perWorker.find((w) => w.capacity > 1);
    if (this.o.hardTimeoutMs !== undefined && shared) {
      this.control.options.logger.warn(
        `lifecycle: hardTimeoutMs is not applied to pool ${pool.name}: its workers run ${shared.capacity} calls at once, and killing ` +
          "one would fail every call on it. Use per-call timeoutMs there, or the process profile.",
        { pool: pool.name },
      );
    }
    return () => this.dispose();
  }

  /** A bug here must not break the pool's own bookkeeping (nor become an uncaught exception). */
  private guard(where: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.control.options.logger.error(`lifecycle: ${where} handler failed: ${String(err)}`, { pool: this.control.pool.name });
    }
  }

  private dispose(): void {
    this.disposed = true;
    for (const u of this.unsubscribers.splice(0)) u();
    for (const w of this.workers.values()) this.untrack(w);
    for (const t of this.hardTimers.values()) clearTimeout(t);
    this.hardTimers.clear();
  }

  private get live(): boolean {
    return !this.disposed && this.control.pool.state() === "ready";
  }

  // ---- workers coming and going -------------------------------------------------

  private track(id: string, pid: number | undefined, readyAt: number, capacity: number, started = 0, stagger = 0): Tracked {
    const o = this.o;
    const w: Tracked = {
      id,
      pid,
      readyAt,
      capacity,
      started,
      requestLimit: o.maxRequests === undefined ? undefined : Math.max(1, drawLimit(o.maxRequests, o.maxRequestsJitter) - stagger),
      prestarted: false,
      retryAt: 0,
      ttlMs: o.ttlMs === undefined ? undefined : drawLimit(o.ttlMs, o.ttlJitterMs),
      ttlTimer: undefined,
      checkTimer: undefined,
      probing: false,
      lastProbeAt: 0,
      probeMs: 0,
      nextCheckAt: Infinity,
      sampleDue: false,
      misses: 0,
      answered: 0,
      lastHealthError: undefined,
      baseline: undefined,
      memory: undefined,
      warnedBornAbove: false,
      recycling: undefined,
      outOfRotation: false,
      killedFor: undefined,
    };
    this.workers.set(id, w);
    if (w.ttlMs !== undefined) this.armTtl(w, readyAt + w.ttlMs - Date.now());
    // The first reading is the worker's start-up memory (the growth baseline).
    void this.probe(w);
    return w;
  }

  /**
   * The worker measured itself after setup(), before its first call: with that as
   * the growth baseline, a leak in the first calls can never become the baseline.
   */
  private takeBaseline(w: Tracked, info: WorkerRuntimeInfo | undefined): void {
    const m = info?.memoryBaseline;
    if (m && !w.baseline) w.baseline = memoryOf({ pssBytes: m.pssBytes, rssBytes: m.rssBytes });
  }

  private untrack(w: Tracked): void {
    clearTimeout(w.ttlTimer);
    clearTimeout(w.checkTimer);
    this.workers.delete(w.id);
  }

  private onReady(e: WorkerReadyEvent): void {
    this.startFailuresInARow = 0;
    this.startSamples.push(e.startMs);
    if (this.startSamples.length > START_SAMPLES) this.startSamples.shift();
    const info = this.control.pool.stats().perWorker.find((w) => w.id === e.workerId);
    if (!this.workers.has(e.workerId)) {
      this.takeBaseline(this.track(e.workerId, e.pid, Date.now(), info?.capacity ?? 1), e.info);
    }
    if (this.degradedByUs) {
      this.degradedByUs = false;
      this.control.setDegraded(undefined);
    }
  }

  private onExited(e: WorkerExitedEvent): void {
    const w = this.workers.get(e.workerId);
    if (w) this.untrack(w);
    const reason: RestartReason | undefined = w?.killedFor ?? (e.expected ? undefined : "crash");
    if (reason) {
      const exit = classifyExit(e);
      this.restarts[reason]++;
      if (reason === "crash") {
        this.crashes[exit.kind]++;
        if (isFailedStart(e)) this.earlyCrashes.push(Date.now());
        else {
          // It was serving (an outside kill, an OOM kill, a call that crashed it): not a failed start.
          this.earlyCrashes = [];
          this.startFailuresInARow = 0;
        }
      }
      if (restartChannel.hasSubscribers) {
        const event: LifecycleRestartEvent = {
          pool: e.pool,
          poolName: e.poolName,
          profile: e.profile,
          workerId: e.workerId,
          pid: e.pid,
          reason,
          exit,
          stderrTail: e.stderrTail,
          uptimeMs: e.uptimeMs,
          requestsServed: e.requestsServed,
          inFlight: e.inFlight,
          memory: w?.memory,
          nextStartDelayMs: this.restartDelay(),
        };
        restartChannel.publish(event);
      }
      if (reason === "crash") {
        this.control.options.logger.warn(`lifecycle: worker ${e.workerId} crashed: ${exit.description}`, {
          pool: e.poolName,
          workerId: e.workerId,
        });
      }
    }
    this.checkDegraded();
  }

  private onStartFailed(e: WorkerStartFailedEvent): void {
    this.startFailuresInARow++;
    this.startFailuresTotal++;
    this.lastStartError = e.error;
    this.checkDegraded();
  }

  private onRecycled(e: WorkerRecycledEvent): void {
    this.recycles[e.reason] = (this.recycles[e.reason] ?? 0) + 1;
    const w = this.workers.get(e.workerId);
    if (w) w.recycling ??= e.reason;
  }

  // ---- restarts and degraded mode ---------------------------------------------------

  private restartDelay(): number {
    const since = Date.now() - EARLY_CRASH_WINDOW_MS;
    this.earlyCrashes = this.earlyCrashes.filter((t) => t >= since);
    return backoffDelay(this.startFailuresInARow + this.earlyCrashes.length, this.o.restartBackoffMs, this.o.restartBackoffMaxMs);
  }

  /**
   * Degraded: starts keep failing and no worker is left to serve. Callers then get
   * the last start failure (with its Python traceback) at once instead of waiting
   * out queueTimeoutMs; the pool keeps trying to start workers meanwhile.
   */
  private checkDegraded(): void {
    if (!this.live || !this.lastStartError) return;
    if (this.startFailuresInARow < this.o.maxStartFailures) return;
    if (this.control.pool.stats().workers > 0) return;
    const last = this.lastStartError;
    const s = last instanceof SnakepitError ? last : undefined;
    const error = new SnakepitError(
      "worker_start_failed",
      `pool ${this.control.pool.name} is degraded: its last ${this.startFailuresInARow} worker starts failed and no worker is running; ` +
        `it keeps retrying in the background. Last failure: ${last.message}`,
      {
        cause: last,
        pool: this.control.pool.name,
        ...(s?.traceback !== undefined ? { traceback: s.traceback } : {}),
        ...(s?.pythonType !== undefined ? { pythonType: s.pythonType } : {}),
        ...(s?.stderrTail !== undefined ? { stderrTail: s.stderrTail } : {}),
        ...(s?.exitCode !== undefined ? { exitCode: s.exitCode } : {}),
        ...(s?.signal !== undefined ? { signal: s.signal } : {}),
      },
    );
    this.degradedByUs = true;
    this.control.setDegraded(error, `${this.startFailuresInARow} worker starts failed in a row`);
  }

  // ---- request limits ------------------------------------------------------------------

  private onClaim(id: string, n: number): void {
    const w = this.workers.get(id);
    if (!w) return;
    w.started = n;
    const limit = w.requestLimit;
    if (limit === undefined || !this.live) return;
    if (w.prestarted || n < limit - replacementLead(limit, n, Date.now() - w.readyAt, this.startMs())) return;
    if (Date.now() < w.retryAt) return;
    // Start the replacement early enough to be ready about when the limit is reached.
    // The worker leaves rotation only once its replacement is ready: if that takes
    // longer, it serves past its limit meanwhile (lifecycleStats shows by how much).
    // One replacement at a time per pool, so two workers never drain together.
    w.prestarted = true;
    this.replaceInTurn(w, "max_requests", { limit });
  }

  /** The longest of the recent start-up times (measured by core, under whatever load there was). */
  private startMs(): number {
    return this.startSamples.length ? Math.max(...this.startSamples) : DEFAULT_START_MS;
  }

  /** Replace a worker in its turn; it keeps serving until the replacement is ready. */
  private replaceInTurn(w: Tracked, reason: string, detail: Record<string, unknown>): void {
    if (w.killedFor || w.outOfRotation || w.recycling) return;
    w.recycling = reason;
    inTurn(this.control.pool, async () => {
      if (!this.live || !this.workers.has(w.id)) return;
      await replaceWorker(this.control.pool, w.id, { ...this.recycleOptions(w.id, reason, detail), drain: "when-replaced" });
    }).catch((err: unknown) => {
      // The pool is closing: its starts are aborted, and that is no failure to report.
      if (!this.live) return;
      // The replacement could not start: the worker keeps serving; try again after the restart backoff.
      if (this.workers.has(w.id)) {
        w.recycling = undefined;
        w.prestarted = false;
        w.retryAt = Date.now() + Math.max(this.o.restartBackoffMs, this.restartDelay());
      }
      this.control.options.logger.error(`lifecycle: ${reason} recycle of ${w.id} failed: ${String(err)}`, { pool: this.control.pool.name });
    });
  }

  /** recycleWorker with lifecycle's drain timeout and the worker's memory in the detail. */
  recycleOptions(workerId: string, reason: string, detail: Record<string, unknown> = {}): RecycleOptions {
    const w = this.workers.get(workerId);
    const memory = w?.memory
      ? { memoryBytes: w.memory.bytes, memoryMetric: w.memory.metric, ...(w.baseline ? { baselineBytes: w.baseline.bytes } : {}) }
      : {};
    return {
      reason,
      detail: { ...detail, ...memory },
      ...(this.o.drainTimeoutMs !== undefined ? { drainTimeoutMs: this.o.drainTimeoutMs } : {}),
    };
  }

  private recycle(w: Tracked, reason: string, drain: "now" | "when-replaced", detail: Record<string, unknown>): void {
    if (w.killedFor || w.outOfRotation) return;
    const first = w.recycling === undefined;
    w.recycling ??= reason;
    // A second call only matters to upgrade a recycle under way (or waiting its turn) to "now".
    if (!first && drain !== "now") return;
    if (drain === "now") w.outOfRotation = true;
    this.control.pool.recycleWorker(w.id, { ...this.recycleOptions(w.id, reason, detail), drain }).catch((err: unknown) => {
      this.control.options.logger.error(`lifecycle: recycling ${w.id} (${reason}) failed: ${String(err)}`, { pool: this.control.pool.name });
    });
  }

  // ---- age -----------------------------------------------------------------------------

  private armTtl(w: Tracked, delayMs: number): void {
    clearTimeout(w.ttlTimer);
    w.ttlTimer = setTimeout(() => this.ttlReached(w), Math.max(0, delayMs));
    w.ttlTimer.unref();
  }

  private ttlReached(w: Tracked): void {
    if (!this.live || !this.workers.has(w.id) || w.recycling || w.killedFor) return;
    if (this.startFailuresInARow > 0) {
      // Workers cannot start right now: replacing an old-but-working one would only shrink the pool.
      this.armTtl(w, this.o.restartBackoffMaxMs);
      return;
    }
    w.recycling = "ttl";
    const detail = { ttlMs: w.ttlMs };
    inTurn(this.control.pool, async () => {
      if (!this.live || !this.workers.has(w.id)) return;
      await replaceWorker(this.control.pool, w.id, { ...this.recycleOptions(w.id, "ttl", detail), drain: "when-replaced" });
    }).catch((err: unknown) => {
      this.control.options.logger.error(`lifecycle: ttl recycle of ${w.id} failed: ${String(err)}`, { pool: this.control.pool.name });
    });
  }

  // ---- health and memory -----------------------------------------------------------------

  private scheduleCheck(w: Tracked, delayMs: number): void {
    clearTimeout(w.checkTimer);
    w.checkTimer = undefined;
    w.nextCheckAt = Date.now() + delayMs;
    if (!Number.isFinite(delayMs)) return;
    w.checkTimer = setTimeout(() => void this.probe(w), Math.max(0, delayMs));
    w.checkTimer.unref();
  }

  /** One health call (also the memory sample); a miss is no answer within healthIntervalMs. */
  private async probe(w: Tracked): Promise<void> {
    if (!this.live || w.killedFor || w.probing) return;
    w.probing = true;
    w.sampleDue = false;
    clearTimeout(w.checkTimer);
    const startedAt = Date.now();
    w.lastProbeAt = startedAt;
    const timeoutMs = Number.isFinite(this.o.healthIntervalMs) ? this.o.healthIntervalMs : SAMPLE_TIMEOUT_MS;
    let health: WorkerHealth;
    try {
      health = await this.control.workerHealth(w.id, { timeoutMs });
    } catch (err) {
      // Core answers "unreachable" rather than throwing; this is for a failure of its own.
      health = {
        workerId: w.id,
        pid: w.pid,
        status: "unreachable",
        activeCalls: 0,
        capacity: w.capacity,
        requestsStarted: 0,
        rssBytes: 0,
        pssBytes: 0,
        ussBytes: 0,
        uptimeMs: 0,
        error: String(err),
      };
    } finally {
      w.probing = false;
    }
    if (!this.live || !this.workers.has(w.id) || w.killedFor) return;
    if (health.status === "unreachable") this.missed(w, health.error);
    else {
      // The first call also sets up the connection: it says nothing about the cost of the next ones.
      const took = Date.now() - startedAt;
      if (w.answered === 1) w.probeMs = took;
      else if (w.answered > 1) w.probeMs = 0.8 * w.probeMs + 0.2 * took;
      w.misses = 0;
      w.answered++;
      this.sawMemory(w, health);
    }
    if (w.killedFor) return;
    const next = Math.min(startedAt + this.o.healthIntervalMs, w.sampleDue ? startedAt + this.sampleGap(w) : Infinity);
    this.scheduleCheck(w, next - Date.now());
  }

  private sampleGap(w: Tracked): number {
    return Math.min(MAX_SAMPLE_GAP_MS, Math.max(MIN_SAMPLE_GAP_MS, 10 * w.probeMs));
  }

  private missed(w: Tracked, error: string | undefined): void {
    // A worker that takes no more calls is on its way out, bounded by drainTimeoutMs and
    // the stop's own SIGKILL; one that is stopping may well stop answering.
    const state = this.control.pool.stats().perWorker.find((x) => x.id === w.id)?.state;
    if (state !== "ready") return;
    w.misses++;
    w.lastHealthError = error;
    if (w.misses < this.o.maxHealthMisses) return;
    const pool = this.control.pool.name;
    this.kill(
      w,
      "hung",
      new SnakepitError(
        "worker_crashed",
        `worker ${w.id} did not answer ${w.misses} health checks in a row (healthIntervalMs ${this.o.healthIntervalMs}); ` +
          "it was declared hung, killed (SIGKILL) and replaced",
        { workerId: w.id, pool },
      ),
      { misses: w.misses, healthIntervalMs: this.o.healthIntervalMs, lastError: error },
    );
  }

  private sawMemory(w: Tracked, health: WorkerHealth): void {
    const reading = memoryOf(health, w.baseline?.metric);
    w.memory = reading;
    if (!w.baseline) {
      w.baseline = reading;
      return;
    }
    const limit = this.o.maxMemoryBytes;
    if (limit === undefined || w.outOfRotation) return;
    const v = judgeMemory(reading, w.baseline, limit, this.o.memoryMode);
    if (v.bornAboveLimit && !w.warnedBornAbove) {
      w.warnedBornAbove = true;
      this.control.options.logger.warn(
        `lifecycle: worker ${w.id} started with ${reading.metric.toUpperCase()} ${w.baseline.bytes} bytes, already above maxMemoryBytes ` +
          `${limit} (memoryMode "absolute"); it is not replaced for memory, since a replacement would start above it too. ` +
          'Raise the limit or use memoryMode "growth".',
        { pool: this.control.pool.name, workerId: w.id },
      );
    }
    if (!v.over) return;
    // Like Celery and uWSGI: no further request on it; its replacement starts now.
    this.recycle(w, "memory", "now", {
      memoryMode: this.o.memoryMode,
      limitBytes: limit,
      thresholdBytes: v.thresholdBytes,
      growthBytes: v.growthBytes,
    });
  }

  // ---- stuck requests ------------------------------------------------------------------

  private onRequestStarted(e: RequestStartedEvent): void {
    const w = this.workers.get(e.workerId);
    const limit = this.o.hardTimeoutMs;
    // Only where a worker runs one call: killing a shared worker would fail its neighbours.
    if (!w || limit === undefined || w.capacity > 1) return;
    const startedAt = Date.now();
    const timer = setTimeout(() => {
      this.hardTimers.delete(e.callId);
      if (!this.live || !this.workers.has(w.id) || w.killedFor) return;
      const runningMs = Date.now() - startedAt;
      this.kill(
        w,
        "hard_timeout",
        new SnakepitError(
          "deadline_exceeded",
          `call ${e.tool} ran ${runningMs} ms on worker ${w.id}, past hardTimeoutMs (${limit} ms); the worker was killed (SIGKILL) and replaced`,
          { workerId: w.id, pool: e.poolName, tool: e.tool, callId: e.callId },
        ),
        { callId: e.callId, tool: e.tool, hardTimeoutMs: limit, runningMs },
      );
    }, limit);
    timer.unref();
    this.hardTimers.set(e.callId, timer);
  }

  private onRequestFinished(e: RequestFinishedEvent): void {
    const t = this.hardTimers.get(e.callId);
    if (t) {
      clearTimeout(t);
      this.hardTimers.delete(e.callId);
    }
    if (this.o.maxMemoryBytes === undefined || e.workerId === undefined) return;
    const w = this.workers.get(e.workerId);
    if (!w || w.outOfRotation || w.killedFor) return;
    // Memory is sampled after each request, but not more often than sampleGap().
    const now = Date.now();
    const due = w.lastProbeAt + this.sampleGap(w);
    if (!w.probing && now >= due) {
      void this.probe(w);
      return;
    }
    w.sampleDue = true;
    if (!w.probing && w.nextCheckAt > due) this.scheduleCheck(w, due - now);
  }

  private kill(w: Tracked, reason: RestartReason, error: SnakepitError, detail: Record<string, unknown>): void {
    w.killedFor = reason;
    w.outOfRotation = true;
    clearTimeout(w.ttlTimer);
    clearTimeout(w.checkTimer);
    this.control.killWorker(w.id, { reason, error, detail: this.recycleOptions(w.id, reason, detail).detail ?? detail });
  }

  // ---- stats -------------------------------------------------------------------------------

  stats(): LifecycleStats {
    const now = Date.now();
    const use = (used: number, limit: number): LimitUse => ({ used, limit, fraction: limit > 0 ? used / limit : 0 });
    const workers = [...this.workers.values()].map((w): WorkerLifecycleStats => {
      const ageMs = now - w.readyAt;
      const requests = w.requestLimit === undefined ? undefined : use(w.started, w.requestLimit);
      const age = w.ttlMs === undefined ? undefined : use(ageMs, w.ttlMs);
      let memory: LimitUse | undefined;
      if (this.o.maxMemoryBytes !== undefined && w.memory && w.baseline) {
        memory = use(this.o.memoryMode === "growth" ? w.memory.bytes - w.baseline.bytes : w.memory.bytes, this.o.maxMemoryBytes);
      }
      const candidates = [
        ["requests", requests],
        ["age", age],
        ["memory", memory],
      ] as const;
      let nearest: WorkerLifecycleStats["nearest"];
      for (const [limit, u] of candidates) if (u && (!nearest || u.fraction > nearest.fraction)) nearest = { limit, fraction: u.fraction };
      return {
        id: w.id,
        pid: w.pid,
        ageMs,
        requestsStarted: w.started,
        requests,
        age,
        memory,
        memoryBytes: w.memory?.bytes,
        baselineBytes: w.baseline?.bytes,
        memoryMetric: w.memory?.metric,
        healthMisses: w.misses,
        healthChecks: w.answered,
        servedPastLimit: w.requestLimit === undefined ? 0 : Math.max(0, w.started - w.requestLimit),
        recycling: w.recycling ?? w.killedFor,
        nearest,
      };
    });
    return {
      pool: this.control.pool.name,
      recycles: { ...this.recycles },
      restarts: { ...this.restarts },
      crashes: { ...this.crashes },
      startFailures: { inARow: this.startFailuresInARow, total: this.startFailuresTotal, lastError: this.lastStartError },
      degraded: this.degradedByUs,
      workers,
    };
  }
}
