/**
 * `recommend()`: rules over a snapshot, each finding with what to change and why.
 * The thread-profile rules use @snakepit/compat's thread-safety matrix when that
 * optional package is installed.
 */
import { loadCompat, type CompatModule } from "./compat-loader.js";
import type { DiagnosticsSnapshot, PoolSnapshot } from "./snapshot.js";

export type RecommendationRule =
  | "degraded"
  | "crashing"
  | "saturated"
  | "mostly_idle"
  | "memory_growing"
  | "thread_unsafe_adapter"
  | "thread_profile_unsafe"
  | "thread_profile_advisable"
  | "compat_unavailable";

export type Severity = "info" | "warning" | "critical";

export interface Recommendation {
  readonly rule: RecommendationRule;
  readonly pool: string;
  readonly severity: Severity;
  /** What to change, in one sentence. */
  readonly message: string;
  /** The evidence, in plain words. */
  readonly reasons: readonly string[];
}

export interface RecommendThresholds {
  /** Finished calls needed before the wait-time rule judges. Default 20. */
  minSamples: number;
  /** Saturated when the p95 queue wait exceeds both this and the median run time. Default 50 ms. */
  saturatedWaitMs: number;
  /** Recording time needed before the idle rule judges. Default 30 000 ms. */
  minRecordingMs: number;
  /** Mostly idle below this share of capacity in use. Default 0.1. */
  idleUtilisation: number;
  /** Memory growth that counts: at least this many bytes... Default 64 MiB. */
  memoryGrowthBytes: number;
  /** ...and at least this fraction of the first sample. Default 0.25. */
  memoryGrowthRatio: number;
  /** Samples needed per worker for the memory rule. Default 3. */
  memorySamples: number;
  /** A process-profile worker this large makes the thread profile worth a look. Default 256 MiB. */
  largeWorkerBytes: number;
}

export const DEFAULT_THRESHOLDS: Readonly<RecommendThresholds> = {
  minSamples: 20,
  saturatedWaitMs: 50,
  minRecordingMs: 30_000,
  idleUtilisation: 0.1,
  memoryGrowthBytes: 64 * 1024 * 1024,
  memoryGrowthRatio: 0.25,
  memorySamples: 3,
  largeWorkerBytes: 256 * 1024 * 1024,
};

export interface RecommendOptions {
  /** The workers' interpreter: probed (compat's probePython) for its installed libraries and free-threading. */
  python?: string;
  /** The libraries your tools use (names, or versions by name); better than every installed one. */
  libraries?: readonly string[] | Readonly<Record<string, string | null>>;
  thresholds?: Partial<RecommendThresholds>;
}

const MiB = 1024 * 1024;
const mb = (bytes: number) => `${Math.round(bytes / MiB)} MB`;
const ms = (v: number) => `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`;

export async function recommend(snapshot: DiagnosticsSnapshot, options: RecommendOptions = {}): Promise<Recommendation[]> {
  const t: RecommendThresholds = { ...DEFAULT_THRESHOLDS, ...options.thresholds };
  const out: Recommendation[] = [];
  const needsCompat = snapshot.pools.some((p) => threadRelevant(p, t));
  const compat = needsCompat ? await loadCompat() : undefined;
  const probe = compat && options.python ? await compat.probePython(options.python).catch(() => undefined) : undefined;
  for (const pool of snapshot.pools) {
    out.push(...poolRules(pool, t));
    out.push(...threadRules(pool, t, compat, probe, options));
  }
  const order: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };
  return out.sort((a, b) => order[a.severity] - order[b.severity]);
}

