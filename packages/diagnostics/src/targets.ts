/** What the diagnostics functions accept: a pool, a Snakepit, or several of them. */
import type { Pool, Snakepit } from "@snakepit/core";

export type DiagnosticsTarget = Pool | Snakepit | Iterable<Pool | Snakepit>;

/** The pools of a target, each once. */
export function poolsOf(target: DiagnosticsTarget): Pool[] {
  const out = new Set<Pool>();
  const add = (t: Pool | Snakepit) => {
    if (isSnakepit(t)) for (const p of t.pools().values()) out.add(p);
    else out.add(t);
  };
  if (isPool(target) || isSnakepit(target)) add(target);
  else for (const t of target) add(t);
  return [...out];
}

function isSnakepit(t: unknown): t is Snakepit {
  return typeof (t as Partial<Snakepit>).pools === "function" && typeof (t as Partial<Snakepit>).pool === "function";
}

function isPool(t: unknown): t is Pool {
  return typeof (t as Partial<Pool>).stats === "function" && typeof (t as Partial<Pool>).execute === "function";
}
