/**
 * The workforce keeps the pool at its size: it starts workers (the initial fill,
 * replacements with backoff after failures, recycles that start the replacement
 * first), sees them exit, fails what ran on a worker that died (and hands back
 * what never started there), kills on a plugin's request, and marks the pool
 * degraded when starts keep failing.
 */
import type { Admission, Starvation } from "./admission.js";
import { CORE_RESTART, backoffDelay, isFailedStart } from "./backoff.js";
import { SnakepitError } from "./errors.js";
import { setLongTimeout, type LongTimeout } from "./long-timer.js";
import type { KillWorkerOptions, RestartPolicy } from "./plugin.js";
import { poolRef, type PoolCore } from "./pool-core.js";
import type { RecycleOptions } from "./pool-types.js";
import { lazyRuntimeDir } from "./runtime-dirs.js";
import type { WorkerExit, WorkerHandle, WorkerProfile } from "./worker-profile.js";
import { WorkerSlot } from "./worker-slot.js";

type StartReason = "initial" | "replace" | "recycle";

export class Workforce implements Starvation {
  nextStartAt = 0;
  degraded: { reason: string; since: number; error: SnakepitError } | undefined;
  /** Made only when a worker asks for it (Connect over a Unix socket); local-transport pools never do. */
  readonly runtimeDir = lazyRuntimeDir();
  /** Aborted at close: starts under way give up. */
  readonly lifetime = new AbortController();
  private nextWorker = 1;
  /** Failed starts (early deaths included) since a worker last showed it can serve. */
  private failuresInARow = 0;
  private lastFailure: SnakepitError | undefined;
  private lastFailureAt = 0;
  private replacementTimer: LongTimeout | undefined;
  private restartPolicy: RestartPolicy = { delayMs: (n) => backoffDelay(n, CORE_RESTART.backoffMs, CORE_RESTART.backoffMaxMs) };
  /** A plugin set the restart policy: it also decides when the pool is degraded. */
  private customRestartPolicy = false;
  private degradedByCore = false;

  constructor(
    private readonly core: PoolCore,
    private readonly profile: WorkerProfile,
    private readonly admission: Admission,
  ) {}

  // ---- start-up ---------------------------------------------------------------

