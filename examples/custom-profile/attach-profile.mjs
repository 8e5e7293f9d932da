// A user-written WorkerProfile: instead of spawning Python, attach to workers
// that are already running (started by hand, by systemd, in a container...).
// The pool brings queueing, deadlines, cancellation, sessions and stats; the
// profile only says how to reach a worker and when it is gone.
import { SnakepitError } from "@snakepit/core";
import { createConnectChannel } from "@snakepit/core/profile";

/**
 * @param {{ addresses: string[], token?: string, healthIntervalMs?: number }} options
 * @returns {import("@snakepit/core").WorkerProfile}
 */
export function attachProfile({ addresses, token, healthIntervalMs = 1_000 }) {
  let next = 0;
  return {
    name: "attach",
    async startWorker(ctx) {
      // Workers are taken in turn; a replacement reconnects to the next address.
      const address = addresses[next++ % addresses.length];
      const channel = createConnectChannel({
        address,
        maxMessageBytes: ctx.options.maxPayloadBytes,
        ...(token === undefined ? {} : { token }),
      });
      let describe;
      try {
        describe = await channel.describe({ signal: ctx.signal, timeoutMs: ctx.options.startTimeoutMs });
      } catch (err) {
        channel.close();
        throw new SnakepitError("worker_start_failed", `no snakepit worker answers at ${address}: ${err.message}`, {
          cause: err,
          workerId: ctx.workerId,
        });
      }
      const w = describe.worker;
      // The worker is "gone" when it stops answering health checks, or when the pool lets go.
      let settle;
      const exited = new Promise((resolve) => (settle = resolve));
      let expected = false;
      const timer = setInterval(() => {
        channel.health({ timeoutMs: healthIntervalMs }).catch(() => end(false));
      }, healthIntervalMs);
      const end = (asked) => {
        clearInterval(timer);
        expected ||= asked;
        channel.close();
        settle({ exitCode: null, signal: null, stderrTail: [], expected });
      };
      return {
        id: ctx.workerId,
        pid: Number(w.pid),
        capacity: w.threads,
        info: {
          pid: Number(w.pid),
          pythonVersion: w.pythonVersion,
          implementation: w.implementation,
          freeThreaded: w.freeThreaded,
          gilEnabled: w.gilEnabled,
          threads: w.threads,
          adapter: w.adapter,
          adapterThreadSafe: w.adapterThreadSafe,
          platform: w.platform,
        },
        channel,
        exited,
        // Not ours to stop: detach and leave the worker running.
        async stop() {
          end(true);
        },
        kill() {
          end(true);
        },
      };
    },
  };
}
