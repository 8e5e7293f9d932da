/**
 * One worker as the pool tracks it: its handle, its state, the capacity its
 * calls hold, and the calls it runs. The slot owns its own bookkeeping (claim,
 * release, waiting for idle); the pool decides what happens to it.
 */
import type { SnakepitError } from "./errors.js";
import type { WorkerState, WorkerStats } from "./pool-types.js";
import type { SelectableWorker } from "./worker-selection.js";
import type { WorkerExit, WorkerHandle } from "./worker-profile.js";
import type { CallSignal } from "./call-signal.js";
import { setLongTimeout } from "./long-timer.js";

/** Orders releases across slots, so selection can tell which worker was used last. */
let releases = 0;

export class WorkerSlot implements SelectableWorker {
  handle: WorkerHandle | undefined;
  state: WorkerState = "starting";
  /** Capacity taken: running calls, plus cancelled calls Python has not finished yet. */
  load = 0;
  /** Calls on it that are not known to be fast; only a worker with none takes pipelined calls. */
  slowLoad = 0;
  /** Calls given to it, counted when claimed (before they run). */
  requestsStarted = 0;
  /** Calls it answered (a result or a tool's error): it has shown it can serve. */
  requestsCompleted = 0;
  /** When it became ready (Date.now() time); 0 while starting. */
  readyAt = 0;
  exit: WorkerExit | undefined;
  /** Its calls in the order they were sent. */
  readonly running = new Set<CallSignal>();
  /** When it last gave capacity back, by the order of releases (0: never). */
  lastReleased = 0;
  /** When its last answer arrived (performance.now()), for an in-order worker's run times. */
  private lastAnsweredAt = 0;
  /** Set when the pool kills it: what its running calls fail with. */
  killError: SnakepitError | undefined;
  /** Set while recycleWorker replaces it. */
  recycling: Promise<void> | undefined;
  /**
   * The pool has given up on it (killed, lost, exited): out of rotation for good,
   * even before its exit is seen. A call claimed onto it but not sent goes elsewhere.
   */
  gone = false;
  private idleWaiters: Array<() => void> | undefined;

  constructor(readonly id: string) {}

  /** Take one unit of capacity for a call; returns how many calls it has now been given. */
  claim(fast: boolean): number {
    this.load++;
    if (!fast) this.slowLoad++;
    return ++this.requestsStarted;
  }

  release(fast: boolean): void {
    this.load--;
    this.lastReleased = ++releases;
    if (!fast) this.slowLoad--;
    if (this.load === 0 && this.idleWaiters) for (const w of this.idleWaiters.splice(0)) w();
  }

  /**
   * When a call sent at `sentAt` and answered at `answeredAt` began to run. A worker
   * that pipelines runs its calls one after another, so a call sent while another ran
   * began when that one was answered: what it waited inside the worker is not its own
   * run time (counted as such, a fast tool under load would look slow).
   */
  begunAt(sentAt: number, answeredAt: number): number {
    const pipelines = (this.handle?.pipelineDepth ?? 0) > 0 && this.handle?.capacity === 1;
    const previous = this.lastAnsweredAt;
    this.lastAnsweredAt = answeredAt;
    return pipelines && previous > sentAt ? previous : sentAt;
  }

  /** Resolves once nothing holds its capacity, it exited, or `timeoutMs` passed. */
  async waitIdle(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.load > 0 && !this.exit && Date.now() < until) {
      let timer: { clear(): void } | undefined;
      await new Promise<void>((resolve) => {
        (this.idleWaiters ??= []).push(resolve);
        timer = setLongTimeout(resolve, Math.max(0, until - Date.now()), { unref: true });
      });
      timer?.clear();
    }
  }

  /**
   * The pool gives up on it (kill, lost connection): no further call goes to it from
   * now on. Its replacement starts when its exit is seen, so that the restart policy
   * knows how it ended (a crash counts toward the backoff).
   */
  takeOutOfRotation(): void {
    this.gone = true;
    if (this.state === "ready") this.state = "draining";
  }

  /** Calls sent to it beyond its capacity (pipelined, waiting their turn in the worker). */
  get pipelined(): number {
    const capacity = this.handle?.capacity ?? 0;
    return this.handle && this.running.size > capacity ? this.running.size - capacity : 0;
  }

  /** It can take a call now without pipelining. */
  get hasRoom(): boolean {
    return this.state === "ready" && !this.gone && this.handle !== undefined && this.load < this.handle.capacity;
  }

  /** Fail every call it runs with `error`. */
  failAll(error: SnakepitError): void {
    for (const call of [...this.running]) call.fail(error);
  }

  uptimeMs(now = Date.now()): number {
    return this.readyAt ? now - this.readyAt : 0;
  }

  stats(now: number): WorkerStats {
    return {
      id: this.id,
      pid: this.handle?.pid,
      state: this.state,
      load: this.load,
      capacity: this.handle?.capacity ?? 0,
      requestsStarted: this.requestsStarted,
      requestsServed: this.requestsStarted,
      uptimeMs: this.uptimeMs(now),
      ...(this.handle ? { info: this.handle.info } : {}),
    };
  }
}
