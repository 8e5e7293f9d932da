/**
 * One pool worker on a remote host: the host's Connect channel, wrapped so that a
 * refused or reset connection ends the worker at once (the pool then fails its
 * calls as worker_crashed and retries idempotent ones elsewhere), plus a health
 * check on an interval, over a connection of its own, that ejects a host which
 * stops answering (a cut cable resets nothing) and notices one that drains.
 */
import { type WorkerRuntimeInfo } from "@snakepit/core";
import { ChannelFailure, type ChannelCallOptions, type WorkerChannel, type WorkerExit, type WorkerHandle } from "@snakepit/core/profile";
import { classify, describeFailure, networkErrorCode } from "./failure.js";
import type { Host, HostRegistry, HostUser } from "./host-registry.js";

type CallRequest = Parameters<WorkerChannel["execute"]>[0];
type StreamMessage = ReturnType<WorkerChannel["stream"]> extends AsyncIterable<infer M> ? M : never;

/** WorkerRuntimeInfo plus where the worker runs (for diagnostics snapshots and spans). */
export interface RemoteWorkerInfo extends WorkerRuntimeInfo {
  /** "10.0.0.7:50051": the host this worker's calls go to. */
  readonly host: string;
  /** The endpoint it was found by: "host:port", or the DNS name. */
  readonly endpoint: string;
}

export interface RemoteWorkerOptions {
  readonly id: string;
  readonly host: Host;
  readonly registry: HostRegistry;
  readonly calls: WorkerChannel;
  readonly health: WorkerChannel;
  readonly info: RemoteWorkerInfo;
  readonly threads: number;
  readonly healthIntervalMs: number;
  readonly healthTimeoutMs: number;
}

type State = "serving" | "draining" | "stopping" | "lost" | "ended";

export class RemoteWorker implements WorkerHandle, HostUser {
  readonly id: string;
  readonly pid = undefined;
  readonly pipelineDepth = 0;
  readonly info: RemoteWorkerInfo;
  readonly channel: WorkerChannel;
  readonly exited: Promise<WorkerExit>;
  readonly startedAt = Date.now();
  private state: State = "serving";
  /** Calls in flight through this worker (its own, those it forwarded, those it adopted). */
  private calls = 0;
  /** Calls adopted from a host that refused them: the pool does not count them on this worker. */
  private borrowed = 0;
  /** Calls this worker forwarded elsewhere, by call id (so a cancel follows them). */
  private readonly forwarded = new Map<string, HostUser>();
  private readonly idleWaiters: Array<() => void> = [];
  private settle!: (exit: WorkerExit) => void;
  private readonly healthTimer: NodeJS.Timeout;
  private checking = false;
  private hostLeft = false;

  constructor(private readonly o: RemoteWorkerOptions) {
    this.id = o.id;
    this.info = o.info;
    this.exited = new Promise((resolve) => (this.settle = resolve));
    this.channel = this.wrap(o.calls);
    this.healthTimer = setInterval(() => void this.check(), o.healthIntervalMs).unref();
  }

  /**
   * Its threads, less what another worker on the same host still runs (while
   * one of them is recycled) and calls it adopted; 0 once it drains or its host
   * failed, so the pool sends it nothing new.
   */
  get capacity(): number {
    if (this.state !== "serving") return 0;
    let others = 0;
    for (const u of this.o.host.users) if (u !== this) others += u.inFlight();
    return Math.max(0, this.o.threads - others - this.borrowed);
  }

  inFlight(): number {
    return this.calls;
  }

  spare(): number {
    if (this.state !== "serving") return Number.NEGATIVE_INFINITY;
    let others = 0;
    for (const u of this.o.host.users) if (u !== this) others += u.inFlight();
    return this.o.threads - others - this.calls;
  }

  borrow(): { readonly channel: WorkerChannel; release(): void } {
    this.borrowed++;
    let released = false;
    return {
      channel: this.channel,
      release: () => {
        if (released) return;
        released = true;
        this.borrowed--;
      },
    };
  }

  /** Take no new calls; end once the running ones are done (they run to completion). */
  retire(reason: string): void {
    if (this.state !== "serving") return;
    this.state = "draining";
    this.o.registry.logger?.info(`remote worker ${this.id} on ${this.o.host.address} drains: ${reason}`, { workerId: this.id, host: this.o.host.address });
    void this.whenIdle(Infinity).then(() => this.end(true, [`${this.o.host.address}: ${reason}`]));
  }

  async stop(options: { timeoutMs: number }): Promise<void> {
    if (this.state === "ended") return;
    this.state = "stopping";
    // Recycling a remote worker drains its connection: the host keeps running.
    await this.whenIdle(options.timeoutMs);
    this.end(true, []);
  }

  kill(): void {
    this.end(this.state === "stopping", []);
  }

  // ---- internals ------------------------------------------------------------------

  /**
   * The host failed: out of rotation at once. With `now`, the worker ends at once
   * too (its calls fail now: a cut host would hold them to their deadline); else
   * it ends when its calls have ended (a host that resets fails them itself, and
   * calls it refused are being forwarded).
   */
  private lose(reason: string, now: boolean): void {
    if (this.state === "ended") return;
    const tail = [`${this.o.host.address}: ${reason}`];
    if (!this.hostLeft) {
      this.hostLeft = true;
      this.o.registry.eject(this.o.host, reason, this);
    }
    if (now || this.calls === 0) {
      this.end(false, tail);
      return;
    }
    this.state = "lost";
    void this.whenIdle(2 * this.o.healthTimeoutMs).then(() => this.end(false, tail));
  }

