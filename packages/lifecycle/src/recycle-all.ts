/**
 * A rolling restart: replace every worker, one at a time, each replacement ready
 * (and the old worker stopped) before the next begins, so the pool never runs
 * short. Works with or without the lifecycle plugin; with it, its drainTimeoutMs
 * applies and the recycled events carry each worker's memory.
 */
import type { Pool } from "@snakepit/core";
import { attached } from "./registry.js";
import { inTurn, replaceWorker } from "./rolling.js";

export interface RecycleAllOptions {
  /** The reason in each recycled event. Default "manual". */
  reason?: string;
  /** How long each old worker may take to finish its running calls. Default: lifecycle's drainTimeoutMs, else the pool's closeTimeoutMs. */
  drainTimeoutMs?: number;
}

export interface RecycleAllResult {
  /** Workers replaced (workers that were already being replaced, or gone, are skipped). */
  readonly recycled: number;
}

/**
 * Rejects with worker_start_failed (and stops) at the first replacement that
 * cannot start, so a broken deploy does not take the remaining workers down.
 */
export async function recycleAll(pool: Pool, options: RecycleAllOptions = {}): Promise<RecycleAllResult> {
  const reason = options.reason ?? "manual";
  const ids = pool.stats().perWorker.filter((w) => w.state === "ready").map((w) => w.id);
  let recycled = 0;
  for (const id of ids) {
    await inTurn(pool, async () => {
      if (pool.state() !== "ready") return;
      const w = pool.stats().perWorker.find((x) => x.id === id);
      if (!w || w.state !== "ready") return;
      const base = attached.get(pool)?.recycleOptions(id, reason) ?? { reason };
      await replaceWorker(pool, id, {
        ...base,
        drain: "when-replaced",
        ...(options.drainTimeoutMs !== undefined ? { drainTimeoutMs: options.drainTimeoutMs } : {}),
      });
      recycled++;
    });
  }
  return { recycled };
}
