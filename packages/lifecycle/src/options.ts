/**
 * Lifecycle options: the public shape, the documented defaults, and validation
 * that reports every problem at once (SnakepitError "invalid_config"), like
 * core's pool options.
 */
import { invalidConfigError, schemaIssues, type ConfigIssue } from "@snakepit/core";
import { z } from "zod";

export type MemoryMode = "growth" | "absolute";

export interface LifecycleOptions {
  /** Requests after which a worker is replaced; it leaves rotation once its replacement is ready (serving past the limit meanwhile if it must). Default: no limit. */
  maxRequests?: number;
  /** Each worker draws its own limit in [maxRequests, maxRequests + jitter]. Default: maxRequests / 10, rounded. */
  maxRequestsJitter?: number;
  /** Age (from ready) after which a worker is replaced, one worker at a time. Default: no limit. */
  ttlMs?: number;
  /** Each worker draws its own age limit in [ttlMs, ttlMs + jitter]. Default: ttlMs / 10, rounded. */
  ttlJitterMs?: number;
  /** Memory of the Python process (PSS where the OS reports it, else RSS) that triggers a replacement. Default: no limit. */
  maxMemoryBytes?: number;
  /**
   * "growth" (default): the limit is on growth over the worker's own memory just
   * after start-up, so a worker that starts big is not replaced forever.
   * "absolute": the limit is on the total.
   */
  memoryMode?: MemoryMode;
  /** How often each worker is asked for its health (and memory); also how long it has to answer. Default 5 000 ms; Infinity turns periodic checks off. */
  healthIntervalMs?: number;
  /** Health checks missed in a row after which the worker is declared hung and killed (SIGKILL). Default 3. */
  maxHealthMisses?: number;
  /** A request running longer than this (from when its worker started it) kills that worker; the request fails with deadline_exceeded. Default: off. */
  hardTimeoutMs?: number;
  /** How long a worker being replaced may take to finish its running requests before it is stopped. Default: the pool's closeTimeoutMs. */
  drainTimeoutMs?: number;
  /** First delay of the restart backoff (it doubles with each failure in a row). Default 250 ms. */
  restartBackoffMs?: number;
  /** Longest restart delay. Default 15 000 ms. */
  restartBackoffMaxMs?: number;
  /** Failed worker starts in a row after which a pool with no ready worker is marked degraded. Default 3. */
  maxStartFailures?: number;
}

export interface ResolvedLifecycleOptions {
  readonly maxRequests: number | undefined;
  readonly maxRequestsJitter: number;
  readonly ttlMs: number | undefined;
  readonly ttlJitterMs: number;
  readonly maxMemoryBytes: number | undefined;
  readonly memoryMode: MemoryMode;
  readonly healthIntervalMs: number;
  readonly maxHealthMisses: number;
  readonly hardTimeoutMs: number | undefined;
  readonly drainTimeoutMs: number | undefined;
  readonly restartBackoffMs: number;
  readonly restartBackoffMaxMs: number;
  readonly maxStartFailures: number;
}

export const LIFECYCLE_DEFAULTS = {
  /** Fraction of maxRequests / ttlMs used as jitter when none is given. */
  jitterFraction: 0.1,
  memoryMode: "growth",
  healthIntervalMs: 5_000,
  maxHealthMisses: 3,
  restartBackoffMs: 250,
  restartBackoffMaxMs: 15_000,
  maxStartFailures: 3,
} as const;

const posInt = (what: string) =>
  z.number({ error: `${what} must be a positive integer` }).int(`${what} must be a positive integer`).min(1, `${what} must be a positive integer`);
const nonNegInt = (what: string) =>
  z.number({ error: `${what} must be a non-negative integer` }).int(`${what} must be a non-negative integer`).min(0, `${what} must be a non-negative integer`);
const durationMs = (what: string, allowInfinity = false) =>
  z.custom<number>(
    (n) => typeof n === "number" && n > 0 && (Number.isFinite(n) ? Number.isInteger(n) : allowInfinity && n === Infinity),
    { error: `${what} must be a positive whole number of milliseconds${allowInfinity ? " (or Infinity)" : ""}` },
  );

