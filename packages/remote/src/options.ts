import { invalidConfigError, unknownOptionIssue, type ConfigIssue } from "@snakepit/core";
import { type ConnectChannelOptions, type WorkerChannel } from "@snakepit/core/profile";

/** TLS settings of the Connect channel (core does not export the type by name). */
export type RemoteTlsOptions = NonNullable<ConnectChannelOptions["tls"]>;
import type { RemoteHostEvent } from "./host-events.js";
import { parseEndpoint, systemResolver, type Endpoint, type ParsedEndpoint, type Resolver } from "./endpoints.js";

export interface RemoteProfileOptions {
  /**
   * The workers: `"host:port"` strings (one worker each) and `{ dns: "name:port" }`
   * names to discover (every A/AAAA record is a worker: a Kubernetes headless
   * Service). One endpoint may be given on its own instead of in a list.
   */
  endpoints: Endpoint | readonly Endpoint[];
  /** Shared secret sent as `x-snakepit-token` (the workers' `--token-file`). Never logged. */
  token?: string;
  /**
   * Speak TLS. `ca` is the CA that signed the workers' certificates; `cert`/`key` a
   * client certificate for workers started with `--tls-client-ca`. `servername`
   * defaults to the DNS name of a discovered endpoint (its pods' addresses are not
   * in the certificate), else to the host of a static one.
   */
  tls?: RemoteTlsOptions;
  /** How often each worker in use is asked for its health. Default 1000. */
  healthIntervalMs?: number;
  /** A health check (or a probe of an ejected host) not answered within this ejects the host. Default 1000. */
  healthTimeoutMs?: number;
  /** How often DNS endpoints are re-resolved (also: at once when a worker is lost). Default 5000. */
  resolveIntervalMs?: number;
  /** Ejected hosts are probed after initialMs, doubling up to maxMs, until they answer. Default { initialMs: 250, maxMs: 10000 }. */
  ejectBackoff?: { initialMs: number; maxMs: number };
  /** Most connections kept open to one host (one per call in flight). Default 64. */
  maxSocketsPerHost?: number;
  /** The profile's name in stats and events. Default "remote". */
  name?: string;
  /** Resolves DNS endpoints. Default: the system's resolver (`dns.lookup` with `all: true`). */
  resolver?: Resolver;
  /** Called when a host is added, ejected, re-admitted or removed (for logs, dashboards, benchmarks). */
  onHostChange?: (event: RemoteHostEvent) => void;
  /** @internal Tests only: how a channel to an address is made. */
  createChannel?: (address: string, options: { maxMessageBytes: number; servername: string | undefined; maxSockets: number; token: string | undefined }) => WorkerChannel;
}

export interface ResolvedRemoteOptions {
  readonly endpoints: readonly ParsedEndpoint[];
  readonly token: string | undefined;
  readonly tls: RemoteTlsOptions | undefined;
  readonly healthIntervalMs: number;
  readonly healthTimeoutMs: number;
  readonly resolveIntervalMs: number;
  readonly ejectBackoff: { readonly initialMs: number; readonly maxMs: number };
  readonly maxSocketsPerHost: number | undefined;
  readonly name: string;
  readonly resolver: Resolver;
  readonly createChannel: RemoteProfileOptions["createChannel"];
  readonly onHostChange: RemoteProfileOptions["onHostChange"];
}

export const REMOTE_DEFAULTS = {
  healthIntervalMs: 1000,
  healthTimeoutMs: 1000,
  resolveIntervalMs: 5000,
  ejectBackoff: { initialMs: 250, maxMs: 10_000 },
  name: "remote",
} as const;

const KEYS = new Set([
  "endpoints",
  "token",
  "tls",
  "healthIntervalMs",
  "healthTimeoutMs",
  "resolveIntervalMs",
  "ejectBackoff",
  "maxSocketsPerHost",
  "name",
  "resolver",
  "createChannel",
  "onHostChange",
]);

const isPosInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v > 0;

