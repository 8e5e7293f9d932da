/**
 * Integration-test helpers: real Python workers from the project's venv, and a
 * way to wait for events. The shared ones come from core's test/helpers.ts.
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { Pool } from "@snakepit/core";

export {
  eventually,
  fixtureOptions,
  fixturePool,
  fixturesPath,
  isAlive,
  liveWorkerPids,
  OWNER,
  OWNER_VAR,
  recordingLogger,
  repoRoot,
  venvPython,
} from "../../core/test/helpers.js";

export const ECHO = "snakepit_fixtures.basic:EchoAdapter";
export const HANG = "snakepit_fixtures.hang:HangAdapter";
export const LEAK = "snakepit_fixtures.leak:LeakAdapter";
export const CRASH = "snakepit_fixtures.crash:CrashAdapter";
export const FLAKY = "snakepit_fixtures.flaky_setup:FlakySetupAdapter";
export const MiB = 1024 * 1024;

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
