/**
 * `diagnoseScaling()`: measures the throughput and latency of one real tool call
 * at several pool shapes (process 1/2/4, thread 1×4/1×8 by default), each for a
 * fixed time with every call slot kept busy, and names the shape to use.
 */
import { createPool, silentLogger, type Pool, type ProfileName } from "@snakepit/core";
import { LatencyHistogram, type HistogramSummary } from "./latency-histogram.js";

export interface ScalingConfig {
  readonly profile: ProfileName;
  readonly size: number;
  /** Thread profile only. */
  readonly threadsPerWorker?: number;
}

export const DEFAULT_SCALING_CONFIGS: readonly ScalingConfig[] = [
  { profile: "process", size: 1 },
  { profile: "process", size: 2 },
  { profile: "process", size: 4 },
  { profile: "thread", size: 1, threadsPerWorker: 4 },
  { profile: "thread", size: 1, threadsPerWorker: 8 },
];

export interface ScalingOptions {
  adapter: string;
  tool: string;
  args?: Record<string, unknown>;
  /** The interpreter (default as the pool resolves it). */
  python?: string;
  cwd?: string;
  env?: Record<string, string>;
  configs?: readonly ScalingConfig[];
  /** Measuring time per configuration (after start-up and a warm-up round). Default 1500 ms. */
  durationMs?: number;
  /** Deadline of each call. Default 30 000 ms. */
  callTimeoutMs?: number;
  /** Run thread configurations even when the adapter is not declared thread-safe. Default false. */
  allowUnsafeAdapters?: boolean;
  onProgress?: (progress: ScalingProgress) => void;
}

export interface ScalingProgress {
  readonly index: number;
  readonly total: number;
  readonly label: string;
  readonly phase: "starting" | "measuring" | "done" | "skipped";
  /** 0..1 within this configuration. */
  readonly fraction: number;
}

export interface ScalingResult {
  readonly label: string;
  readonly profile: ProfileName;
  readonly size: number;
  readonly threadsPerWorker: number;
  /** Calls kept in flight: every call slot of the pool. */
  readonly concurrency: number;
  readonly calls: number;
  readonly errors: number;
  readonly callsPerSecond: number;
  readonly latency: HistogramSummary;
  /** Memory of the worker processes after the run (RSS, all workers). */
  readonly rssBytes: number;
  readonly startMs: number;
  /** Why it was not measured. */
  readonly skipped?: string;
  readonly firstError?: string;
}

export interface ScalingReport {
  readonly adapter: string;
  readonly tool: string;
  readonly durationMs: number;
  readonly results: readonly ScalingResult[];
  readonly recommended: ScalingResult | undefined;
  readonly reasons: readonly string[];
}

/** Within this fraction of the best throughput, fewer processes (then fewer slots) win. */
export const SCALING_TOLERANCE = 0.1;

export function configLabel(c: ScalingConfig): string {
  return c.profile === "thread" ? `thread ${c.size}x${c.threadsPerWorker ?? 4}` : `${c.profile} ${c.size}`;
}

export async function diagnoseScaling(options: ScalingOptions): Promise<ScalingReport> {
  const configs = options.configs ?? DEFAULT_SCALING_CONFIGS;
  const durationMs = options.durationMs ?? 1_500;
  const results: ScalingResult[] = [];
  let threadSafe: boolean | undefined;
  for (const [index, config] of configs.entries()) {
    const label = configLabel(config);
    const progress = (phase: ScalingProgress["phase"], fraction: number) =>
      options.onProgress?.({ index, total: configs.length, label, phase, fraction });
    if (config.profile === "thread" && threadSafe === false && !options.allowUnsafeAdapters) {
      results.push(skipped(config, label, "the adapter is not declared thread-safe (subclass ThreadSafeAdapter to measure threads)"));
      progress("skipped", 1);
      continue;
    }
    progress("starting", 0);
    const result = await measure(config, label, options, durationMs, (f) => progress("measuring", f), (safe) => {
      threadSafe = safe;
    });
    results.push(result);
    progress("done", 1);
  }
  const { recommended, reasons } = choose(results);
  return { adapter: options.adapter, tool: options.tool, durationMs, results, recommended, reasons };
}

