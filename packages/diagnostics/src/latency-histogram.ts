/**
 * A latency histogram on Node's built-in HDR histogram (`node:perf_hooks`
 * `createHistogram`), recording microseconds, with an exact running sum.
 */
import { createHistogram, type RecordableHistogram } from "node:perf_hooks";

/** What a histogram reports, in milliseconds. All zero while empty. */
export interface HistogramSummary {
  readonly count: number;
  readonly sumMs: number;
  readonly minMs: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export const EMPTY_SUMMARY: HistogramSummary = { count: 0, sumMs: 0, minMs: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 };

export class LatencyHistogram {
  private readonly histogram: RecordableHistogram = createHistogram();
  private sumMs = 0;
  private n = 0;

  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    // The HDR histogram takes integers >= 1: record microseconds.
    this.histogram.record(Math.max(1, Math.round(ms * 1000)));
    this.sumMs += ms;
    this.n++;
  }

  get count(): number {
    return this.n;
  }

  summary(): HistogramSummary {
    if (this.n === 0) return EMPTY_SUMMARY;
    const ms = (us: number) => us / 1000;
    const h = this.histogram;
    return {
      count: this.n,
      sumMs: this.sumMs,
      minMs: ms(h.min),
      meanMs: this.sumMs / this.n,
      p50Ms: ms(h.percentile(50)),
      p90Ms: ms(h.percentile(90)),
      p95Ms: ms(h.percentile(95)),
      p99Ms: ms(h.percentile(99)),
      maxMs: ms(h.max),
    };
  }
}