function poolRules(p: PoolSnapshot, t: RecommendThresholds): Recommendation[] {
  const out: Recommendation[] = [];
  const at = (rule: RecommendationRule, severity: Severity, message: string, reasons: string[]) =>
    out.push({ rule, pool: p.name, severity, message, reasons });

  if (p.degraded) {
    at("degraded", "critical", `Pool ${p.name} is degraded and refuses calls: fix the cause (${p.degraded.reason}).`, [
      `degraded since ${p.degraded.since}: ${p.degraded.reason}`,
    ]);
  }

  if (p.crashes.total > 0) {
    const how = Object.entries(p.crashes.byReason).map(([r, n]) => `${r} ×${n}`);
    at("crashing", "warning", `Workers of ${p.name} died unexpectedly: read their stderr (worker output in the pool's logger) and fix the cause.`, [
      `${p.crashes.total} crash${p.crashes.total === 1 ? "" : "es"}${how.length ? ` (${how.join(", ")})` : ""}`,
      "a SIGKILL often means the kernel's OOM killer: recycle workers by memory (@snakepit/lifecycle) or give them more memory",
    ]);
  }

  // Saturated: calls queue now, were refused, or wait longer than they run.
  const perWorker = p.ready > 0 ? p.capacity / p.ready : 1;
  const refused = (p.failuresByCode["queue_full"] ?? 0) + (p.failuresByCode["queue_timeout"] ?? 0);
  const reasons: string[] = [];
  if (p.capacity > 0 && p.queueDepth >= p.capacity) reasons.push(`${p.queueDepth} calls queued for ${p.capacity} call slots`);
  if (refused > 0) reasons.push(`${refused} calls refused for want of a worker (queue_full/queue_timeout) since ${p.recordingSince}`);
  if (p.waitTime.count >= t.minSamples && p.waitTime.p95Ms > Math.max(t.saturatedWaitMs, p.runTime.p50Ms)) {
    reasons.push(`p95 queue wait ${ms(p.waitTime.p95Ms)} exceeds the median run time ${ms(p.runTime.p50Ms)} (${p.waitTime.count} calls)`);
  }
  if (reasons.length) {
    const extra = Math.max(1, Math.ceil(p.queueDepth / Math.max(1, perWorker)));
    const message =
      p.profile === "thread"
        ? `Pool ${p.name} is saturated: raise threadsPerWorker (now ${perWorker}) if calls wait on I/O, else add workers (size ${p.size} → ${p.size + extra}).`
        : `Pool ${p.name} is saturated: add workers (size ${p.size} → ${p.size + extra}), or raise maxQueue only if callers can wait.`;
    at("saturated", "warning", message, reasons);
  }

  // Mostly idle: little of the capacity used over the recording.
  if (p.recordingMs >= t.minRecordingMs && p.size > 1 && p.capacity > 0 && p.queueDepth === 0) {
    const utilisation = p.runTime.sumMs / (p.recordingMs * p.capacity);
    if (utilisation < t.idleUtilisation) {
      const target = Math.max(1, Math.ceil(p.size * (utilisation / 0.5)));
      at("mostly_idle", "info", `Pool ${p.name} is mostly idle: size ${p.size} → ${target} would still leave headroom.`, [
        `${(utilisation * 100).toFixed(1)}% of its call slots were in use over ${Math.round(p.recordingMs / 1000)} s (${p.runTime.count} calls)`,
        ...(p.memory ? [`each worker costs about ${mb(p.memory.rssBytes / Math.max(1, p.ready))} of memory`] : []),
      ]);
    }
  }

  // Memory growing: a worker's RSS rose steadily across inspections.
  for (const w of p.workers) {
    const h = w.memoryHistory;
    if (h.length < t.memorySamples) continue;
    const first = h[0]!;
    const last = h[h.length - 1]!;
    const growth = last.rssBytes - first.rssBytes;
    if (growth >= t.memoryGrowthBytes && growth >= first.rssBytes * t.memoryGrowthRatio) {
      at("memory_growing", "warning", `Worker ${w.id} keeps growing: recycle workers by memory (@snakepit/lifecycle) or find the leak.`, [
        `RSS ${mb(first.rssBytes)} → ${mb(last.rssBytes)} over ${Math.round((last.at - first.at) / 1000)} s (${h.length} samples, ${w.requestsServed} calls served)`,
      ]);
    }
  }
  return out;
}

