/**
 * Admission: a call gets a worker with room now, or waits in the bounded queue
 * until one frees up, its queue limit passes, or its signal ends it. Selection
 * follows worker-selection.ts (session affinity, least loaded, pipelining for
 * tools known to be fast); calls pipelined behind one that runs long are taken
 * back when another worker has room.
 */
import { CallQueue, type QueueEntry } from "./call-queue.js";
import type { CallSignal } from "./call-signal.js";
import { SnakepitError } from "./errors.js";
import { poolRef, type PoolCore } from "./pool-core.js";
import { pickWorker } from "./worker-selection.js";
import type { WorkerSlot } from "./worker-slot.js";

/** A tool whose recent calls ran in less than this (ms) may be pipelined under load. */
const FAST_TOOL_MS = 1;
/**
 * A call pipelined behind one running longer than this (ms) is withdrawn when
 * another worker has room: no call waits behind another while a worker is free.
 */
const WITHDRAW_AFTER_MS = 2;
/** Affinity entries kept (oldest dropped first). */
const MAX_SESSIONS = 10_000;

/** What admission asks the workforce: is there no worker, and when does the next start? */
export interface Starvation {
  /** No worker can take a call and none is starting: calls wait for the replacement timer. */
  starved(): boolean;
  /** When the next worker start is due (Date.now() time). */
  readonly nextStartAt: number;
  /** The error for a call that would give up before then: the backoff and the last failure. */
  starvedError(tool: string, callId: string): SnakepitError;
}

interface PendingCall extends QueueEntry {
  readonly call: CallSignal;
  readonly fast: boolean;
  readonly sessionId: string | undefined;
  /** When it leaves the queue with queue_timeout or deadline_exceeded (Date.now() time). */
  readonly giveUpAt: number;
  resolve(slot: WorkerSlot): void;
  reject(error: SnakepitError): void;
}

export class Admission {
  private readonly queue = new CallQueue<PendingCall>();
  private readonly sessions = new Map<string, string>();
  /** Recent run time of each tool (exponentially weighted), to know which are fast. */
  private readonly runTimeEwma = new Map<string, number>();
  private readonly ready: WorkerSlot[] = [];
  private readyStale = true;
  private rotate = 0;
  private withdrawTimer: NodeJS.Timeout | undefined;
  /** Calls sent beyond their worker's capacity right now. */
  private pipelinedCalls = 0;

  constructor(
    private readonly core: PoolCore,
    private readonly starvation: () => Starvation,
  ) {}

  get queued(): number {
    return this.queue.size;
  }

  /** Workers joined or left: selection looks at the list again. */
  workersChanged(): void {
    this.readyStale = true;
  }

  /** Known fast: its recent calls took well under a millisecond (then pipelining cannot hurt a neighbour much). */
  isFast(tool: string): boolean {
    const ms = this.runTimeEwma.get(tool);
    return ms !== undefined && ms < FAST_TOOL_MS;
  }

  noteRunTime(tool: string, ms: number): void {
    const prev = this.runTimeEwma.get(tool);
    this.runTimeEwma.set(tool, prev === undefined ? ms : prev * 0.8 + ms * 0.2);
  }

