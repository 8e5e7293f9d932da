/**
 * Why a compat operation failed.
 *
 * - `python_not_found`: the interpreter path could not be executed.
 * - `probe_failed`: the interpreter ran but did not report a usable probe result.
 * - `probe_timeout`: the interpreter did not answer within the time limit.
 */
export type CompatErrorCode = "python_not_found" | "probe_failed" | "probe_timeout";

/**
 * Error thrown by `@snakepit/compat`. Self-contained on purpose: compat has no
 * dependency on `@snakepit/core`, so callers branch on {@link CompatError.code}.
 */
export class CompatError extends Error {
  override readonly name = "CompatError";
  /** Machine-readable reason; stable across releases. */
  readonly code: CompatErrorCode;

  constructor(code: CompatErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}