  /** The initial fill, `startupConcurrency` at a time; the first failure fails it. */
  async fill(): Promise<void> {
    const slots = Array.from({ length: this.core.options.size }, () => this.newSlot());
    let firstError: unknown;
    let next = 0;
    const runner = async () => {
      while (next < slots.length && firstError === undefined) {
        const slot = slots[next++]!;
        try {
          await this.startSlot(slot, "initial");
        } catch (err) {
          firstError ??= err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.core.options.startupConcurrency, slots.length) }, runner));
    if (firstError !== undefined) throw firstError;
  }

  private newSlot(): WorkerSlot {
    const slot = new WorkerSlot(`${this.core.name}/w${this.nextWorker++}`);
    this.core.slots.set(slot.id, slot);
    this.admission.workersChanged();
    return slot;
  }

  private removeSlot(slot: WorkerSlot): void {
    this.core.slots.delete(slot.id);
    this.admission.workersChanged();
  }

  private async startSlot(slot: WorkerSlot, reason: StartReason): Promise<void> {
    const { core } = this;
    const startedAt = performance.now();
    core.hooks.emit("onWorkerStarting", () => ({ ...poolRef(core), workerId: slot.id, reason }));
    const deadline = new AbortController();
    const startTimer = setLongTimeout(
      () => deadline.abort(new SnakepitError("worker_start_failed", `worker ${slot.id} did not start within startTimeoutMs`)),
      core.options.startTimeoutMs + 5_000,
      { unref: true },
    );
    let handle: WorkerHandle;
    const runtimeDir = this.runtimeDir;
    try {
      handle = await this.profile.startWorker({
        workerId: slot.id,
        poolName: core.name,
        options: core.options,
        get runtimeDir() {
          return runtimeDir.path;
        },
        signal: AbortSignal.any([this.lifetime.signal, deadline.signal]),
        logger: core.options.logger,
        onOutput: (stream, line) => this.onOutput(slot.id, stream, line),
      });
    } catch (err) {
      startTimer.clear();
      this.removeSlot(slot);
      const error = SnakepitError.from(err, "worker_start_failed");
      core.hooks.emit("onWorkerStartFailed", () => ({ ...poolRef(core), workerId: slot.id, error }));
      throw error;
    }
    startTimer.clear();
    if (this.lifetime.signal.aborted) {
      handle.kill();
      this.removeSlot(slot);
      throw new SnakepitError("pool_closed", `pool ${core.name} closed while worker ${slot.id} was starting`);
    }
    slot.handle = handle;
    slot.state = "ready";
    slot.readyAt = Date.now();
    void handle.exited.then((exit) => this.onExit(slot, exit));
    if (this.degradedByCore) {
      this.degradedByCore = false;
      this.setDegraded(undefined);
    }
    core.hooks.emit("onWorkerReady", () => ({
      ...poolRef(core),
      workerId: slot.id,
      pid: handle.pid,
      startMs: performance.now() - startedAt,
      info: handle.info,
    }));
    this.admission.dispatch();
  }

  private onOutput(workerId: string, stream: "stdout" | "stderr", line: string): void {
    this.core.options.logger.info(line, { workerId, stream, pool: this.core.name });
    this.core.hooks.emit("onWorkerOutput", () => ({ ...poolRef(this.core), workerId, stream, line }));
  }

  // ---- exits and replacement ----------------------------------------------------

  private onExit(slot: WorkerSlot, exit: WorkerExit): void {
    const { core } = this;
    slot.exit = exit;
    slot.gone = true;
    const wasRunning = slot.running.size;
    const crashed = !exit.expected && slot.state !== "stopping";
    const uptimeMs = slot.uptimeMs();
    this.removeSlot(slot);
    core.hooks.emit("onWorkerExit", () => ({
      ...poolRef(core),
      workerId: slot.id,
      pid: slot.handle?.pid,
      exitCode: exit.exitCode,
      signal: exit.signal,
      expected: !crashed,
      stderrTail: exit.stderrTail,
      uptimeMs,
      requestsStarted: slot.requestsStarted,
      requestsServed: slot.requestsStarted,
      requestsCompleted: slot.requestsCompleted,
      inFlight: wasRunning,
    }));
    if (wasRunning) {
      const err = this.crashError(slot, exit);
      // Calls the worker never began are sent to another worker. A local worker says
      // which (its progress page). Failing that, an in-order worker answers each call
      // before it starts the next, so of its open calls only the first can have begun.
      const inOrder = (slot.handle?.pipelineDepth ?? 0) > 0;
      const capacity = slot.handle?.capacity ?? 1;
      const handle = slot.handle;
      [...slot.running].forEach((call, i) => call.fail(err, handle?.neverStarted?.(call.callId) ?? (inOrder && i >= capacity)));
    }
    if (crashed) {
      core.counters.crashes++;
      const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.exitCode}`;
      core.options.logger.warn(`worker ${slot.id} died (${how}); starting a replacement`, { pool: core.name, workerId: slot.id });
      if (isFailedStart({ uptimeMs, requestsCompleted: slot.requestsCompleted })) {
        // It died at start-up, before serving: as good as a failed start (backoff, budget).
        const tail = exit.stderrTail.length ? `\n--- last lines of stderr ---\n${exit.stderrTail.slice(-20).join("\n")}` : "";
        this.noteFailure(
          new SnakepitError(
            "worker_start_failed",
            `worker ${slot.id} died (${how}) ${Math.round(uptimeMs)} ms after it became ready, before it answered a call${tail}`,
            { exitCode: exit.exitCode, signal: exit.signal, stderrTail: exit.stderrTail, workerId: slot.id, pool: core.name },
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

  /** What the calls of a worker that died fail with. */
  crashError(slot: WorkerSlot, exit: WorkerExit): SnakepitError {
    const { core } = this;
    if (slot.killError) return slot.killError;
    if (exit.expected && (core.state === "draining" || core.state === "stopped")) {
      return new SnakepitError("pool_closed", `pool ${core.name} was closed before the call finished`, { pool: core.name, workerId: slot.id });
    }
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.exitCode}`;
    const tail = exit.stderrTail.length ? `\n--- last lines of stderr ---\n${exit.stderrTail.slice(-10).join("\n")}` : "";
    return new SnakepitError("worker_crashed", `worker ${slot.id} ${how} while running this call${tail}`, {
      exitCode: exit.exitCode,
      signal: exit.signal,
      stderrTail: exit.stderrTail,
      workerId: slot.id,
      pool: core.name,
    });
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
        `pool ${this.core.name} is degraded: its last ${this.failuresInARow} worker starts failed and no worker is running; ` +
          `it keeps retrying in the background (restart backoff up to ${CORE_RESTART.backoffMaxMs} ms). Last failure: ${error.message}`,
        { cause: error, pool: this.core.name, ...failureDetails(error) },
      ),
      `${this.failuresInARow} worker starts failed in a row`,
    );
  }

  /** A worker answered a call: if it started after the last failure, starts work again. */
  noteServing(slot: WorkerSlot): void {
    if (slot.requestsCompleted++ === 0 && this.failuresInARow > 0 && slot.readyAt >= this.lastFailureAt) this.failuresInARow = 0;
  }

  private readyCount(): number {
    let n = 0;
    for (const s of this.core.slots.values()) if (s.state === "ready") n++;
    return n;
  }

  starved(): boolean {
    if (!this.replacementTimer) return false;
    for (const s of this.core.slots.values()) if (s.state === "ready" || s.state === "starting") return false;
    return true;
  }

  starvedError(tool: string, callId: string): SnakepitError {
    const last = this.lastFailure;
    const inMs = Math.max(0, Math.round(this.nextStartAt - Date.now()));
    return new SnakepitError(
      last?.code === "worker_crashed" ? "worker_crashed" : "worker_start_failed",
      `pool ${this.core.name} has no worker running, and starts the next one in ${inMs} ms (restart backoff after ` +
        `${this.failuresInARow} failure${this.failuresInARow === 1 ? "" : "s"} in a row), later than call ${tool} may wait` +
        (last ? `. Last failure: ${last.message}` : ""),
      { cause: last, pool: this.core.name, tool, callId, ...(last ? failureDetails(last) : {}) },
    );
  }

  /** Start workers until the pool is back at its size (with backoff after failures). */
  ensureSize(): void {
    const { core } = this;
    if (core.state !== "ready" || this.replacementTimer) return;
    let live = 0;
    for (const s of core.slots.values()) if (s.state === "ready" || s.state === "starting") live++;
    if (live >= core.options.size) return;
    let delay = this.restartPolicy.delayMs(this.failuresInARow);
    if (!(delay >= 0)) delay = 0;
    this.nextStartAt = Date.now() + delay;
    this.replacementTimer = setLongTimeout(() => {
      this.replacementTimer = undefined;
      if (core.state !== "ready") return;
      const slot = this.newSlot();
      this.startSlot(slot, "replace").then(
        () => this.ensureSize(),
        (err: unknown) => {
          if (core.state === "ready") {
            const error = SnakepitError.from(err, "worker_start_failed");
            this.noteFailure(error);
            core.options.logger.error(`could not start a replacement worker: ${error.message}`, { pool: core.name });
          }
          this.ensureSize();
        },
      );
      this.ensureSize();
    }, delay);
    // A backoff longer than the queue may wait: the calls get the reason now, not a timeout later.
    this.admission.failStarvedQueue();
  }

  // ---- recycling, kills, degraded mode --------------------------------------------

  recycle(workerId: string, options: RecycleOptions = {}): Promise<void> {
    const { core } = this;
    const old = core.slots.get(workerId);
    if (!old?.handle || old.exit) return Promise.resolve();
    if (old.recycling) {
      // Already being replaced: a "now" upgrades it to take no further call.
      if (options.drain === "now" && old.state === "ready") old.state = "draining";
      return old.recycling;
    }
    if (old.state !== "ready") return Promise.resolve();
    const handle = old.handle;
    if (options.drain === "now") old.state = "draining";
    core.counters.recycles++;
    core.hooks.emit("onWorkerRecycled", () => ({
      ...poolRef(core),
      workerId,
      reason: options.reason ?? "manual",
      uptimeMs: Date.now() - old.readyAt,
      requestsStarted: old.requestsStarted,
      requestsServed: old.requestsStarted,
      ...(options.detail ? { detail: options.detail } : {}),
    }));
    let startError: SnakepitError | undefined;
    const recycling = (async () => {
      // The replacement starts first; the old worker keeps serving (unless drained
      // now) until it is ready, so the pool never runs short.
      try {
        await this.startSlot(this.newSlot(), "recycle");
      } catch (err) {
        startError = SnakepitError.from(err, "worker_start_failed");
        if (core.state === "ready") this.noteFailure(startError);
        if (old.state === "ready" && !old.exit) {
          // Still serving (not drained now): a working worker beats a missing one.
          // It stays; recycling it can be tried again later.
          core.options.logger.error(`could not start the replacement for ${workerId}, so it keeps serving: ${startError.message}`, {
            pool: core.name,
          });
          old.recycling = undefined;
          return;
        }
        core.options.logger.error(`could not start the replacement for ${workerId}: ${startError.message}`, { pool: core.name });
      }
      if (old.state === "ready") old.state = "draining";
      await old.waitIdle(options.drainTimeoutMs ?? core.options.closeTimeoutMs);
      old.state = "stopping";
      await handle.stop({ timeoutMs: 2_000 });
      this.ensureSize();
    })();
    old.recycling = recycling;
    if (!options.rejectIfNotReplaced) return recycling;
    return recycling.then(() => {
      if (startError) throw notReplaced(core.name, workerId, startError);
    });
  }

  /** SIGKILL a worker now (a plugin's decision: hung, over its hard timeout); its calls fail with the reason. */
  kill(workerId: string, options: KillWorkerOptions): void {
    const { core } = this;
    const slot = core.slots.get(workerId);
    if (!slot?.handle || slot.exit) return;
    slot.killError =
      options.error ??
      new SnakepitError("worker_crashed", `worker ${workerId} was killed (${options.reason}) while running this call`, {
        workerId,
        pool: core.name,
      });
    // A kill replaces the worker, as a recycle does: both count as recycles; kills also on their own.
    core.counters.recycles++;
    core.counters.kills++;
    core.hooks.emit("onWorkerRecycled", () => ({
      ...poolRef(core),
      workerId,
      reason: options.reason,
      uptimeMs: slot.uptimeMs(),
      requestsStarted: slot.requestsStarted,
      requestsServed: slot.requestsStarted,
      ...(options.detail ? { detail: options.detail } : {}),
    }));
    core.options.logger.warn(`killing worker ${workerId}: ${options.reason}`, { pool: core.name, workerId });
    slot.failAll(slot.killError);
    slot.handle.kill();
    // Out of rotation at once, not only when its exit is seen.
    slot.takeOutOfRotation();
  }

  setRestartPolicy(policy: RestartPolicy): void {
    this.restartPolicy = policy;
    this.customRestartPolicy = true;
  }

  setDegraded(error: SnakepitError | undefined, reason = "degraded"): void {
    const { core } = this;
    if (error) {
      const wasHealthy = !this.degraded;
      this.degraded = { reason, since: this.degraded?.since ?? Date.now(), error };
      this.admission.rejectAll(error);
      if (wasHealthy) {
        core.options.logger.error(`pool ${core.name} is degraded: ${reason}`, { pool: core.name });
        core.hooks.emit("onPoolDegraded", () => ({ ...poolRef(core), reason, error }));
      }
    } else if (this.degraded) {
      const degradedMs = Date.now() - this.degraded.since;
      this.degraded = undefined;
      core.options.logger.info(`pool ${core.name} recovered`, { pool: core.name });
      core.hooks.emit("onPoolRecovered", () => ({ ...poolRef(core), degradedMs }));
    }
  }

  // ---- shutdown -------------------------------------------------------------------

  /** No more replacements; starts under way give up. */
  stopReplacing(): void {
    this.replacementTimer?.clear();
    this.replacementTimer = undefined;
  }

  /** Stop (or kill) every worker and wait for them to exit. */
  async stopAll(slots: readonly WorkerSlot[], force: boolean): Promise<void> {
    this.lifetime.abort();
    await Promise.all(
      slots.map(async (s) => {
        s.state = "stopping";
        if (!s.handle) return;
        if (force) s.handle.kill();
        else await s.handle.stop({ timeoutMs: 2_000 });
        await s.handle.exited;
      }),
    );
    await this.runtimeDir.remove();
  }
}

function notReplaced(pool: string, workerId: string, cause: SnakepitError): SnakepitError {
  return new SnakepitError("worker_start_failed", `the replacement for worker ${workerId} could not start: ${cause.message}`, {
    cause,
    pool,
    workerId,
    ...(cause.traceback !== undefined ? { traceback: cause.traceback } : {}),
    ...(cause.pythonType !== undefined ? { pythonType: cause.pythonType } : {}),
    ...(cause.stderrTail !== undefined ? { stderrTail: cause.stderrTail } : {}),
  });
}

/** What a failure's error carries over into the errors derived from it (degraded, starved). */
export function failureDetails(e: SnakepitError) {
  return {
    ...(e.traceback !== undefined ? { traceback: e.traceback } : {}),
    ...(e.pythonType !== undefined ? { pythonType: e.pythonType } : {}),
    ...(e.stderrTail !== undefined ? { stderrTail: e.stderrTail } : {}),
    ...(e.exitCode !== undefined ? { exitCode: e.exitCode } : {}),
    ...(e.signal !== undefined ? { signal: e.signal } : {}),
  };
}
