/**
 * Pool options: the public shape, the documented defaults, and validation that
 * reports every problem at once (SnakepitError "invalid_config").
 */
import { availableParallelism } from "node:os";
import { z } from "zod";
import { invalidConfigError, schemaIssues } from "./config-issues.js";
import type { ConfigIssue } from "./errors.js";
import { consoleLogger, type Logger } from "./logger.js";
import type { PoolSettings, ProfileName, PythonOptions, TransportName } from "./pool-settings.js";
import type { PoolPlugin } from "./plugin.js";
import type { WorkerProfile } from "./worker-profile.js";

export interface PoolOptions {
  /** Used in events, stats and errors. Default "default" (the key in createSnakepit). */
  name?: string;
  /** "process" (default), "thread", or a WorkerProfile of your own. */
  profile?: ProfileName | WorkerProfile;
  /** Number of workers. Default: os.availableParallelism() for "process", 1 for "thread". */
  size?: number;
  /** Calls each worker runs at once in the thread profile. Default 4; 1 in the process profile. */
  threadsPerWorker?: number;
  python: PythonOptions;
  /** Calls waiting for a free worker before new ones are refused with queue_full. Default 1000. */
  maxQueue?: number;
  /** How long a call may wait for a free worker before queue_timeout. Default 10 000 ms. */
  queueTimeoutMs?: number;
  /** How long a worker may take from spawn to ready. Default 30 000 ms. */
  startTimeoutMs?: number;
  /** Deadline of a call (queue wait included) when the call gives none. Default 60 000 ms; Infinity for none. */
  defaultTimeoutMs?: number;
  /** Workers started at the same time. Default 4. */
  startupConcurrency?: number;
  /** Largest encoded arguments or result (JSON plus bytes). Default 64 MiB. */
  maxPayloadBytes?: number;
  /** close() waits this long for running calls before killing workers. Default 10 000 ms. */
  closeTimeoutMs?: number;
  /** Let the thread profile run an adapter that does not declare itself thread-safe. Default false. */
  allowUnsafeAdapters?: boolean;
  /**
   * How the built-in profiles carry calls to their workers: "local" (default)
   * sends Execute/Stream as frames on a socketpair and everything else over gRPC;
   * "connect" sends everything over gRPC (Connect-RPC) on the worker's Unix socket.
   */
  transport?: TransportName;
  /** Where the pool logs, worker output included. Default: stderr. */
  logger?: Logger;
  /** Extensions (lifecycle, telemetry, ...). */
  plugins?: PoolPlugin[];
}

/** Validated options with every default filled in. */
export interface ResolvedPoolOptions extends PoolSettings {
  readonly profile: ProfileName | WorkerProfile;
  readonly plugins: readonly PoolPlugin[];
}

export const DEFAULTS = {
  name: "default",
  profile: "process",
  threadsPerWorker: 4,
  maxQueue: 1000,
  queueTimeoutMs: 10_000,
  startTimeoutMs: 30_000,
  defaultTimeoutMs: 60_000,
  startupConcurrency: 4,
  maxPayloadBytes: 64 * 1024 * 1024,
  closeTimeoutMs: 10_000,
  transport: "local",
} as const;

const ADAPTER_SPEC = /^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$/;

const posInt = (what: string) =>
  z.number({ error: `${what} must be a positive integer` }).int(`${what} must be a positive integer`).min(1, `${what} must be a positive integer`);
const nonNegInt = (what: string) =>
  z.number({ error: `${what} must be a non-negative integer` }).int(`${what} must be a non-negative integer`).min(0, `${what} must be a non-negative integer`);
const durationMs = (what: string, allowInfinity = false) =>
  z.custom<number>(
    (n) => typeof n === "number" && n > 0 && (Number.isFinite(n) ? Number.isInteger(n) : allowInfinity && n === Infinity),
    { error: `${what} must be a positive whole number of milliseconds${allowInfinity ? " (or Infinity)" : ""}` },
  );

const isProfile = (v: unknown): v is WorkerProfile =>
  typeof v === "object" && v !== null && typeof (v as WorkerProfile).startWorker === "function" && typeof (v as WorkerProfile).name === "string";

const pythonSchema = z.strictObject({
  adapter: z
    .string({ error: "python.adapter is required: the adapter class as 'package.module:ClassName'" })
    .regex(ADAPTER_SPEC, "python.adapter must look like 'package.module:ClassName'"),
  executable: z.string().min(1, "python.executable must be a non-empty path").optional(),
  cwd: z.string().min(1).optional(),
  env: z.record(z.string(), z.string({ error: "python.env values must be strings" })).optional(),
  args: z.array(z.string({ error: "python.args must be strings" })).optional(),
});

