/**
 * Every host the profile knows, and what it knows of each: free, reserved (a
 * worker is connecting to it), in use (by one worker, two while one is being
 * recycled), or ejected (it failed; it is probed with backoff until it answers).
 * DNS endpoints are re-resolved on a period while a pool uses the profile, and
 * at once when a host is lost.
 */
import type { Logger } from "@snakepit/core";
import type { WorkerChannel } from "@snakepit/core/profile";
import { resolveEndpoints, type ParsedEndpoint } from "./endpoints.js";
import { describeFailure } from "./failure.js";
import type { HostState, RemoteHostEvent, RemoteHostSnapshot } from "./host-events.js";
import type { ResolvedRemoteOptions } from "./options.js";

/** A worker on a host, as the registry needs to see it. */
export interface HostUser {
  readonly startedAt: number;
  readonly channel: WorkerChannel;
  /** Calls it has on the host now. */
  inFlight(): number;
  /** The host left DNS: finish running calls, take no more, then end. */
  retire(reason: string): void;
  /** How many more calls it could run now (its threads less what runs on its host). */
  spare(): number;
  /**
   * Its channel, for a call another worker could not start (its host refused it);
   * counted against this one's capacity until `release()`.
   */
  borrow(): { readonly channel: WorkerChannel; release(): void };
}

export interface Host {
  readonly address: string;
  readonly endpoint: ParsedEndpoint;
  readonly servername: string | undefined;
  state: HostState;
  readonly users: Set<HostUser>;
  failures: number;
  lastError: string | undefined;
  ejectedAt: number | undefined;
  removed: boolean;
  probeTimer: NodeJS.Timeout | undefined;
  probing: boolean;
}

export type ChannelFactory = (host: Host, purpose: "calls" | "health") => WorkerChannel;

export class HostRegistry {
  readonly hosts = new Map<string, Host>();
  private readonly waiters = new Set<() => void>();
  /** Workers alive plus starts under way: timers run only while this is above zero. */
  private active = 0;
  private resolveTimer: NodeJS.Timeout | undefined;
  private resolving: Promise<void> | undefined;
  private resolvedOnce = false;
  private rotate = 0;
  logger: Logger | undefined;

  constructor(
    private readonly options: ResolvedRemoteOptions,
    private readonly channelFor: ChannelFactory,
    private readonly onEvent: ((e: RemoteHostEvent) => void) | undefined,
  ) {
    for (const e of options.endpoints) if (e.kind === "static") this.add(e.address, e);
  }

  get hasDns(): boolean {
    return this.options.endpoints.some((e) => e.kind === "dns");
  }

  snapshot(): RemoteHostSnapshot[] {
    return [...this.hosts.values()].map((h) => ({
      address: h.address,
      state: h.state,
      source: h.endpoint.kind === "dns" ? h.endpoint.source : h.endpoint.address,
      workers: h.users.size,
      failures: h.failures,
      removed: h.removed,
      ...(h.lastError !== undefined ? { lastError: h.lastError } : {}),
      ...(h.ejectedAt !== undefined ? { ejectedAt: h.ejectedAt } : {}),
    }));
  }

  // ---- activity: timers run only while a pool uses the profile -----------------

  acquire(): void {
    if (this.active++ === 0) {
      if (this.hasDns) this.resolveTimer = setInterval(() => void this.resolve(), this.options.resolveIntervalMs).unref();
      for (const h of this.hosts.values()) if (h.state === "ejected") this.scheduleProbe(h, 0);
    }
  }

  release(): void {
    if (--this.active > 0) return;
    this.active = 0;
    clearInterval(this.resolveTimer);
    this.resolveTimer = undefined;
    for (const h of this.hosts.values()) {
      clearTimeout(h.probeTimer);
      h.probeTimer = undefined;
    }
  }

  // ---- discovery ----------------------------------------------------------------

