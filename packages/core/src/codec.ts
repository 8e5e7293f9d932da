/**
 * JSON plus binary attachments: the value format on the wire (see worker.proto).
 *
 * Encoding is strict: anything JSON would silently change or drop (NaN, a Map,
 * a class instance, a function, undefined in an array, a BigInt, a cycle,
 * nesting deeper than MAX_NESTING_DEPTH) is rejected with the path to the
 * offending value, before anything is sent. toJSON() is honoured exactly where
 * JSON.stringify honours it (so a Date travels as its ISO string); a
 * Uint8Array (a Buffer too) travels as bytes; an NDArray (see ndarray.ts) and
 * any other typed array (as a 1-d array) travel as an ndarray placeholder with
 * their bytes as an attachment; an apache-arrow Table (see arrow.ts) as an Arrow
 * IPC stream.
 */
import { ARROW_TAG, arrowTableToIPC, decodeArrowTable, looksLikeArrowTable } from "./arrow.js";
import { SnakepitError } from "./errors.js";
import { NDARRAY_TAG, decodeNDArray, isNDArray, ndarrayPlaceholder, typedArrayAsNDArray } from "./ndarray.js";

export const BYTES_TAG = "$snakepit:bytes";
export const BIGINT_TAG = "$snakepit:bigint";

export interface EncodedValue {
  readonly json: Uint8Array;
  readonly attachments: Uint8Array[];
  /** json plus attachments, in bytes. */
  readonly size: number;
}

/**
 * How deep objects and arrays may nest in arguments (the args object itself is
 * level 1). Deeper values are refused with invalid_argument: Python's decoder
 * and Node's own recursion would fail on them in ways that say nothing useful.
 */
export const MAX_NESTING_DEPTH = 512;

/** Why a value (after toJSON) cannot be encoded, or undefined when it can. */
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
        if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer)
          return `${name} is not supported (wrap binary data in a Uint8Array, or numbers in a typed array or ndarray())`;
        if (value instanceof Map) return "Map is not supported (pass Object.fromEntries(map))";
        if (value instanceof Set) return "Set is not supported (pass an array)";
        return `${name} instances are not supported (pass a plain object, or give the class a toJSON() method)`;
      }
      if (Object.hasOwn(value, BYTES_TAG) || Object.hasOwn(value, BIGINT_TAG) || Object.hasOwn(value, NDARRAY_TAG) || Object.hasOwn(value, ARROW_TAG))
        return `the keys "${BYTES_TAG}", "${BIGINT_TAG}", "${NDARRAY_TAG}" and "${ARROW_TAG}" are reserved`;
      return undefined;
    }
  }
}