function threadRelevant(p: PoolSnapshot, t: RecommendThresholds): boolean {
  return p.profile === "thread" || largeProcessPool(p, t) || (p.runtime?.freeThreaded === true && !p.runtime.gilEnabled);
}

function largeProcessPool(p: PoolSnapshot, t: RecommendThresholds): boolean {
  return p.profile === "process" && p.ready >= 2 && p.memory !== null && p.memory.rssBytes / p.ready >= t.largeWorkerBytes;
}

type Probe = Awaited<ReturnType<CompatModule["probePython"]>>;

function threadRules(
  p: PoolSnapshot,
  t: RecommendThresholds,
  compat: CompatModule | undefined,
  probe: Probe | undefined,
  options: RecommendOptions,
): Recommendation[] {
  const out: Recommendation[] = [];
  const at = (rule: RecommendationRule, severity: Severity, message: string, reasons: string[]) =>
    out.push({ rule, pool: p.name, severity, message, reasons });
  const rt = p.runtime;

  if (p.profile === "thread" && rt && !rt.adapterThreadSafe) {
    at("thread_unsafe_adapter", "critical", `Pool ${p.name} runs ${rt.adapter} on threads, but the adapter does not declare itself thread-safe: use the process profile, or make it thread-safe and subclass ThreadSafeAdapter.`, [
      "the pool was created with allowUnsafeAdapters: true",
    ]);
  }
  if (!threadRelevant(p, t)) return out;

  const libraries = options.libraries;
  const haveLibraries = probe !== undefined || libraries !== undefined;
  if (!compat) {
    at("compat_unavailable", "info", "Install @snakepit/compat to check whether the thread profile suits your libraries.", [
      "the thread-profile advice needs its thread-safety matrix",
    ]);
    return out;
  }
  const report = haveLibraries
    ? compat.checkCompatibility({
        profile: "thread",
        ...(probe ? { probe } : {}),
        ...(libraries ? { libraries: libraries as readonly string[] } : {}),
      })
    : undefined;
  const blocking = report?.warnings.filter((w) => w.code === "unsafe" || w.code === "below-min-version") ?? [];

  if (p.profile === "thread") {
    if (blocking.length) {
      at("thread_profile_unsafe", "critical", `Pool ${p.name} should use the process profile: libraries in use are not safe on threads.`, [
        ...blocking.map((w) => `${w.library}${w.installedVersion ? ` ${w.installedVersion}` : ""}: ${w.reason} Workaround: ${w.workaround}`),
        ...(libraries ? [] : ["(from every matrix library installed in that interpreter; pass `libraries` to check only the ones your tools use)"]),
      ]);
    }
    return out;
  }

  // A process-profile pool that could do with fewer processes.
  if (!rt?.adapterThreadSafe) return out;
  if (blocking.length) return out; // the process profile is right for these libraries
  const reasons: string[] = [];
  if (largeProcessPool(p, t) && p.memory) {
    reasons.push(`${p.ready} worker processes use ${mb(p.memory.rssBytes)} in all (${mb(p.memory.rssBytes / p.ready)} each); threads of one process share that memory`);
  }
  if (rt.freeThreaded && !rt.gilEnabled) reasons.push(`Python ${rt.pythonVersion} is free-threaded with the GIL off: threads run Python code in parallel`);
  reasons.push(`the adapter ${rt.adapter} declares itself thread-safe`);
  if (report) {
    reasons.push(
      report.warnings.length
        ? `compat: usable on threads with care: ${report.warnings.map((w) => `${w.library} (${w.code})`).join(", ")}`
        : "compat: no library in use is known to be unsafe on threads",
    );
  } else {
    reasons.push("pass the interpreter (python) or the libraries your tools use to check them against compat's matrix");
  }
  at("thread_profile_advisable", "info", `Pool ${p.name} could use the thread profile if its calls mostly wait on I/O or run in code that releases the GIL (measure with \`snakepit diagnose scaling\`).`, reasons);
  return out;
}
