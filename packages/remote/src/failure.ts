/**
 * Reading a channel failure: did the host go away (refused, reset, unreachable),
 * is it draining, or did it refuse our token?
 */
import { ChannelFailure } from "@snakepit/core/profile";

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ENETDOWN",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENOTFOUND",
  "UND_ERR_SOCKET",
  "ERR_STREAM_PREMATURE_CLOSE",
]);

/** The system error code somewhere in an error's cause chain ("ECONNREFUSED", ...), if any. */
export function networkErrorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && NETWORK_CODES.has(code)) return code;
    const message = (e as { message?: unknown }).message;
    if (typeof message === "string" && /socket hang up/i.test(message)) return "ECONNRESET";
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** A TLS failure (certificate not trusted, wrong name, client certificate refused) in the cause chain. */
export function tlsErrorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /CERT|SSL|TLS|UNABLE_TO_|SIGNATURE|ERR_TLS/.test(code)) return code;
    const message = (e as { message?: unknown }).message;
    if (typeof message === "string" && /SSL alert|certificate (required|unknown|expired|revoked)|bad certificate/i.test(message)) return "ERR_SSL_ALERT";
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export type FailureClass = "lost" | "draining" | "token" | "tls" | "other";

/** What a failed call or check says about the host it was sent to. */
export function classify(err: unknown): FailureClass {
  if (!(err instanceof ChannelFailure)) return "other";
  if (err.kind === "protocol" && /refused the token/.test(err.message)) return "token";
  if (tlsErrorCode(err) !== undefined) return "tls";
  if (err.kind !== "unavailable") return "other";
  if (networkErrorCode(err) !== undefined) return "lost";
  if (/drain/i.test(err.message)) return "draining";
  // Unavailable for any other reason: the host cannot serve us.
  return "lost";
}

/** A short, log-safe description of why a host failed (never headers, so never the token). */
export function describeFailure(err: unknown): string {
  const code = networkErrorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  const short = message.length > 200 ? `${message.slice(0, 200)}...` : message;
  return code && !short.includes(code) ? `${code}: ${short}` : short;
}