class EncodeFailure extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${reason}`, options);
  }
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** A long path shortened in the middle, so a message about deep nesting stays readable. */
function shortPath(path: string): string {
  return path.length <= 240 ? path : `${path.slice(0, 100)} ... ${path.slice(-100)}`;
}

function errorText(err: unknown): string {
  try {
    return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  } catch {
    return "an exception that cannot be shown";
  }
}

/**
 * One walk over the value: it checks what JSON cannot carry (or would silently
 * change), applies toJSON exactly where JSON.stringify would (own or inherited,
 * enumerable or not), and swaps each Uint8Array for a reference to an attachment.
 * It returns a value JSON.stringify can then serialise natively, without a
 * replacer: arrays of plain values come back as themselves (no copy), objects
 * as a copy holding what their properties returned when read once (so a getter
 * runs once, and what was checked is what is sent).
 */
class Walker {
  readonly attachments: Uint8Array[] = [];
  private readonly ancestors: object[] = [];
  /** The keys and indexes from the root to the value being walked: its path is spelled out only for an error. */
  private readonly trail: Array<string | number> = [];

  constructor(private readonly label: string) {}

  /** Where the value being walked sits, as `args.rows[3].name`. */
  private path(): string {
    let path = this.label;
    for (const step of this.trail) {
      path = typeof step === "number" ? `${path}[${step}]` : IDENTIFIER.test(step) ? `${path}.${step}` : `${path}[${JSON.stringify(step)}]`;
    }
    return path;
  }

  private fail(reason: string, cause?: unknown): never {
    throw new EncodeFailure(this.path(), reason, cause === undefined ? undefined : { cause });
  }

  walk(holderKey: string | number, input: unknown, inArray: boolean): unknown {
    let value = input;
    if (value instanceof Uint8Array) {
      // Binary data travels beside the JSON; a Buffer's toJSON would spell it out as numbers.
      this.attachments.push(value);
      return { [BYTES_TAG]: this.attachments.length - 1 };
    }
    if (typeof value === "object" && value !== null) {
      // Arrays travel beside the JSON too, their bytes as they are (no copy here).
      const array = isNDArray(value) ? value : ArrayBuffer.isView(value) ? typedArrayAsNDArray(value) : undefined;
      if (array !== undefined) {
        this.attachments.push(array.bytes);
        return ndarrayPlaceholder(array, this.attachments.length - 1);
      }
      if (looksLikeArrowTable(value)) {
        let ipc: Uint8Array;
        try {
          ipc = arrowTableToIPC(value);
        } catch (err) {
          this.fail(err instanceof Error ? err.message : errorText(err), err);
        }
        this.attachments.push(ipc);
        return { [ARROW_TAG]: this.attachments.length - 1 };
      }
    }
    if ((typeof value === "object" && value !== null) || typeof value === "bigint") {
      let toJSON: unknown;
      try {
        toJSON = (value as { toJSON?: unknown }).toJSON;
      } catch (err) {
        this.fail(`reading its toJSON property threw ${errorText(err)}`, err);
      }
      if (typeof toJSON === "function") {
        try {
          value = (toJSON as (key: string) => unknown).call(value, String(holderKey));
        } catch (err) {
          this.fail(`its toJSON() threw ${errorText(err)}`, err);
        }
        if (value instanceof Uint8Array || isNDArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView)))
          return this.walk(holderKey, value, inArray);
      }
    }
    if (typeof value !== "object" || value === null) {
      const reason = rejectReason(value, inArray);
      if (reason !== undefined) this.fail(reason);
      return value;
    }
    const reason = rejectReason(value, inArray);
    if (reason !== undefined) this.fail(reason);
    if (this.ancestors.includes(value)) this.fail("circular reference (the value contains itself)");
    if (this.ancestors.length >= MAX_NESTING_DEPTH) {
      throw new EncodeFailure(
        shortPath(this.path()),
        `nested deeper than ${MAX_NESTING_DEPTH} levels (the limit of arguments and results); ` +
          "flatten the structure, or send the deep part as a JSON string and parse it in the tool",
      );
    }
    this.ancestors.push(value);
    // No finally: a failure ends the whole walk, and the path it reports is already spelled out.
    const out = Array.isArray(value) ? this.walkArray(value) : this.walkObject(value as Record<string, unknown>);
    this.ancestors.pop();
    return out;
  }

  private walkArray(array: readonly unknown[]): unknown[] {
    let out: unknown[] | undefined;
    const n = array.length;
    const { trail } = this;
    for (let i = 0; i < n; i++) {
      let item: unknown;
      try {
        item = array[i];
      } catch (err) {
        trail.push(i);
        this.fail(`reading it threw ${errorText(err)}`, err);
      }
      // The common case first: a finite number or a string needs nothing.
      let next: unknown;
      if ((typeof item === "number" && Number.isFinite(item)) || typeof item === "string" || typeof item === "boolean" || item === null) next = item;
      else {
        trail.push(i);
        next = this.walk(i, item, true);
        trail.pop();
      }
      if (out === undefined && next !== item) out = array.slice(0, i);
      if (out !== undefined) out.push(next);
    }
    return out ?? (array as unknown[]);
  }

  private walkObject(object: Record<string, unknown>): Record<string, unknown> {
    let keys: string[];
    try {
      keys = Object.keys(object);
    } catch (err) {
      this.fail(`listing its keys threw ${errorText(err)}`, err);
    }
    const out: Record<string, unknown> = {};
    const { trail } = this;
    for (const key of keys) {
      let raw: unknown;
      trail.push(key);
      try {
        raw = object[key];
      } catch (err) {
        this.fail(`reading this property threw ${errorText(err)} (a getter?); pass plain data`, err);
      }
      // Plain values need no walk (the common case in records).
      const next =
        (typeof raw === "number" && Number.isFinite(raw)) || typeof raw === "string" || typeof raw === "boolean" || raw === null
          ? raw
          : this.walk(key, raw, false);
      trail.pop();
      if (next === undefined) continue; // JSON omits it
      if (key === "__proto__") Object.defineProperty(out, key, { value: next, enumerable: true, writable: true, configurable: true });
      else out[key] = next;
    }
    return out;
  }
}

/** `{}` as sent (shared: frames copy it, nothing writes to it). */
const EMPTY_OBJECT_JSON: Uint8Array = Buffer.from("{}");

function isEmptyPlainObject(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const _ in value) return false; // an own or inherited enumerable key
  return typeof (value as { toJSON?: unknown }).toJSON !== "function";
}

/**
 * Encode `value` for the wire. `label` names it in error messages ("args").
 * Throws SnakepitError `invalid_argument` (with the path to the offending value)
 * or `payload_too_large`.
 */
export function encodeValue(value: unknown, label: string, maxBytes: number): EncodedValue {
  // No arguments at all, the commonest call: nothing to walk (exact only without a toJSON).
  if (isEmptyPlainObject(value)) return { json: EMPTY_OBJECT_JSON, attachments: [], size: EMPTY_OBJECT_JSON.byteLength };
  const walker = new Walker(label);
  let text: string | undefined;
  try {
    text = JSON.stringify(walker.walk("", value, false));
  } catch (err) {
    if (err instanceof EncodeFailure) {
      throw new SnakepitError("invalid_argument", `cannot send ${label} to Python: ${err.message}`, { cause: err.cause ?? err });
    }
    throw new SnakepitError("invalid_argument", `cannot send ${label} to Python: ${errorText(err)}`, { cause: err });
  }
  if (text === undefined) {
    throw new SnakepitError("invalid_argument", `cannot send ${label} to Python: it is undefined`);
  }
  const attachments = walker.attachments;
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

const MARKER = /"\$snakepit:(?:bytes|bigint|ndarray|arrow)"/;

/**
 * Decode a value from the wire. Binary attachments come back as Uint8Array,
 * arrays as NDArray; both are views over `attachments` (no copy).
 */
export function decodeValue(json: Uint8Array, attachments: readonly Uint8Array[]): unknown {
  if (json.byteLength === 0) return null;
  // A tool that returns nothing: "null", without a string or a parse.
  if (json.byteLength === 4 && json[0] === 0x6e && json[1] === 0x75 && json[2] === 0x6c && json[3] === 0x6c) return null;
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
    if (keys[0] === NDARRAY_TAG) return decodeNDArray(rec[NDARRAY_TAG], attachments);
    if (keys[0] === ARROW_TAG) return decodeArrowTable(rec[ARROW_TAG], attachments);
    return v;
  });
}