  /** Wait for a worker; resolves with capacity already claimed. */
  acquire(call: CallSignal, fast: boolean, sessionId: string | undefined): Promise<WorkerSlot> {
    const { core } = this;
    const slot = this.queue.size === 0 ? this.pick(sessionId, fast) : undefined;
    if (slot) {
      this.claim(slot, sessionId, fast);
      return Promise.resolve(slot);
    }
    const { tool, callId } = call;
    if (call.aborted) return Promise.reject(call.reason!);
    if (this.queue.size >= core.options.maxQueue) {
      core.hooks.emit("onPoolSaturated", () => ({ ...poolRef(core), queued: this.queue.size, maxQueue: core.options.maxQueue, tool }));
      return Promise.reject(
        new SnakepitError(
          "queue_full",
          `pool ${core.name} is saturated: ${this.queue.size} calls already wait (maxQueue ${core.options.maxQueue}); ` +
            "retry later, add workers, or raise maxQueue",
          { pool: core.name, tool, callId },
        ),
      );
    }
    const queueLimit = Date.now() + core.options.queueTimeoutMs;
    const giveUpAt = Math.min(queueLimit, call.deadline);
    // No worker, and the next start comes after this call gives up: say why now.
    const starvation = this.starvation();
    if (starvation.starved() && giveUpAt < starvation.nextStartAt) return Promise.reject(starvation.starvedError(tool, callId));
    return new Promise<WorkerSlot>((resolve, reject) => {
      // The call's own signal ends the wait at its deadline or the caller's abort;
      // the queue limit is admission's own.
      const onEnd = () => {
        this.queue.remove(entry);
        entry.reject(call.reason!);
      };
      const unscheduleLimit =
        queueLimit < call.deadline && Number.isFinite(queueLimit)
          ? core.timers.add(queueLimit, () => {
              this.queue.remove(entry);
              entry.reject(
                new SnakepitError(
                  "queue_timeout",
                  `call ${tool} waited ${core.options.queueTimeoutMs} ms (queueTimeoutMs) for a free worker; ` +
                    "the pool is too small for this load, or its workers are stuck",
                  { pool: core.name, tool, callId },
                ),
              );
            })
          : undefined;
      const cleanup = () => {
        unscheduleLimit?.();
        call.removeEventListener("abort", onEnd);
      };
      const entry: PendingCall = {
        removed: false,
        call,
        fast,
        sessionId,
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
      call.addEventListener("abort", onEnd);
      this.queue.push(entry);
      core.hooks.emit("onCallQueued", () => ({ ...poolRef(core), callId, tool, queueDepth: this.queue.size }));
    });
  }

  /** Give capacity back; the next queued call may take it. */
  release(slot: WorkerSlot, fast: boolean): void {
    slot.release(fast);
    this.dispatch();
    if (this.pipelinedCalls > 0 && this.queue.size === 0) this.withdrawStuck();
  }

  /** A call was sent to `slot` (or left it): keeps the count of pipelined calls current. */
  sent(slot: WorkerSlot, call: CallSignal): void {
    const before = slot.pipelined;
    slot.running.add(call);
    this.pipelinedCalls += slot.pipelined - before;
  }

  left(slot: WorkerSlot, call: CallSignal): void {
    const before = slot.pipelined;
    slot.running.delete(call);
    this.pipelinedCalls += slot.pipelined - before;
  }

  /** Hand queued calls to workers with free capacity. */
  dispatch(): void {
    for (let head = this.queue.peek(); head; head = this.queue.peek()) {
      const slot = this.pick(head.sessionId, head.fast);
      if (!slot) return;
      this.queue.shift();
      this.claim(slot, head.sessionId, head.fast);
      head.resolve(slot);
    }
  }

  /** Fail the queued calls that would give up before the next start, with the reason. */
  failStarvedQueue(): void {
    const starvation = this.starvation();
    if (!starvation.starved()) return;
    for (const entry of this.queue.entries()) {
      if (entry.giveUpAt >= starvation.nextStartAt) continue;
      this.queue.remove(entry);
      this.core.counters.rejected++;
      entry.reject(starvation.starvedError(entry.call.tool, entry.call.callId));
    }
  }

  /** Every queued call fails with `error` (degraded, closing). */
  rejectAll(error: SnakepitError): void {
    for (const entry of this.queue.drain()) {
      this.core.counters.rejected++;
      entry.reject(error);
    }
  }

  stop(): void {
    clearTimeout(this.withdrawTimer);
    this.withdrawTimer = undefined;
  }

  private readyWorkers(): WorkerSlot[] {
    if (this.readyStale) {
      this.ready.length = 0;
      for (const s of this.core.slots.values()) this.ready.push(s);
      this.readyStale = false;
    }
    return this.ready;
  }

  private pick(sessionId: string | undefined, fast: boolean): WorkerSlot | undefined {
    const preferred = sessionId === undefined ? undefined : this.sessions.get(sessionId);
    const workers = this.readyWorkers();
    const chosen = pickWorker(workers, { preferred, fast, rotate: this.rotate });
    this.rotate = (this.rotate + 1) % Math.max(1, workers.length);
    return chosen;
  }

  private claim(slot: WorkerSlot, sessionId: string | undefined, fast: boolean): void {
    const started = slot.claim(fast);
    this.core.hooks.claimed(slot.id, started);
    if (sessionId !== undefined) {
      this.sessions.delete(sessionId);
      this.sessions.set(sessionId, slot.id);
      if (this.sessions.size > MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    }
  }

  /**
   * Calls pipelined behind a call that runs long, while another worker has room,
   * are taken back (those the worker has not started) and sent there: no call
   * waits behind another while a worker is free.
   */
  private withdrawStuck(): void {
    const slots = this.readyWorkers();
    if (!slots.some((s) => s.hasRoom)) return;
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
        // On success the channel fails the call as not started, and the runner sends it again.
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
}