  /** The first resolution (once), so the first workers have hosts to pick from. */
  async ready(): Promise<void> {
    if (!this.resolvedOnce && this.hasDns) await this.resolve();
  }

  /** Re-resolve DNS endpoints now (one resolution at a time). */
  resolve(): Promise<void> {
    if (!this.hasDns) return Promise.resolve();
    this.resolving ??= this.doResolve().finally(() => {
      this.resolving = undefined;
    });
    return this.resolving;
  }

  private async doResolve(): Promise<void> {
    const { addresses, failures } = await resolveEndpoints(this.options.endpoints, this.options.resolver);
    this.resolvedOnce = true;
    const failed = new Set(failures.map((f) => f.endpoint));
    for (const f of failures) {
      const name = f.endpoint.kind === "dns" ? f.endpoint.source : f.endpoint.address;
      this.logger?.warn(`could not resolve ${name}: ${describeFailure(f.error)}; keeping the hosts already known`, {});
    }
    for (const [address, endpoint] of addresses) {
      const known = this.hosts.get(address);
      if (!known) this.add(address, endpoint);
      else if (known.removed) known.removed = false;
    }
    // Hosts that left DNS (and whose name did resolve): drain and forget them.
    for (const h of [...this.hosts.values()]) {
      if (h.endpoint.kind !== "dns" || failed.has(h.endpoint) || addresses.has(h.address) || h.removed) continue;
      h.removed = true;
      this.emit({ type: "removed", address: h.address, reason: `no longer in DNS for ${h.endpoint.source}`, at: Date.now() });
      for (const u of [...h.users]) u.retire(`${h.address} is no longer in DNS for ${h.endpoint.source}`);
      this.forgetIfUnused(h);
    }
    this.notify();
  }

  private add(address: string, endpoint: ParsedEndpoint): void {
    const servername = this.options.tls?.servername ?? (endpoint.kind === "dns" ? endpoint.name : undefined);
    const host: Host = {
      address,
      endpoint,
      servername,
      state: "free",
      users: new Set(),
      failures: 0,
      lastError: undefined,
      ejectedAt: undefined,
      removed: false,
      probeTimer: undefined,
      probing: false,
    };
    this.hosts.set(address, host);
    this.emit({ type: "added", address, at: Date.now() });
  }

  private forgetIfUnused(h: Host): void {
    if (!h.removed || h.users.size > 0 || h.state === "reserved") return;
    clearTimeout(h.probeTimer);
    this.hosts.delete(h.address);
  }

  // ---- picking hosts for new workers ------------------------------------------

  /** A free host, reserved for the caller; or undefined. */
  reserveFree(): Host | undefined {
    const free = [...this.hosts.values()].filter((h) => h.state === "free" && !h.removed);
    if (free.length === 0) return undefined;
    const host = free[this.rotate++ % free.length]!;
    host.state = "reserved";
    return host;
  }

  /**
   * A host in use whose worker is most likely being recycled (the oldest one), for
   * the replacement to share while the old worker drains.
   */
  reserveShared(): Host | undefined {
    let best: { host: Host; startedAt: number } | undefined;
    for (const h of this.hosts.values()) {
      if (h.state !== "in_use" || h.removed || h.users.size !== 1) continue;
      for (const u of h.users) if (!best || u.startedAt < best.startedAt) best = { host: h, startedAt: u.startedAt };
    }
    return best?.host;
  }

  /**
   * The worker best placed to take a call that another host refused before it
   * started (it drains, or it refused the connection): the most spare capacity.
   */
  forwardTarget(except: Host): HostUser | undefined {
    let best: { user: HostUser; spare: number } | undefined;
    for (const h of this.hosts.values()) {
      if (h === except || h.state !== "in_use") continue;
      for (const u of h.users) {
        const spare = u.spare();
        if (spare > Number.NEGATIVE_INFINITY && (!best || spare > best.spare)) best = { user: u, spare };
      }
    }
    return best?.user;
  }

