/**
 * One pool worker on a remote host: the host's Connect channel, wrapped so that a
 * refused or reset connection ends the worker at once (the pool then fails its
 * calls as worker_crashed and retries idempotent ones elsewhere), plus a health
 * check on an interval, over a connection of its own, that ejects a host which
 * stops answering (a cut cable resets nothing) and notices one that drains.
 */
import {
  ChannelFailure,
  type ChannelCallOptions,
  type WorkerChannel,
  type WorkerExit,
  type WorkerHandle,
  type WorkerRuntimeInfo,
} from "@snakepit/core";
import { classify, describeFailure } from "./failure.js";
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

type State = "serving" | "draining" | "stopping" | "ended";

export class RemoteWorker implements WorkerHandle, HostUser {
  readonly id: string;
  readonly pid = undefined;
  readonly pipelineDepth = 0;
  readonly info: RemoteWorkerInfo;
  readonly channel: WorkerChannel;
  readonly exited: Promise<WorkerExit>;
  readonly startedAt = Date.now();
  private state: State = "serving";
  private calls = 0;
  private readonly idleWaiters: Array<() => void> = [];
  private settle!: (exit: WorkerExit) => void;
  private readonly healthTimer: NodeJS.Timeout;
  private checking = false;

  constructor(private readonly o: RemoteWorkerOptions) {
    this.id = o.id;
    this.info = o.info;
    this.exited = new Promise((resolve) => (this.settle = resolve));
    this.channel = this.wrap(o.calls);
    this.healthTimer = setInterval(() => void this.check(), o.healthIntervalMs).unref();
  }

  /**
   * Its threads, less what another worker on the same host still runs (while
   * one of them is recycled); 0 once it drains, so the pool sends it nothing new.
   */
  get capacity(): number {
    if (this.state !== "serving") return 0;
    let others = 0;
    for (const u of this.o.host.users) if (u !== this) others += u.inFlight();
    return Math.max(0, this.o.threads - others);
  }

  inFlight(): number {
    return this.calls;
  }

  /** Take no new calls; end once the running ones are done (they run to completion). */
  retire(reason: string): void {
    if (this.state !== "serving") return;
    this.state = "draining";
    this.o.registry.logger?.info(`remote worker ${this.id} on ${this.o.host.address} drains: ${reason}`, { workerId: this.id, host: this.o.host.address });
    void this.whenIdle(Infinity).then(() => this.end(true, [`${this.o.host.address}: ${reason}`], "drained"));
  }

  async stop(options: { timeoutMs: number }): Promise<void> {
    if (this.state === "ended") return;
    this.state = "stopping";
    // Recycling a remote worker drains its connection: the host keeps running.
    await this.whenIdle(options.timeoutMs);
    this.end(true, [], "released");
  }

  kill(): void {
    this.end(this.state === "stopping", [], "released");
  }

  // ---- internals ------------------------------------------------------------------

  /** The host went away under us: out of rotation, and the pool is told the worker is gone. */
  private lose(reason: string): void {
    if (this.state === "ended") return;
    this.end(false, [`${this.o.host.address}: ${reason}`], "ejected", reason);
  }

  private end(expected: boolean, tail: string[], hostFate: "released" | "ejected" | "drained", reason?: string): void {
    if (this.state === "ended") return;
    this.state = "ended";
    clearInterval(this.healthTimer);
    this.o.calls.close();
    this.o.health.close();
    if (hostFate === "released") this.o.registry.detach(this.o.host, this);
    else this.o.registry.eject(this.o.host, reason ?? tail[0] ?? "drained", this);
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

  private onFailure(err: unknown): void {
    if (this.state === "ended") return;
    const c = classify(err);
    if (c === "lost") this.lose(`connection failed: ${describeFailure(err)}`);
    else if (c === "draining") this.retire("it is draining (SIGTERM)");
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
      else this.lose(why);
    } finally {
      this.checking = false;
    }
  }

  private wrap(inner: WorkerChannel): WorkerChannel {
    const gone = () => new ChannelFailure("unavailable", `the connection to ${this.o.host.address} was closed`);
    return {
      execute: async (request: CallRequest, options: ChannelCallOptions) => {
        if (this.state === "ended") throw gone();
        this.calls++;
        try {
          return await inner.execute(request, options);
        } catch (err) {
          if (!options.signal?.aborted) this.onFailure(err);
          throw err;
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
            try {
              yield* inner.stream(request, options);
            } catch (err) {
              if (!options.signal?.aborted) self.onFailure(err);
              throw err;
            } finally {
              self.callEnded();
            }
          },
        };
      },
      cancel: (callId, waitMs, options) => inner.cancel(callId, waitMs, options),
      describe: (options) => inner.describe(options),
      health: (options) => inner.health(options),
      drain: (timeoutMs, options) => inner.drain(timeoutMs, options),
      close: () => inner.close(),
    };
  }
}