  private end(expected: boolean, tail: string[]): void {
    if (this.state === "ended") return;
    const drained = this.state === "draining";
    this.state = "ended";
    clearInterval(this.healthTimer);
    this.o.calls.close();
    this.o.health.close();
    if (!this.hostLeft) {
      this.hostLeft = true;
      // A host that drains is about to exit: probe it before it is used again.
      if (drained) this.o.registry.eject(this.o.host, tail[0] ?? "drained", this);
      else this.o.registry.detach(this.o.host, this);
    }
    for (const w of this.idleWaiters.splice(0)) w();
    this.settle({ exitCode: null, signal: null, stderrTail: tail, expected });
  }

  private whenIdle(timeoutMs: number): Promise<void> {
    if (this.calls === 0 || this.state === "ended") return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.idleWaiters.push(done);
      if (Number.isFinite(timeoutMs)) timer = setTimeout(done, timeoutMs).unref();
    });
  }

  private callEnded(): void {
    if (--this.calls === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** React to a failed call; true when the host refused it before it started (safe to send elsewhere). */
  private onFailure(err: unknown): boolean {
    const c = classify(err);
    const refused = networkErrorCode(err) === "ECONNREFUSED";
    if (this.state === "ended") return false;
    if (c === "lost") this.lose(`connection failed: ${describeFailure(err)}`, false);
    else if (c === "draining") this.retire("it is draining (SIGTERM)");
    return c === "draining" || refused;
  }

  private async check(): Promise<void> {
    if (this.checking || this.state === "ended") return;
    this.checking = true;
    try {
      const h = await this.o.health.health({ timeoutMs: this.o.healthTimeoutMs });
      if (h.status === "draining") this.retire("it is draining (SIGTERM)");
    } catch (err) {
      if ((this.state as State) === "ended") return;
      const why =
        err instanceof ChannelFailure && err.kind === "deadline_exceeded"
          ? `no answer to a health check within ${this.o.healthTimeoutMs} ms`
          : `health check failed: ${describeFailure(err)}`;
      if (classify(err) === "draining") this.retire("it is draining (SIGTERM)");
      else this.lose(why, true);
    } finally {
      this.checking = false;
    }
  }

  /** What is left of a call's deadline, for sending it again elsewhere. */
  private static remaining(request: CallRequest, options: ChannelCallOptions): ChannelCallOptions {
    const deadline = Number(request.deadlineUnixMs);
    if (!(deadline > 0)) return options;
    return { ...options, timeoutMs: Math.max(1, deadline - Date.now()) };
  }

  private wrap(inner: WorkerChannel): WorkerChannel {
    const gone = () => new ChannelFailure("unavailable", `the connection to ${this.o.host.address} was closed`);
    return {
      execute: async (request: CallRequest, options: ChannelCallOptions) => {
        if (this.state === "ended") throw gone();
        this.calls++;
        try {
          try {
            return await inner.execute(request, options);
          } catch (err) {
            if (options.signal?.aborted || !this.onFailure(err)) throw err;
            // Refused before it started: another host runs it, whatever the tool.
            const target = this.o.registry.forwardTarget(this.o.host);
            if (!target) throw err;
            this.forwarded.set(request.callId, target);
            const borrowed = target.borrow();
            try {
              return await borrowed.channel.execute(request, RemoteWorker.remaining(request, options));
            } finally {
              borrowed.release();
              this.forwarded.delete(request.callId);
            }
          }
        } finally {
          this.callEnded();
        }
      },
      stream: (request: CallRequest, options: ChannelCallOptions): AsyncIterable<StreamMessage> => {
        // eslint-disable-next-line @typescript-eslint/no-this-alias
        const self = this;
        return {
          async *[Symbol.asyncIterator]() {
            if (self.state === "ended") throw gone();
            self.calls++;
            let received = false;
            try {
              try {
                for await (const m of inner.stream(request, options)) {
                  received = true;
                  yield m;
                }
              } catch (err) {
                const refused = !options.signal?.aborted && self.onFailure(err);
                if (received || !refused) throw err;
                const target = self.o.registry.forwardTarget(self.o.host);
                if (!target) throw err;
                self.forwarded.set(request.callId, target);
                const borrowed = target.borrow();
                try {
                  yield* borrowed.channel.stream(request, RemoteWorker.remaining(request, options));
                } finally {
                  borrowed.release();
                  self.forwarded.delete(request.callId);
                }
              }
            } finally {
              self.callEnded();
            }
          },
        };
      },
      cancel: (callId, waitMs, options) => {
        const target = this.forwarded.get(callId);
        return target ? target.channel.cancel(callId, waitMs, options) : inner.cancel(callId, waitMs, options);
      },
      describe: (options) => inner.describe(options),
      health: (options) => inner.health(options),
      drain: (timeoutMs, options) => inner.drain(timeoutMs, options),
      close: () => inner.close(),
    };
  }
}
