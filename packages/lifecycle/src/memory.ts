/**
 * Memory of a Python worker, as its Health RPC reports it: PSS where the OS
 * gives it (Linux; shared pages are split between the processes sharing them,
 * so it is the fairest "what this process costs"), else RSS.
 */
export type MemoryMetric = "pss" | "rss";

export interface MemoryReading {
  readonly bytes: number;
  readonly metric: MemoryMetric;
}

export function memoryOf(health: { readonly pssBytes: number; readonly rssBytes: number }, prefer?: MemoryMetric): MemoryReading {
  if (prefer !== "rss" && health.pssBytes > 0) return { bytes: health.pssBytes, metric: "pss" };
  return { bytes: health.rssBytes, metric: "rss" };
}

export interface MemoryVerdict {
  /** The worker is over its limit and should be replaced. */
  readonly over: boolean;
  /** The total at which it would be (absolute mode: the limit; growth mode: baseline + limit). */
  readonly thresholdBytes: number;
  readonly growthBytes: number;
  /**
   * Absolute mode only: the worker was already over the limit just after start-up,
   * so a replacement would be too; replacing it would loop forever (Celery's trap).
   */
  readonly bornAboveLimit: boolean;
}

export function judgeMemory(reading: MemoryReading, baseline: MemoryReading, limitBytes: number, mode: "growth" | "absolute"): MemoryVerdict {
  const growthBytes = reading.bytes - baseline.bytes;
  if (mode === "growth") {
    const thresholdBytes = baseline.bytes + limitBytes;
    return { over: growthBytes >= limitBytes, thresholdBytes, growthBytes, bornAboveLimit: false };
  }
  const bornAboveLimit = baseline.bytes >= limitBytes;
  return { over: !bornAboveLimit && reading.bytes >= limitBytes, thresholdBytes: limitBytes, growthBytes, bornAboveLimit };
}
