import { ERROR_CODES } from "./gen/error-codes.js";

/**
 * Every failure Snakepit reports is a SnakepitError with a code from this closed
 * set. The set is generated from proto/snakepit/worker/v1/error_codes.json, which
 * the Python worker and docs/errors.md (when each happens, what to do) share.
 */
export type SnakepitErrorCode = (typeof ERROR_CODES)[number];

export const SNAKEPIT_ERROR_CODES: readonly SnakepitErrorCode[] = ERROR_CODES;

/** One problem found in a configuration; invalid_config errors carry all of them. */
export interface ConfigIssue {
  /** Where the problem is, e.g. "pools.api.size". */
  readonly path: string;
  readonly message: string;
}

export interface SnakepitErrorDetails {
  cause?: unknown;
  /** python_error / worker_start_failed: the Python exception's type, e.g. "ValueError". */
  pythonType?: string;
  /** python_error / worker_start_failed: the formatted Python traceback. */
  traceback?: string;
  /** worker_crashed / worker_start_failed: how the worker process ended. */
  exitCode?: number | null;
  signal?: string | null;
  /** worker_crashed / worker_start_failed: the last lines the worker wrote to stderr. */
  stderrTail?: readonly string[];
  workerId?: string;
  pool?: string;
  tool?: string;
  callId?: string;
  /** invalid_config, and invalid_argument from a typed client that validates: every problem found, not just the first. */
  issues?: readonly ConfigIssue[];
  /** unknown_tool: tools whose names are close to the one asked for. */
  suggestions?: readonly string[];
}

const BRAND = Symbol.for("snakepit.SnakepitError");

export class SnakepitError extends Error {
  override readonly name = "SnakepitError";
  readonly code: SnakepitErrorCode;
  readonly pythonType: string | undefined;
  readonly traceback: string | undefined;
  readonly exitCode: number | null | undefined;
  readonly signal: string | null | undefined;
  readonly stderrTail: readonly string[] | undefined;
  readonly workerId: string | undefined;
  readonly pool: string | undefined;
  readonly tool: string | undefined;
  readonly callId: string | undefined;
  readonly issues: readonly ConfigIssue[] | undefined;
  readonly suggestions: readonly string[] | undefined;

  constructor(code: SnakepitErrorCode, message: string, details: SnakepitErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.pythonType = details.pythonType;
    this.traceback = details.traceback;
    this.exitCode = details.exitCode;
    this.signal = details.signal;
    this.stderrTail = details.stderrTail;
    this.workerId = details.workerId;
    this.pool = details.pool;
    this.tool = details.tool;
    this.callId = details.callId;
    this.issues = details.issues;
    this.suggestions = details.suggestions;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** True for any SnakepitError, even one created by another copy of this package. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  /** Normalise anything thrown into a SnakepitError (code "internal" unless it already is one). */
  static from(value: unknown, fallback: SnakepitErrorCode = "internal"): SnakepitError {
    if (value instanceof SnakepitError) return value;
    if (value instanceof Error) return new SnakepitError(fallback, value.message, { cause: value });
    return new SnakepitError(fallback, String(value), { cause: value });
  }
}

export function isSnakepitError(value: unknown, code?: SnakepitErrorCode): value is SnakepitError {
  return value instanceof SnakepitError && (code === undefined || value.code === code);
}
