/**
 * Integration-test helpers: real Python workers from the project's venv, and a
 * way to wait for events. (A few are copied from core's test/helpers.ts.)
 */
import { readFileSync, readdirSync } from "node:fs";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { fileURLToPath } from "node:url";
import { createPool, silentLogger, type Logger, type Pool, type PoolOptions } from "@snakepit/core";

export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
export const venvPython = `${repoRoot}python/.venv/bin/python`;
export const fixturesPath = `${repoRoot}python/tests/fixtures`;
/** Marks the workers this test process starts, so leak checks see only its own. */
export const OWNER_VAR = "SNAKEPIT_TEST_OWNER";
export const OWNER = String(process.pid);
export const ECHO = "snakepit_fixtures.basic:EchoAdapter";
export const HANG = "snakepit_fixtures.hang:HangAdapter";
export const LEAK = "snakepit_fixtures.leak:LeakAdapter";
export const CRASH = "snakepit_fixtures.crash:CrashAdapter";
export const FLAKY = "snakepit_fixtures.flaky_setup:FlakySetupAdapter";
export const MiB = 1024 * 1024;

export function fixtureOptions(adapter: string, extra: Partial<PoolOptions> = {}): PoolOptions {
  const { python, ...rest } = extra;
  return {
    size: 1,
    logger: silentLogger,
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

/** A logger that keeps every line. */
export function recordingLogger(): Logger & { lines: Array<{ level: string; message: string }> } {
  const lines: Array<{ level: string; message: string }> = [];
  const rec = (level: string) => (message: string) => void lines.push({ level, message });
  return { lines, debug: rec("debug"), info: rec("info"), warn: rec("warn"), error: rec("error") };
}

/** Live (not zombie) snakepit_bridge processes started by this test process. */
export function liveWorkerPids(owner: string = OWNER): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (!cmd.includes("snakepit_bridge")) continue;
      const env = readFileSync(`/proc/${entry}/environ`, "utf8");
      if (!env.split("\0").includes(`${OWNER_VAR}=${owner}`)) continue;
      if (isAlive(Number(entry))) out.push(Number(entry));
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

/** Poll until `check` holds (for process state the OS changes on its own). */
export async function eventually(check: () => boolean, timeoutMs = 5_000, what = "condition"): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Record the messages of diagnostics channels for one pool, and wait for one
 * that matches. Dispose to unsubscribe.
 */
export class EventLog implements Disposable {
  readonly events: Array<{ channel: string; message: Record<string, unknown>; at: number }> = [];
  private waiters: Array<{ channel: string; match: (m: Record<string, unknown>) => boolean; resolve: (m: Record<string, unknown>) => void }> = [];
  private readonly listeners: Array<[string, (m: unknown) => void]> = [];
  pool: Pool | undefined;

  constructor(channels: readonly string[]) {
    for (const channel of channels) {
      const listener = (m: unknown) => {
        const message = m as Record<string, unknown>;
        // Only the pool under test, from when it is set (creation's own events are not wanted).
        if (!this.pool || message["pool"] !== this.pool) return;
        this.events.push({ channel, message, at: performance.now() });
        for (const w of [...this.waiters]) {
          if (w.channel === channel && w.match(message)) {
            this.waiters = this.waiters.filter((x) => x !== w);
            w.resolve(message);
          }
        }
      };
      subscribe(channel, listener);
      this.listeners.push([channel, listener]);
    }
  }

  of(channel: string): Array<Record<string, unknown>> {
    return this.events.filter((e) => e.channel === channel).map((e) => e.message);
  }

  /** The next message on `channel` that matches (or one already seen, when `seen` is true). */
  next<T = Record<string, unknown>>(channel: string, match: (m: Record<string, unknown>) => boolean = () => true, timeoutMs = 15_000, seen = false): Promise<T> {
    if (seen) {
      const hit = this.of(channel).find(match);
      if (hit) return Promise.resolve(hit as T);
    }
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${channel} event within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        channel,
        match,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as T);
        },
      });
    });
  }

  [Symbol.dispose](): void {
    for (const [channel, listener] of this.listeners) unsubscribe(channel, listener);
  }
}
