/**
 * remoteProfile(): a WorkerProfile whose workers are hosts running
 * `python -m snakepit_bridge serve`. Each host is one pool worker with the
 * capacity it reports (its threads), so the pool's least-loaded selection and
 * session affinity work across hosts; the pool's size is how many hosts it uses.
 */
import { SnakepitError, type WorkerProfile } from "@snakepit/core";
import { createConnectChannel, type WorkerChannel, type WorkerStartContext } from "@snakepit/core/profile";
import { classify, describeFailure } from "./failure.js";
import type { RemoteHostSnapshot } from "./host-events.js";
import { HostRegistry, type Host } from "./host-registry.js";
import { resolveRemoteOptions, type RemoteProfileOptions, type ResolvedRemoteOptions } from "./options.js";
import { RemoteWorker, type RemoteWorkerInfo } from "./remote-worker.js";

export interface RemoteProfile extends WorkerProfile {
  /** Every host the profile knows and its state (free, in use, ejected...). */
  hosts(): RemoteHostSnapshot[];
}

/** Why a start attempt on one host did not give a worker, and whether to try the next host. */
class HostRefused extends Error {
  constructor(
    message: string,
    readonly fatal: boolean,
    readonly kind: "tls" | "other" = "other",
  ) {
    super(message);
  }
}

