/** Shared set-up for integration tests: real Python workers from the project's venv. */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createPool, silentLogger, SNAKEPIT_EVENTS, type Logger, type Pool, type PoolOptions, type TransportName } from "@snakepit/core";

export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
/** The interpreter the workers run: the project's venv, or SNAKEPIT_TEST_PYTHON (CI: python/.venv-ft). */
export const venvPython = process.env["SNAKEPIT_TEST_PYTHON"] || `${repoRoot}python/.venv/bin/python`;
export const fixturesPath = `${repoRoot}python/tests/fixtures`;
/** Marks the workers this test process starts, so leak checks see only its own. */
export const OWNER_VAR = "SNAKEPIT_TEST_OWNER";
export const OWNER = String(process.pid);
export const SHOWCASE = "snakepit_bridge.adapters.showcase:ShowcaseAdapter";

/**
 * The transport the integration suite runs against: the whole suite runs once
 * per transport (SNAKEPIT_TEST_TRANSPORT=local|connect), both must pass.
 */
export const TEST_TRANSPORT: TransportName = process.env["SNAKEPIT_TEST_TRANSPORT"] === "connect" ? "connect" : "local";

/** Pool options for a fixture adapter, quiet by default. */
export function fixtureOptions(adapter: string, extra: Partial<PoolOptions> = {}): PoolOptions {
  const { python, ...rest } = extra;
  return {
    size: 1,
    logger: silentLogger,
    transport: TEST_TRANSPORT,
    ...rest,
    python: {
      executable: venvPython,
      adapter,
      ...python,
      env: { PYTHONPATH: fixturesPath, [OWNER_VAR]: OWNER, ...(python?.env ?? {}) },
    },
  };
}

export function fixturePool(adapter: string, extra: Partial<PoolOptions> = {}): Promise<Pool> {
  return createPool(fixtureOptions(adapter, extra));
}

/** A logger that keeps every line, for tests that look at worker output. */
export function recordingLogger(): Logger & { lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> } {
  const lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
  const rec = (level: string) => (message: string, fields?: Record<string, unknown>) => void lines.push({ level, message, ...(fields ? { fields } : {}) });
  return { lines, debug: rec("debug"), info: rec("info"), warn: rec("warn"), error: rec("error") };
}

/** Live (not zombie) snakepit_bridge processes started by this test process (or `owner`). */
export function liveWorkerPids(owner: string = OWNER): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (!cmd.includes("snakepit_bridge")) continue;
      const env = readFileSync(`/proc/${entry}/environ`, "utf8");
      if (!env.split("\0").includes(`${OWNER_VAR}=${owner}`)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      if (state !== "Z" && state !== "X") out.push(Number(entry));
    } catch {
      /* exited while we looked */
    }
  }
  return out;
}

export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Poll until `check` holds or `timeoutMs` passes (for process state the OS changes on its own). */
export async function eventually(check: () => boolean, timeoutMs = 5_000, what = "condition"): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function rejectionOf(p: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await p;
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  throw new Error("expected the promise to reject");
}

/** Resolves when `count` matching events were published (subscribe before triggering). */
export function nextEvents<T>(event: keyof typeof SNAKEPIT_EVENTS, count = 1, filter: (m: T) => boolean = () => true): Promise<T[]> {
  const name = SNAKEPIT_EVENTS[event];
  const seen: T[] = [];
  return new Promise((resolve) => {
    const listener = (m: unknown) => {
      if (!filter(m as T)) return;
      seen.push(m as T);
      if (seen.length === count) {
        unsubscribe(name, listener);
        resolve(seen);
      }
    };
    subscribe(name, listener);
  });
}