const schema = z.strictObject({
  maxRequests: posInt("maxRequests").optional(),
  maxRequestsJitter: nonNegInt("maxRequestsJitter").optional(),
  ttlMs: durationMs("ttlMs").optional(),
  ttlJitterMs: nonNegInt("ttlJitterMs").optional(),
  maxMemoryBytes: posInt("maxMemoryBytes").optional(),
  memoryMode: z.enum(["growth", "absolute"], { error: 'memoryMode must be "growth" or "absolute"' }).optional(),
  healthIntervalMs: durationMs("healthIntervalMs", true).optional(),
  maxHealthMisses: posInt("maxHealthMisses").optional(),
  hardTimeoutMs: durationMs("hardTimeoutMs").optional(),
  drainTimeoutMs: durationMs("drainTimeoutMs").optional(),
  restartBackoffMs: durationMs("restartBackoffMs").optional(),
  restartBackoffMaxMs: durationMs("restartBackoffMaxMs").optional(),
  maxStartFailures: posInt("maxStartFailures").optional(),
}, { error: "lifecycle options must be an object" });

const KEYS = Object.keys(schema.shape);

/** Rules that involve two options; they would otherwise be silently ignored. */
function crossIssues(o: LifecycleOptions): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const needs = (key: keyof LifecycleOptions, on: keyof LifecycleOptions) => {
    if (o[key] !== undefined && o[on] === undefined) out.push({ path: `lifecycle.${key}`, message: `${key} has no effect without ${on}` });
  };
  needs("maxRequestsJitter", "maxRequests");
  needs("ttlJitterMs", "ttlMs");
  needs("memoryMode", "maxMemoryBytes");
  if (typeof o.restartBackoffMs === "number" && typeof o.restartBackoffMaxMs === "number" && o.restartBackoffMaxMs < o.restartBackoffMs) {
    out.push({ path: "lifecycle.restartBackoffMaxMs", message: "restartBackoffMaxMs must be at least restartBackoffMs" });
  }
  return out;
}

/** Validate and fill in defaults, or throw invalid_config naming every problem. */
export function resolveLifecycleOptions(input: unknown = {}): ResolvedLifecycleOptions {
  const parsed = schema.safeParse(input);
  const issues = [
    ...(parsed.success ? [] : schemaIssues(parsed.error.issues, "lifecycle", () => KEYS)),
    ...(typeof input === "object" && input !== null ? crossIssues(input as LifecycleOptions) : []),
  ];
  if (!parsed.success || issues.length) throw invalidConfigError("lifecycle options", issues);
  const o = parsed.data;
  const jitter = (base: number | undefined, given: number | undefined) =>
    given ?? (base === undefined ? 0 : Math.round(base * LIFECYCLE_DEFAULTS.jitterFraction));
  return {
    maxRequests: o.maxRequests,
    maxRequestsJitter: jitter(o.maxRequests, o.maxRequestsJitter),
    ttlMs: o.ttlMs,
    ttlJitterMs: jitter(o.ttlMs, o.ttlJitterMs),
    maxMemoryBytes: o.maxMemoryBytes,
    memoryMode: o.memoryMode ?? LIFECYCLE_DEFAULTS.memoryMode,
    healthIntervalMs: o.healthIntervalMs ?? LIFECYCLE_DEFAULTS.healthIntervalMs,
    maxHealthMisses: o.maxHealthMisses ?? LIFECYCLE_DEFAULTS.maxHealthMisses,
    hardTimeoutMs: o.hardTimeoutMs,
    drainTimeoutMs: o.drainTimeoutMs,
    restartBackoffMs: o.restartBackoffMs ?? LIFECYCLE_DEFAULTS.restartBackoffMs,
    restartBackoffMaxMs: Math.max(o.restartBackoffMaxMs ?? LIFECYCLE_DEFAULTS.restartBackoffMaxMs, o.restartBackoffMs ?? 0),
    maxStartFailures: o.maxStartFailures ?? LIFECYCLE_DEFAULTS.maxStartFailures,
  };
}