export function remoteProfile(options: RemoteProfileOptions): RemoteProfile {
  const o = resolveRemoteOptions(options);
  let maxMessageBytes = 64 * 1024 * 1024;
  const channelFor = (host: Host, purpose: "calls" | "health"): WorkerChannel => {
    const maxSockets = purpose === "health" ? 1 : (o.maxSocketsPerHost ?? 64);
    if (o.createChannel) return o.createChannel(host.address, { maxMessageBytes, servername: host.servername, maxSockets, token: o.token });
    return createConnectChannel({
      address: host.address,
      maxMessageBytes,
      maxSockets,
      ...(o.token !== undefined ? { token: o.token } : {}),
      ...(o.tls !== undefined || host.servername !== undefined
        ? { tls: { ...(o.tls ?? {}), ...(host.servername !== undefined ? { servername: host.servername } : {}) } }
        : {}),
    });
  };
  const registry = new HostRegistry(o, channelFor, o.onHostChange);
  const live = new Set<RemoteWorker>();

  async function startWorker(ctx: WorkerStartContext): Promise<RemoteWorker> {
    registry.logger = ctx.logger;
    maxMessageBytes = ctx.options.maxPayloadBytes;
    registry.acquire();
    try {
      const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(ctx.options.startTimeoutMs)]);
      await registry.ready();
      const tried: string[] = [];
      let tlsFailures = 0;
      for (;;) {
        if (signal.aborted) throw startFailed(ctx, o, registry, tried, ctx.signal.aborted ? "the pool closed or the start deadline passed" : "startTimeoutMs passed");
        let host = registry.reserveFree();
        if (!host && live.size >= ctx.options.size) {
          // Every host is taken and the pool already has its size: this start
          // replaces a worker being recycled; share the host while the old one drains.
          const shared = registry.reserveShared();
          if (shared) host = shared;
        }
        if (!host) {
          if (tlsFailures > 0 && tlsFailures === tried.length) throw startFailed(ctx, o, registry, tried, "TLS failed with every host tried");
          if (!registry.mayFreeUp()) throw startFailed(ctx, o, registry, tried, "every host is in use (the pool's size is larger than the number of hosts)");
          void registry.resolve();
          await registry.changed(signal);
          continue;
        }
        try {
          const worker = await connect(ctx, host, signal);
          live.add(worker);
          void worker.exited.then(() => {
            live.delete(worker);
            registry.release();
          });
          registry.acquire(); // held by the worker until it ends
          return worker;
        } catch (err) {
          if (err instanceof HostRefused && err.fatal) throw new SnakepitError("worker_start_failed", err.message, { workerId: ctx.workerId, pool: ctx.poolName });
          if (err instanceof HostRefused && err.kind === "tls") tlsFailures++;
          tried.push(`${host.address} (${err instanceof Error ? err.message : String(err)})`);
        }
      }
    } finally {
      registry.release();
    }
  }

  async function connect(ctx: WorkerStartContext, host: Host, signal: AbortSignal): Promise<RemoteWorker> {
    const shared = host.state === "in_use";
    const calls = channelFor(host, "calls");
    const health = channelFor(host, "health");
    const timeoutMs = Math.min(ctx.options.startTimeoutMs, 2 * o.healthTimeoutMs);
    const fail = (message: string, fatal: boolean, eject: boolean, kind: "tls" | "other" = "other"): never => {
      calls.close();
      health.close();
      if (eject) registry.eject(host, message);
      else if (!shared) registry.unreserve(host);
      throw new HostRefused(message, fatal, kind);
    };
    let describe;
    let status;
    try {
      [describe, status] = await Promise.all([calls.describe({ signal, timeoutMs }), health.health({ signal, timeoutMs })]);
    } catch (err) {
      if (classify(err) === "token") {
        return fail(`remote worker ${host.address} refused the token (x-snakepit-token is missing or wrong): give remoteProfile the token in the worker's --token-file`, true, false);
      }
      if (classify(err) === "tls") {
        // Ejected (another host may have a good certificate), but not waited for.
        return fail(`TLS failed, checked against the name ${host.servername ?? host.address} (see tls.ca, tls.cert/key): ${describeFailure(err)}`, false, true, "tls");
      }
      if (ctx.signal.aborted) return fail("the pool closed or the start deadline passed", true, false);
      return fail(`no answer to Describe: ${describeFailure(err)}`, false, true);
    }
    if (status.status === "draining") return fail("it is draining", false, true);
    const w = describe.worker;
    if (!w) return fail("Describe returned no worker info", false, true);
    if (w.adapter !== ctx.options.python.adapter) {
      return fail(`remote worker ${host.address} serves adapter ${w.adapter}, but the pool is for ${ctx.options.python.adapter}`, true, false);
    }
    if (w.threads > 1 && !w.adapterThreadSafe && !ctx.options.allowUnsafeAdapters) {
      return fail(
        `remote worker ${host.address} runs ${w.adapter} on ${w.threads} threads, but the adapter is not marked thread-safe; ` +
          "make it a ThreadSafeAdapter, serve it with --threads 1, or create the pool with allowUnsafeAdapters: true",
        true,
        false,
      );
    }
    const info: RemoteWorkerInfo = {
      pid: Number(w.pid),
      pythonVersion: w.pythonVersion,
      implementation: w.implementation,
      freeThreaded: w.freeThreaded,
      gilEnabled: w.gilEnabled,
      threads: w.threads,
      adapter: w.adapter,
      adapterThreadSafe: w.adapterThreadSafe,
      platform: w.platform,
      host: host.address,
      endpoint: host.endpoint.kind === "dns" ? host.endpoint.source : host.endpoint.address,
    };
    const worker = new RemoteWorker({
      id: ctx.workerId,
      host,
      registry,
      calls,
      health,
      info,
      threads: Math.max(1, w.threads),
      healthIntervalMs: o.healthIntervalMs,
      healthTimeoutMs: o.healthTimeoutMs,
    });
    registry.attach(host, worker);
    ctx.logger.info(`remote worker ${ctx.workerId} is ${host.address} (${w.threads} threads, Python ${w.pythonVersion})`, {
      workerId: ctx.workerId,
      host: host.address,
    });
    return worker;
  }

  return {
    name: o.name,
    startWorker,
    hosts: () => registry.snapshot(),
  };
}

function startFailed(ctx: WorkerStartContext, o: ResolvedRemoteOptions, registry: HostRegistry, tried: string[], why: string): SnakepitError {
  const hosts = registry.snapshot();
  const states = hosts.map((h) => `${h.address} ${h.state.replace("_", " ")}${h.state === "ejected" && h.lastError ? ` (${h.lastError})` : ""}`);
  const sources = o.endpoints.map((e) => (e.kind === "dns" ? `dns ${e.source}` : e.address)).join(", ");
  const parts = [
    `no remote worker could be started for ${ctx.workerId}: ${why}`,
    tried.length ? `tried: ${tried.join("; ")}` : "tried no host",
    `hosts: ${states.length ? states.join("; ") : "none known"}`,
    `endpoints: ${sources}`,
  ];
  return new SnakepitError("worker_start_failed", parts.join("\n"), { workerId: ctx.workerId, pool: ctx.poolName });
}