function skipped(config: ScalingConfig, label: string, why: string): ScalingResult {
  return {
    label,
    profile: config.profile,
    size: config.size,
    threadsPerWorker: config.threadsPerWorker ?? 1,
    concurrency: 0,
    calls: 0,
    errors: 0,
    callsPerSecond: 0,
    latency: new LatencyHistogram().summary(),
    rssBytes: 0,
    startMs: 0,
    skipped: why,
  };
}

async function measure(
  config: ScalingConfig,
  label: string,
  options: ScalingOptions,
  durationMs: number,
  onFraction: (f: number) => void,
  onThreadSafe: (safe: boolean) => void,
): Promise<ScalingResult> {
  const started = performance.now();
  const threads = config.profile === "thread" ? (config.threadsPerWorker ?? 4) : 1;
  const pool: Pool = await createPool({
    profile: config.profile,
    size: config.size,
    ...(config.profile === "thread" ? { threadsPerWorker: threads } : {}),
    ...(options.allowUnsafeAdapters ? { allowUnsafeAdapters: true } : {}),
    logger: silentLogger,
    python: {
      adapter: options.adapter,
      ...(options.python !== undefined ? { executable: options.python } : {}),
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
      ...(options.env !== undefined ? { env: options.env } : {}),
    },
  });
  try {
    const startMs = performance.now() - started;
    onThreadSafe((await pool.describe()).worker.adapterThreadSafe);
    const concurrency = pool.stats().capacity;
    const call = () => pool.execute(options.tool, options.args ?? {}, { timeoutMs: options.callTimeoutMs ?? 30_000 });
    // Warm-up: one call per slot; a tool that fails here (wrong name, bad args) stops the diagnosis.
    await Promise.all(Array.from({ length: concurrency }, call));
    const latency = new LatencyHistogram();
    let calls = 0;
    let errors = 0;
    let firstError: string | undefined;
    const t0 = performance.now();
    const end = t0 + durationMs;
    const ticker = setInterval(() => onFraction(Math.min(1, (performance.now() - t0) / durationMs)), 100);
    try {
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (performance.now() < end) {
            const c0 = performance.now();
            try {
              await call();
              latency.record(performance.now() - c0);
              calls++;
            } catch (err) {
              errors++;
              firstError ??= err instanceof Error ? err.message : String(err);
            }
          }
        }),
      );
    } finally {
      clearInterval(ticker);
    }
    const elapsed = performance.now() - t0;
    const health = await pool.health().catch(() => []);
    return {
      label,
      profile: config.profile,
      size: config.size,
      threadsPerWorker: threads,
      concurrency,
      calls,
      errors,
      callsPerSecond: calls / (elapsed / 1000),
      latency: latency.summary(),
      rssBytes: health.reduce((n, h) => n + h.rssBytes, 0),
      startMs,
      ...(firstError !== undefined ? { firstError } : {}),
    };
  } finally {
    await pool.close();
  }
}

/** The best throughput; within SCALING_TOLERANCE of it, fewer processes, then fewer slots. */
export function choose(results: readonly ScalingResult[]): { recommended: ScalingResult | undefined; reasons: string[] } {
  const measured = results.filter((r) => r.skipped === undefined && r.calls > 0);
  if (!measured.length) return { recommended: undefined, reasons: ["no configuration completed a call"] };
  const best = measured.reduce((a, b) => (b.callsPerSecond > a.callsPerSecond ? b : a));
  const near = measured.filter((r) => r.callsPerSecond >= best.callsPerSecond * (1 - SCALING_TOLERANCE));
  const pick = near.reduce((a, b) => (b.size < a.size || (b.size === a.size && b.concurrency < a.concurrency) ? b : a));
  const reasons = [`${best.label} had the highest throughput: ${Math.round(best.callsPerSecond)} calls/s`];
  if (pick !== best) {
    reasons.push(
      `${pick.label} is within ${SCALING_TOLERANCE * 100}% of it (${Math.round(pick.callsPerSecond)} calls/s) with ${
        pick.size < best.size ? "fewer processes" : "fewer call slots"
      }${pick.rssBytes && best.rssBytes ? ` (${Math.round(pick.rssBytes / 2 ** 20)} MB vs ${Math.round(best.rssBytes / 2 ** 20)} MB)` : ""}`,
    );
  }
  const process1 = measured.find((r) => r.profile === "process" && r.size === 1);
  if (process1 && pick !== process1) reasons.push(`${(pick.callsPerSecond / process1.callsPerSecond).toFixed(1)}x the throughput of a single process`);
  return { recommended: pick, reasons };
}
