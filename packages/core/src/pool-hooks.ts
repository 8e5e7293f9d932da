/**
 * Typed hooks: how extensions (lifecycle, telemetry) take part in a pool's
 * work. A plugin's hooks are called for its own pool; hooks registered with
 * registerPoolHooks() for every pool in the process (instrumentation). Both are
 * called synchronously, in order, and an error thrown by one is logged and
 * contained: it never reaches the pool's bookkeeping or the caller.
 *
 * The same messages are then published on node:diagnostics_channel, for
 * outside observers only: steering a call (adding headers) is done here.
 */
import { channels } from "./events.js";
import type {
  PoolClosedEvent,
  PoolCreatedEvent,
  PoolDegradedEvent,
  PoolRecoveredEvent,
  PoolSaturatedEvent,
  RequestFinishedEvent,
  RequestQueuedEvent,
  RequestStartedEvent,
  WorkerExitedEvent,
  WorkerOutputEvent,
  WorkerReadyEvent,
  WorkerRecycledEvent,
  WorkerStartFailedEvent,
  WorkerStartingEvent,
} from "./events.js";
import type { Logger } from "./logger.js";

export interface PoolHooks {
  onPoolCreated?(e: PoolCreatedEvent): void;
  onPoolClosed?(e: PoolClosedEvent): void;
  onPoolSaturated?(e: PoolSaturatedEvent): void;
  onPoolDegraded?(e: PoolDegradedEvent): void;
  onPoolRecovered?(e: PoolRecoveredEvent): void;
  onWorkerStarting?(e: WorkerStartingEvent): void;
  onWorkerReady?(e: WorkerReadyEvent): void;
  onWorkerStartFailed?(e: WorkerStartFailedEvent): void;
  onWorkerExit?(e: WorkerExitedEvent): void;
  onWorkerRecycled?(e: WorkerRecycledEvent): void;
  onWorkerOutput?(e: WorkerOutputEvent): void;
  /**
   * A call was given to a worker (before it is sent), with the number of calls
   * that worker has now been given. A recycleWorker() made from here takes the
   * worker out of rotation before any other call can reach it.
   */
  onCallClaimed?(workerId: string, requestsStarted: number): void;
  onCallQueued?(e: RequestQueuedEvent): void;
  /** A call is about to be sent: `e.headers` may be added to (trace context); `e.context` carries your own data to onCallEnd. */
  onCallStart?(e: RequestStartedEvent): void;
  onCallEnd?(e: RequestFinishedEvent): void;
}

/** Each hook, and the event it shares its message with. */
const EVENT_OF = {
  onPoolCreated: "poolCreated",
  onPoolClosed: "poolClosed",
  onPoolSaturated: "poolSaturated",
  onPoolDegraded: "poolDegraded",
  onPoolRecovered: "poolRecovered",
  onWorkerStarting: "workerStarting",
  onWorkerReady: "workerReady",
  onWorkerStartFailed: "workerStartFailed",
  onWorkerExit: "workerExited",
  onWorkerRecycled: "workerRecycled",
  onWorkerOutput: "workerOutput",
  onCallQueued: "requestQueued",
  onCallStart: "requestStarted",
  onCallEnd: "requestFinished",
} as const satisfies Record<Exclude<keyof PoolHooks, "onCallClaimed">, keyof typeof channels>;

export type EventHook = keyof typeof EVENT_OF;
type EventOf<H extends EventHook> = Parameters<NonNullable<PoolHooks[H]>>[0];

const processHooks = new Set<PoolHooks>();

/** Hooks called for every pool in this process (telemetry); returns the function that removes them. */
export function registerPoolHooks(hooks: PoolHooks): () => void {
  const own = { ...hooks };
  processHooks.add(own);
  return () => void processHooks.delete(own);
}

/** One pool's hooks: its plugins' and the process-wide ones. */
export class HookSet {
  private readonly own: PoolHooks[] = [];

  constructor(
    private readonly poolName: string,
    private readonly logger: Logger,
  ) {}

  add(hooks: PoolHooks): () => void {
    const entry = { ...hooks };
    this.own.push(entry);
    return () => {
      const i = this.own.indexOf(entry);
      if (i >= 0) this.own.splice(i, 1);
    };
  }

  /** Someone would see this message: a hook, or an outside subscriber. */
  wants(hook: EventHook): boolean {
    return this.find(hook) !== undefined || channels[EVENT_OF[hook]].hasSubscribers;
  }

  /** Call the hooks, then publish; the message is built only when someone takes it. */
  emit<H extends EventHook>(hook: H, build: () => EventOf<H>): void {
    const channel = channels[EVENT_OF[hook]];
    if (this.find(hook) === undefined && !channel.hasSubscribers) return;
    const message = build();
    this.call(hook, message);
    if (!channel.hasSubscribers) return;
    // Observers get the headers as sent, in a copy: what they add is not sent (hooks steer, channels watch).
    if (hook === "onCallStart") {
      const started = message as EventOf<"onCallStart">;
      channel.publish({ ...started, headers: { ...started.headers } });
    } else channel.publish(message);
  }

  claimed(workerId: string, requestsStarted: number): void {
    for (const h of this.own) if (h.onCallClaimed) this.contained("onCallClaimed", () => h.onCallClaimed!(workerId, requestsStarted));
    for (const h of processHooks) if (h.onCallClaimed) this.contained("onCallClaimed", () => h.onCallClaimed!(workerId, requestsStarted));
  }

  private call<H extends EventHook>(hook: H, message: EventOf<H>): void {
    for (const h of this.own) this.invoke(h, hook, message);
    if (processHooks.size) for (const h of processHooks) this.invoke(h, hook, message);
  }

  private invoke<H extends EventHook>(hooks: PoolHooks, hook: H, message: EventOf<H>): void {
    const fn = hooks[hook] as ((e: EventOf<H>) => void) | undefined;
    if (fn) this.contained(hook, () => fn.call(hooks, message));
  }

  private find(hook: EventHook): PoolHooks | undefined {
    for (const h of this.own) if (h[hook]) return h;
    if (processHooks.size) for (const h of processHooks) if (h[hook]) return h;
    return undefined;
  }

  private contained(hook: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.logger.error(`pool ${this.poolName}: a ${hook} hook threw: ${err instanceof Error ? err.message : String(err)}`, { pool: this.poolName });
    }
  }
}