  /** Whether waiting could bring a free host: one is ejected (probed) or DNS may list more. */
  mayFreeUp(): boolean {
    return this.hasDns || [...this.hosts.values()].some((h) => h.state === "ejected" && !h.removed);
  }

  /** Resolves when something changed (a host freed, re-admitted or discovered) or the signal aborts. */
  changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.waiters.delete(done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      if (signal.aborted) return resolve();
      this.waiters.add(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  // ---- state changes --------------------------------------------------------------

  attach(host: Host, user: HostUser): void {
    host.users.add(user);
    host.state = "in_use";
  }

  /** A worker let go of its host, which is fine: free it (unless it failed meanwhile). */
  detach(host: Host, user: HostUser): void {
    host.users.delete(user);
    if (host.users.size === 0 && host.state === "in_use") host.state = "free";
    this.forgetIfUnused(host);
    this.notify();
  }

  /** A reservation that was not used, and the host did not fail. */
  unreserve(host: Host): void {
    if (host.state === "reserved") host.state = host.users.size > 0 ? "in_use" : "free";
    this.forgetIfUnused(host);
    this.notify();
  }

  /** The host failed: out of rotation now, probed with backoff until it answers. */
  eject(host: Host, reason: string, user?: HostUser): void {
    if (user) host.users.delete(user);
    host.lastError = reason;
    if (host.state !== "ejected") {
      host.state = "ejected";
      host.failures = 0;
      host.ejectedAt = Date.now();
      this.emit({ type: "ejected", address: host.address, reason, at: host.ejectedAt });
      this.logger?.warn(`remote worker host ${host.address} ejected: ${reason}`, { host: host.address });
    }
    // Its other worker (while recycling) cannot do better than this one did.
    for (const u of [...host.users]) u.retire(`${host.address} was ejected: ${reason}`);
    if (host.removed && host.users.size === 0) {
      this.forgetIfUnused(host);
    } else if (this.active > 0) {
      this.scheduleProbe(host, this.options.ejectBackoff.initialMs);
    }
    void this.resolve();
    this.notify();
  }

  private scheduleProbe(host: Host, delayMs: number): void {
    clearTimeout(host.probeTimer);
    host.probeTimer = setTimeout(() => void this.probe(host), delayMs).unref();
  }

  private async probe(host: Host): Promise<void> {
    host.probeTimer = undefined;
    if (host.state !== "ejected" || host.probing || !this.hosts.has(host.address)) return;
    host.probing = true;
    const channel = this.channelFor(host, "health");
    let error: string | undefined;
    try {
      const h = await channel.health({ timeoutMs: this.options.healthTimeoutMs });
      if (h.status === "draining") error = "it is draining";
    } catch (err) {
      error = describeFailure(err);
    } finally {
      channel.close();
      host.probing = false;
    }
    if (host.state !== "ejected" || !this.hosts.has(host.address)) return;
    if (error === undefined) {
      host.state = host.users.size > 0 ? "in_use" : "free";
      const ejectedFor = host.ejectedAt === undefined ? 0 : Date.now() - host.ejectedAt;
      host.failures = 0;
      host.ejectedAt = undefined;
      this.emit({ type: "readmitted", address: host.address, at: Date.now() });
      this.logger?.info(`remote worker host ${host.address} answers again after ${ejectedFor} ms; taken back`, { host: host.address });
      this.notify();
      return;
    }
    host.failures++;
    host.lastError = error;
    if (this.active > 0) {
      const { initialMs, maxMs } = this.options.ejectBackoff;
      this.scheduleProbe(host, Math.min(maxMs, initialMs * 2 ** host.failures));
    }
  }

  private emit(e: RemoteHostEvent): void {
    try {
      this.onEvent?.(e);
    } catch (err) {
      this.logger?.warn(`onHostChange threw: ${String(err)}`, {});
    }
  }
}