const poolSchema = z.strictObject({
  name: z.string().min(1, "name must be a non-empty string").optional(),
  profile: z
    .union([z.literal("process"), z.literal("thread"), z.custom<WorkerProfile>(isProfile)], {
      error: 'profile must be "process", "thread", or a WorkerProfile object ({ name, startWorker })',
    })
    .optional(),
  size: posInt("size").optional(),
  threadsPerWorker: posInt("threadsPerWorker").optional(),
  python: z.unknown().pipe(pythonSchema),
  maxQueue: nonNegInt("maxQueue").optional(),
  queueTimeoutMs: durationMs("queueTimeoutMs", true).optional(),
  startTimeoutMs: durationMs("startTimeoutMs").optional(),
  defaultTimeoutMs: durationMs("defaultTimeoutMs", true).optional(),
  startupConcurrency: posInt("startupConcurrency").optional(),
  maxPayloadBytes: posInt("maxPayloadBytes").optional(),
  closeTimeoutMs: durationMs("closeTimeoutMs").optional(),
  allowUnsafeAdapters: z.boolean({ error: "allowUnsafeAdapters must be a boolean" }).optional(),
  transport: z.enum(["local", "connect"], { error: 'transport must be "local" or "connect"' }).optional(),
  logger: z
    .custom<Logger>(
      (v) => typeof v === "object" && v !== null && ["debug", "info", "warn", "error"].every((k) => typeof (v as Record<string, unknown>)[k] === "function"),
      { error: "logger must have debug, info, warn and error methods" },
    )
    .optional(),
  plugins: z
    .array(z.custom<PoolPlugin>((v) => typeof v === "object" && v !== null && typeof (v as PoolPlugin).name === "string", { error: "each plugin must be an object with a name" }))
    .optional(),
});

const POOL_KEYS = Object.keys(poolSchema.shape);
const PYTHON_KEYS = Object.keys(pythonSchema.shape);

/** Validate pool options and fill in defaults; issues are prefixed with `prefix` (e.g. "pools.api"). */
export function checkPoolOptions(input: unknown, prefix = ""): { options?: ResolvedPoolOptions; issues: ConfigIssue[] } {
  const parsed = poolSchema.safeParse(input);
  if (!parsed.success) return { issues: schemaIssues(parsed.error.issues, prefix, (at) => (at.at(-1) === "python" ? PYTHON_KEYS : POOL_KEYS)) };
  const o = parsed.data;
  const profile = o.profile ?? DEFAULTS.profile;
  const profileName = typeof profile === "string" ? profile : profile.name;
  const issues: ConfigIssue[] = [];
  if (profile === "process" && o.threadsPerWorker !== undefined && o.threadsPerWorker !== 1) {
    issues.push({
      path: [prefix, "threadsPerWorker"].filter(Boolean).join("."),
      message: 'threadsPerWorker applies to the "thread" profile; the process profile runs one call per worker',
    });
  }
  if (issues.length) return { issues };
  const python = { ...o.python } as ResolvedPoolOptions["python"];
  return {
    issues,
    options: {
      name: o.name ?? DEFAULTS.name,
      profile,
      profileName,
      size: o.size ?? (profile === "thread" ? 1 : availableParallelism()),
      threadsPerWorker: profile === "process" ? 1 : (o.threadsPerWorker ?? DEFAULTS.threadsPerWorker),
      python,
      maxQueue: o.maxQueue ?? DEFAULTS.maxQueue,
      queueTimeoutMs: o.queueTimeoutMs ?? DEFAULTS.queueTimeoutMs,
      startTimeoutMs: o.startTimeoutMs ?? DEFAULTS.startTimeoutMs,
      defaultTimeoutMs: o.defaultTimeoutMs ?? DEFAULTS.defaultTimeoutMs,
      startupConcurrency: o.startupConcurrency ?? DEFAULTS.startupConcurrency,
      maxPayloadBytes: o.maxPayloadBytes ?? DEFAULTS.maxPayloadBytes,
      closeTimeoutMs: o.closeTimeoutMs ?? DEFAULTS.closeTimeoutMs,
      allowUnsafeAdapters: o.allowUnsafeAdapters ?? false,
      transport: o.transport ?? DEFAULTS.transport,
      logger: o.logger ?? consoleLogger,
      plugins: o.plugins ?? [],
    },
  };
}

/** Validate or throw invalid_config naming every problem. */
export function resolvePoolOptions(input: unknown): ResolvedPoolOptions {
  const { options, issues } = checkPoolOptions(input);
  if (!options) throw invalidConfigError("pool options", issues);
  return options;
}