/** Validate everything at once; throw invalid_config naming every problem. */
export function resolveRemoteOptions(input: RemoteProfileOptions): ResolvedRemoteOptions {
  const issues: ConfigIssue[] = [];
  const o = (typeof input === "object" && input !== null ? input : {}) as Partial<RemoteProfileOptions> & Record<string, unknown>;
  if (typeof input !== "object" || input === null) issues.push({ path: "(root)", message: "remoteProfile() takes an options object with endpoints" });
  for (const key of Object.keys(o)) if (!KEYS.has(key)) issues.push(unknownOptionIssue(key, key, KEYS));

  const endpoints: ParsedEndpoint[] = [];
  const list: unknown[] = o.endpoints === undefined ? [] : Array.isArray(o.endpoints) ? o.endpoints : [o.endpoints];
  if (list.length === 0) issues.push({ path: "endpoints", message: 'endpoints must name at least one worker: "host:port" or { dns: "name:port" }' });
  list.forEach((e, i) => {
    const parsed = parseEndpoint(e, `endpoints[${i}]`);
    if (typeof parsed === "string") issues.push({ path: `endpoints[${i}]`, message: parsed.replace(/^endpoints\[\d+\](\.dns)?: /, "") });
    else endpoints.push(parsed);
  });
  if (o.token !== undefined && (typeof o.token !== "string" || o.token === "")) {
    issues.push({ path: "token", message: "token must be a non-empty string" });
  }
  if (o.tls !== undefined && (typeof o.tls !== "object" || o.tls === null)) issues.push({ path: "tls", message: "tls must be an object ({ ca?, cert?, key?, servername? })" });
  if (o.tls && (o.tls.cert === undefined) !== (o.tls.key === undefined)) {
    issues.push({ path: "tls", message: "tls.cert and tls.key go together (a client certificate and its key)" });
  }
  for (const key of ["healthIntervalMs", "healthTimeoutMs", "resolveIntervalMs", "maxSocketsPerHost"] as const) {
    if (o[key] !== undefined && !isPosInt(o[key])) issues.push({ path: key, message: `${key} must be a positive integer` });
  }
  const backoff = o.ejectBackoff ?? REMOTE_DEFAULTS.ejectBackoff;
  if (o.ejectBackoff !== undefined) {
    if (!isPosInt(backoff.initialMs)) issues.push({ path: "ejectBackoff.initialMs", message: "ejectBackoff.initialMs must be a positive integer" });
    if (!isPosInt(backoff.maxMs)) issues.push({ path: "ejectBackoff.maxMs", message: "ejectBackoff.maxMs must be a positive integer" });
    else if (isPosInt(backoff.initialMs) && backoff.maxMs < backoff.initialMs) {
      issues.push({ path: "ejectBackoff.maxMs", message: "ejectBackoff.maxMs must be at least ejectBackoff.initialMs" });
    }
  }
  if (o.name !== undefined && (typeof o.name !== "string" || o.name === "")) issues.push({ path: "name", message: "name must be a non-empty string" });
  if (o.onHostChange !== undefined && typeof o.onHostChange !== "function") issues.push({ path: "onHostChange", message: "onHostChange must be a function" });
  if (o.resolver !== undefined && typeof o.resolver !== "function") issues.push({ path: "resolver", message: "resolver must be a function (hostname) => Promise<string[]>" });

  if (issues.length) throw invalidConfigError("remoteProfile options", issues);
  return {
    endpoints,
    token: o.token,
    tls: o.tls,
    healthIntervalMs: o.healthIntervalMs ?? REMOTE_DEFAULTS.healthIntervalMs,
    healthTimeoutMs: o.healthTimeoutMs ?? REMOTE_DEFAULTS.healthTimeoutMs,
    resolveIntervalMs: o.resolveIntervalMs ?? REMOTE_DEFAULTS.resolveIntervalMs,
    ejectBackoff: { initialMs: backoff.initialMs, maxMs: backoff.maxMs },
    maxSocketsPerHost: o.maxSocketsPerHost,
    name: o.name ?? REMOTE_DEFAULTS.name,
    resolver: o.resolver ?? systemResolver,
    createChannel: o.createChannel,
    onHostChange: o.onHostChange,
  };
}
