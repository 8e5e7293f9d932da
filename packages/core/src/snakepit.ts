/**
 * Several named pools under one roof, each with its own profile and options,
 * validated together (every problem in every pool reported at once) and closed
 * together.
 */
import { SnakepitError, type ConfigIssue } from "./errors.js";
import { checkPoolOptions, type PoolOptions, type ResolvedPoolOptions } from "./options.js";
import { invalidConfigError } from "./config-issues.js";
import { closeMatches } from "./did-you-mean.js";
import { PoolImpl } from "./pool.js";
import type { CloseOptions, Pool, PoolStats } from "./pool-types.js";

export interface SnakepitOptions {
  /** Pools by name; each entry takes the options of createPool (its name is the key). */
  pools: Record<string, Omit<PoolOptions, "name">>;
}

export interface Snakepit extends AsyncDisposable {
  /** The pool with that name; unknown_pool if there is none. */
  pool(name: string): Pool;
  /** Every pool, by name. */
  pools(): ReadonlyMap<string, Pool>;
  stats(): Record<string, PoolStats>;
  close(options?: CloseOptions): Promise<void>;
  destroy(): Promise<void>;
}

export function createSnakepit(options: SnakepitOptions): Promise<Snakepit> {
  const issues: ConfigIssue[] = [];
  const resolved: ResolvedPoolOptions[] = [];
  if (typeof options !== "object" || options === null) {
    issues.push({ path: "(root)", message: "options must be an object with a `pools` entry" });
  } else {
    for (const key of Object.keys(options)) {
      if (key !== "pools") issues.push({ path: key, message: `unknown option '${key}' (the only key is 'pools')` });
    }
    const pools = (options as Partial<SnakepitOptions>).pools;
    if (typeof pools !== "object" || pools === null || Array.isArray(pools) || Object.keys(pools).length === 0) {
      issues.push({ path: "pools", message: "pools must be an object with at least one named pool, e.g. { pools: { default: {...} } }" });
    } else {
      for (const [name, poolOptions] of Object.entries(pools)) {
        const prefix = `pools.${name}`;
        if (typeof poolOptions === "object" && poolOptions !== null && "name" in poolOptions && (poolOptions as PoolOptions).name !== name) {
          issues.push({ path: `${prefix}.name`, message: `the pool's name is its key ('${name}'); remove name or make it match` });
          continue;
        }
        const checked = checkPoolOptions({ ...(poolOptions as object), name }, prefix);
        issues.push(...checked.issues);
        if (checked.options) resolved.push(checked.options);
      }
    }
  }
  if (issues.length) throw invalidConfigError("snakepit options", issues);
  return startAll(resolved);
}

async function startAll(all: ResolvedPoolOptions[]): Promise<Snakepit> {
  const pools = new Map<string, PoolImpl>(all.map((o) => [o.name, new PoolImpl(o)]));
  const results = await Promise.allSettled([...pools.values()].map((p) => p.start()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    await Promise.all([...pools.values()].map((p) => p.destroy()));
    throw failed.reason;
  }
  let closing: Promise<void> | undefined;
  const snakepit: Snakepit = {
    pool(name) {
      const p = pools.get(name);
      if (!p) {
        const hint = closeMatches(name, pools.keys());
        throw new SnakepitError(
          "unknown_pool",
          `no pool named '${name}'${hint.length ? ` (did you mean '${hint[0]}'?)` : ""}; pools: ${[...pools.keys()].join(", ")}`,
          { pool: name, suggestions: hint },
        );
      }
      return p;
    },
    pools: () => pools,
    stats: () => Object.fromEntries([...pools].map(([n, p]) => [n, p.stats()])),
    close(o) {
      closing ??= Promise.all([...pools.values()].map((p) => p.close(o))).then(() => {});
      return closing;
    },
    async destroy() {
      await Promise.all([...pools.values()].map((p) => p.destroy()));
    },
    async [Symbol.asyncDispose]() {
      await snakepit.close();
    },
  };
  return snakepit;
}
