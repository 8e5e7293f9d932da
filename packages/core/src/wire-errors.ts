/** Turn what a worker reported into SnakepitErrors. */
import { SNAKEPIT_ERROR_CODES, SnakepitError, type SnakepitErrorCode } from "./errors.js";
import type { ToolError } from "./gen/snakepit/worker/v1/worker_pb.js";

const known = new Set<string>(SNAKEPIT_ERROR_CODES);

export function fromToolError(e: ToolError, context: { tool: string; callId: string; workerId: string; pool: string }): SnakepitError {
  const code: SnakepitErrorCode = known.has(e.code) ? (e.code as SnakepitErrorCode) : "internal";
  let suggestions: string[] | undefined;
  if (e.detailsJson.byteLength) {
    try {
      const d = JSON.parse(Buffer.from(e.detailsJson).toString("utf8")) as { suggestions?: unknown };
      if (Array.isArray(d.suggestions)) suggestions = d.suggestions.map(String);
    } catch {
      /* details are optional */
    }
  }
  const message = code === "python_error" && e.pythonType ? `${e.pythonType}: ${e.message}` : e.message;
  return new SnakepitError(code, message, {
    ...context,
    ...(e.pythonType ? { pythonType: e.pythonType } : {}),
    ...(e.traceback ? { traceback: e.traceback } : {}),
    ...(suggestions ? { suggestions } : {}),
  });
}
