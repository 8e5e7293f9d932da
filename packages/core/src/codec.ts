/**
 * JSON plus binary attachments: the value format on the wire (see worker.proto).
 *
 * Encoding is strict: anything JSON would silently change or drop (NaN, a Date,
 * a Map, a function, undefined in an array, a BigInt, a cycle) is rejected with
 * the path to the offending value, before anything is sent.
 */
import { SnakepitError } from "./errors.js";

export const BYTES_TAG = "$snakepit:bytes";
export const BIGINT_TAG = "$snakepit:bigint";

export interface EncodedValue {
  readonly json: Uint8Array;
  readonly attachments: Uint8Array[];
  /** json plus attachments, in bytes. */
  readonly size: number;
}

/** Why a value cannot be encoded, or undefined when it can. */
function rejectReason(value: unknown, inArray: boolean): string | undefined {
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined;
    case "number":
      return Number.isFinite(value) ? undefined : `${value} is not representable in JSON (use null or a string)`;
    case "bigint":
      return "BigInt is not supported (pass a number, or a decimal string)";
    case "function":
      return "a function cannot be sent to Python";
    case "symbol":
      return "a symbol cannot be sent to Python";
    case "undefined":
      return inArray ? "undefined in an array would become null (use null explicitly)" : undefined;
    case "object": {
      if (value === null || value instanceof Uint8Array || Array.isArray(value)) return undefined;
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        const name = (value as { constructor?: { name?: string } }).constructor?.name ?? "object";
        if (value instanceof Date) return "Date is not supported (pass date.toISOString() or a timestamp)";
        if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer)
          return `${name} is not supported (wrap binary data in a Uint8Array)`;
        if (value instanceof Map) return "Map is not supported (pass Object.fromEntries(map))";
        if (value instanceof Set) return "Set is not supported (pass an array)";
        return `${name} instances are not supported (pass a plain object)`;
      }
      if (Object.hasOwn(value, BYTES_TAG) || Object.hasOwn(value, BIGINT_TAG))
        return `the keys "${BYTES_TAG}" and "${BIGINT_TAG}" are reserved`;
      return undefined;
    }
  }
}

/** Slow path, only after the fast one failed: find the first bad value and its path. */
function findProblem(value: unknown, path: string, inArray: boolean, ancestors: Set<object>): string | undefined {
  const reason = rejectReason(value, inArray);
  if (reason !== undefined) return `${path}: ${reason}`;
  if (typeof value !== "object" || value === null || value instanceof Uint8Array) return undefined;
  if (ancestors.has(value)) return `${path}: circular reference (the value contains itself)`;
  ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const p = findProblem(value[i], `${path}[${i}]`, true, ancestors);
        if (p !== undefined) return p;
      }
    } else {
      for (const key of Object.keys(value)) {
        const p = findProblem((value as Record<string, unknown>)[key], `${path}.${key}`, false, ancestors);
        if (p !== undefined) return p;
      }
    }
  } finally {
    ancestors.delete(value);
  }
  return undefined;
}

class EncodeFailure extends Error {}

/**
 * Encode `value` for the wire. `label` names it in error messages ("args").
 * Throws SnakepitError `invalid_argument` or `payload_too_large`.
 */
export function encodeValue(value: unknown, label: string, maxBytes: number): EncodedValue {
  const attachments: Uint8Array[] = [];
  let text: string | undefined;
  try {
    text = JSON.stringify(value, function (this: Record<string, unknown>, key: string) {
      // `this[key]` is the value before toJSON(), so a Date or Buffer is seen as itself.
      const raw = this[key];
      if (rejectReason(raw, Array.isArray(this)) !== undefined) throw new EncodeFailure();
      if (raw instanceof Uint8Array) {
        attachments.push(raw);
        return { [BYTES_TAG]: attachments.length - 1 };
      }
      return raw;
    });
  } catch (err) {
    const problem = findProblem(value, label, false, new Set());
    throw new SnakepitError(
      "invalid_argument",
      `cannot send ${label} to Python: ${problem ?? (err instanceof Error ? err.message : String(err))}`,
      { cause: err },
    );
  }
  if (text === undefined) {
    throw new SnakepitError("invalid_argument", `cannot send ${label} to Python: it is undefined`);
  }
  const json = Buffer.from(text, "utf8");
  let size = json.byteLength;
  for (const a of attachments) size += a.byteLength;
  if (size > maxBytes) {
    throw new SnakepitError(
      "payload_too_large",
      `${label} is ${size} bytes encoded, over the pool's maxPayloadBytes of ${maxBytes}; ` +
        "send less data per call, or raise maxPayloadBytes",
    );
  }
  return { json, attachments, size };
}

const MARKER = /"\$snakepit:(?:bytes|bigint)"/;

/** Decode a value from the wire. Binary attachments come back as Uint8Array. */
export function decodeValue(json: Uint8Array, attachments: readonly Uint8Array[]): unknown {
  if (json.byteLength === 0) return null;
  const text = Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString("utf8");
  if (!MARKER.test(text)) return JSON.parse(text);
  return JSON.parse(text, (_key, v: unknown) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return v;
    const rec = v as Record<string, unknown>;
    const keys = Object.keys(rec);
    if (keys.length !== 1) return v;
    if (keys[0] === BYTES_TAG) {
      const index = rec[BYTES_TAG];
      const att = typeof index === "number" ? attachments[index] : undefined;
      if (att === undefined) throw new SnakepitError("internal", `worker sent a reference to missing attachment ${String(index)}`);
      return att;
    }
    if (keys[0] === BIGINT_TAG) return BigInt(String(rec[BIGINT_TAG]));
    return v;
  });
}
