/**
 * A call's options, checked before anything is claimed: a bad one must not cost
 * capacity, and its error names the option and what to pass instead.
 */
import { SnakepitError } from "./errors.js";
import type { CallOptions } from "./pool-types.js";

/** Latest deadline a call may have: the last moment a JS Date can hold. */
const MAX_DATE_MS = 8.64e15;

/**
 * Check a call's options before anything is claimed; returns its timeoutMs
 * (undefined for the pool's default). Throws invalid_argument naming the option.
 */
export function checkCallOptions(options: CallOptions, tool: string, pool: string): number | undefined {
  const bad = (message: string) => new SnakepitError("invalid_argument", `call ${tool}: ${message}`, { pool, tool });
  if (typeof options !== "object" || options === null) throw bad("the call options must be an object ({ timeoutMs, signal, sessionId, idempotent })");
  const { signal, timeoutMs, sessionId, idempotent } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw bad("options.signal must be an AbortSignal (for example new AbortController().signal, or AbortSignal.timeout(ms))");
  }
  if (sessionId !== undefined && (typeof sessionId !== "string" || sessionId === "")) {
    throw bad(`options.sessionId must be a non-empty string, not ${describeValue(sessionId)}; convert ids with String(id) yourself`);
  }
  if (idempotent !== undefined && typeof idempotent !== "boolean") throw bad("options.idempotent must be a boolean");
  if (timeoutMs === undefined) return undefined;
  if (typeof timeoutMs !== "number" || !(timeoutMs > 0)) {
    throw bad(`options.timeoutMs must be a positive number of milliseconds (Infinity for no deadline), not ${describeValue(timeoutMs)}`);
  }
  if (timeoutMs !== Infinity && Date.now() + timeoutMs > MAX_DATE_MS) {
    throw bad(`options.timeoutMs ${timeoutMs} puts the deadline past the last date JavaScript can represent; pass Infinity for no deadline`);
  }
  return timeoutMs;
}

function describeValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "symbol") return "a symbol";
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint" || v === undefined || v === null) return `${typeof v} ${String(v)}`;
  return typeof v === "function" ? "a function" : "an object";
}
