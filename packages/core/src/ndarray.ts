/**
 * N-dimensional arrays as values: a numpy array in Python, an `NDArray` here.
 *
 * On the wire an array is a JSON placeholder that points at one binary
 * attachment holding its elements (see worker.proto):
 *
 *   {"$snakepit:ndarray": {"dtype": "<f4", "shape": [500, 64], "order": "C", "data": 0}}
 *
 * `dtype` is numpy's array-interface type string (`dtype.str`: byte order, kind,
 * item size), `shape` a list of non-negative integers (`[]` for a 0-d array),
 * `order` "C" (row-major) or "F" (column-major), and `data` the index of the
 * attachment, whose length is exactly itemsize * product(shape).
 *
 * An NDArray received from Python is a view over the received bytes: no copy,
 * except when the bytes sit at an offset the typed array cannot start at (a
 * Float64Array needs a multiple of 8); that copy is counted in ndarrayStats().
 */
import { SnakepitError } from "./errors.js";

export const NDARRAY_TAG = "$snakepit:ndarray";

const BRAND = Symbol.for("snakepit.ndarray");

/** The typed array an NDArray's `data` is, by dtype. Dtypes without one are raw bytes (Uint8Array). */
export type NDArrayData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint8ClampedArray
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

export interface NDArray {
  /**
   * numpy's type string: byte order (`<` little, `>` big, `|` not applicable),
   * kind and item size in bytes, e.g. "<f4", "<i8", "|u1", "|b1", "<c16", "<M8[ns]".
   */
  readonly dtype: string;
  readonly shape: readonly number[];
  /** How `data` is laid out: "C" row-major (the last index varies fastest), "F" column-major. */
  readonly order: "C" | "F";
  /**
   * The elements, in `order`. A typed array for native-endian
   * int8..int64, uint8..uint64, float32 and float64 (bool as Uint8Array of 0/1);
   * for every other dtype (float16, complex, datetime, strings, the other byte
   * order) the raw bytes as a Uint8Array.
   */
  readonly data: NDArrayData;
  /** The same memory as `data`, as bytes. */
  readonly bytes: Uint8Array;
  /** Number of elements (the product of `shape`; 1 for a 0-d array). */
  readonly size: number;
  /** Bytes per element. */
  readonly itemsize: number;
}

export interface NDArrayOptions {
  /** "C" (default) or "F": how `data` is laid out. */
  order?: "C" | "F";
  /**
   * The numpy type string. Default: the one matching `data`'s type
   * (Float32Array -> "<f4" on a little-endian host). Required, and checked
   * against the byte length, when `data` is a Uint8Array holding raw bytes of
   * another dtype (for example "<f2" or "<c8").
   */
  dtype?: string;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const NATIVE = LITTLE_ENDIAN ? "<" : ">";

type TypedArrayConstructor = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): NDArrayData; readonly BYTES_PER_ELEMENT: number };

/** Typed array constructors by (kind, itemsize) for native byte order. */
const VIEWS: Record<string, TypedArrayConstructor> = {
  f4: Float32Array,
  f8: Float64Array,
  i1: Int8Array,
  i2: Int16Array,
  i4: Int32Array,
  i8: BigInt64Array,
  u1: Uint8Array,
  u2: Uint16Array,
  u4: Uint32Array,
  u8: BigUint64Array,
  b1: Uint8Array,
};

function dtypeOf(data: ArrayBufferView): string | undefined {
  if (data instanceof Float32Array) return `${NATIVE}f4`;
  if (data instanceof Float64Array) return `${NATIVE}f8`;
  if (data instanceof Int8Array) return "|i1";
  if (data instanceof Int16Array) return `${NATIVE}i2`;
  if (data instanceof Int32Array) return `${NATIVE}i4`;
  if (data instanceof BigInt64Array) return `${NATIVE}i8`;
  if (data instanceof Uint8Array || data instanceof Uint8ClampedArray) return "|u1";
  if (data instanceof Uint16Array) return `${NATIVE}u2`;
  if (data instanceof Uint32Array) return `${NATIVE}u4`;
  if (data instanceof BigUint64Array) return `${NATIVE}u8`;
  return undefined;
}

const TYPESTR = /^([<>|=])([biufcmMSUV])(\d+)(\[[A-Za-z0-9]+\])?$/;

/** Item size in bytes of a numpy type string, or a reason it is not one this codec carries. */
export function parseDtype(dtype: unknown): { itemsize: number; kind: string; byteorder: string } | string {
  if (typeof dtype !== "string") return `dtype must be a string like "<f4", got ${typeof dtype}`;
  const m = TYPESTR.exec(dtype);
  if (!m) return `dtype ${JSON.stringify(dtype)} is not a fixed-width numpy type string like "<f4", "|u1" or "<c16"`;
  const [, byteorder, kind, n, unit] = m as unknown as [string, string, string, string, string | undefined];
  if (unit !== undefined && kind !== "M" && kind !== "m") return `dtype ${JSON.stringify(dtype)}: only datetime64 and timedelta64 take a unit`;
  const count = Number(n);
  // numpy spells a unicode dtype's size in characters (UCS-4), every other in bytes.
  const itemsize = kind === "U" ? count * 4 : count;
  if (!Number.isSafeInteger(itemsize) || (itemsize === 0 && kind !== "S" && kind !== "U" && kind !== "V"))
    return `dtype ${JSON.stringify(dtype)} has no item size`;
  return { itemsize, kind, byteorder: byteorder === "=" ? NATIVE : byteorder };
}

function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function checkShape(shape: unknown, where: string): readonly number[] {
  if (!Array.isArray(shape)) throw new SnakepitError("invalid_argument", `${where}: shape must be an array of non-negative integers`);
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || (d as number) < 0) {
      throw new SnakepitError("invalid_argument", `${where}: shape ${JSON.stringify(shape)} must hold non-negative integers only`);
    }
  }
  if (shape.length > 64) throw new SnakepitError("invalid_argument", `${where}: ${shape.length} dimensions is more than numpy's 64`);
  return Object.freeze([...(shape as number[])]);
}

const counters = {
  views: 0,
  alignmentCopies: 0,
  alignmentCopiedBytes: 0,
  sharedSegmentsSent: 0,
  sharedBytesSent: 0,
  sharedSegmentsReceived: 0,
  sharedBytesReceived: 0,
};

/** What ndarrayStats() reports (process-wide counters since start). */
export interface NDArrayStats {
  /** Arrays received from Python and viewed where their bytes arrived. */
  readonly views: number;
  /** Arrays received whose bytes sat at an offset their typed array cannot start at: copied once. */
  readonly alignmentCopies: number;
  readonly alignmentCopiedBytes: number;
  /** Attachments sent through a shared-memory segment (each one copy: the write into it). */
  readonly sharedSegmentsSent: number;
  readonly sharedBytesSent: number;
  /** Attachments received through a shared-memory segment (each one copy: the read out of it). */
  readonly sharedSegmentsReceived: number;
  readonly sharedBytesReceived: number;
}

/**
 * How arrays received from Python were made: `views` over the received bytes,
 * and `alignmentCopies` (with their bytes) where the bytes sat at an offset the
 * typed array could not start at; and how many attachments went through shared
 * memory each way (local transport only).
 */
export function ndarrayStats(): NDArrayStats {
  return { ...counters };
}

/** Counts one attachment that went through a shared-memory segment. */
export function countSharedSegment(direction: "sent" | "received", bytes: number): void {
  if (direction === "sent") {
    counters.sharedSegmentsSent++;
    counters.sharedBytesSent += bytes;
  } else {
    counters.sharedSegmentsReceived++;
    counters.sharedBytesReceived += bytes;
  }
}

function build(dtype: string, shape: readonly number[], order: "C" | "F", bytes: Uint8Array, itemsize: number, kind: string, byteorder: string): NDArray {
  const size = product(shape);
  let data: NDArrayData = bytes;
  const View = byteorder === NATIVE || byteorder === "|" ? VIEWS[`${kind}${itemsize}`] : undefined;
  if (View !== undefined && View !== Uint8Array) {
    let source = bytes;
    if (source.byteOffset % itemsize !== 0) {
      source = bytes.slice(); // a fresh buffer starts at offset 0
      bytes = source;
      counters.alignmentCopies++;
      counters.alignmentCopiedBytes += source.byteLength;
    } else counters.views++;
    data = new View(source.buffer, source.byteOffset, size);
  } else counters.views++;
  const array = { dtype, shape, order, data, bytes, size, itemsize };
  Object.defineProperty(array, BRAND, { value: true });
  return Object.freeze(array);
}

/**
 * An array to send to Python, where it arrives as a numpy array of that dtype
 * and shape (or a memoryview when numpy is not installed). `data` is sent
 * as it is, not copied here; it must hold exactly product(shape) elements.
 * A plain typed array (other than Uint8Array, which travels as bytes) is sent as
 * a 1-d array without calling this.
 *
 *   ndarray(new Float32Array(500 * 64), [500, 64])
 *
 * Throws SnakepitError `invalid_argument` for a shape or dtype that does not fit.
 */
export function ndarray(data: NDArrayData, shape: readonly number[], options: NDArrayOptions = {}): NDArray {
  const order = options.order ?? "C";
  if (order !== "C" && order !== "F") throw new SnakepitError("invalid_argument", `ndarray(): order must be "C" or "F", got ${JSON.stringify(order)}`);
  if (!ArrayBuffer.isView(data) || data instanceof DataView) {
    throw new SnakepitError("invalid_argument", "ndarray(): data must be a typed array (Float32Array, Int32Array, BigInt64Array, Uint8Array, ...)");
  }
  const checked = checkShape(shape, "ndarray()");
  const natural = dtypeOf(data);
  const dtype = options.dtype ?? natural;
  if (dtype === undefined) throw new SnakepitError("invalid_argument", `ndarray(): ${data.constructor.name} has no dtype; pass options.dtype`);
  const parsed = parseDtype(dtype);
  if (typeof parsed === "string") throw new SnakepitError("invalid_argument", `ndarray(): ${parsed}`);
  if (options.dtype !== undefined && natural !== undefined && options.dtype !== natural && !(data instanceof Uint8Array)) {
    const same = parseDtype(natural);
    if (typeof same === "string" || same.itemsize !== parsed.itemsize || same.kind !== parsed.kind || same.byteorder !== parsed.byteorder) {
      throw new SnakepitError("invalid_argument", `ndarray(): dtype ${dtype} does not match a ${data.constructor.name} (pass the raw bytes as a Uint8Array to relabel them)`);
    }
  }
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const size = product(checked);
  if (size * parsed.itemsize !== bytes.byteLength) {
    throw new SnakepitError(
      "invalid_argument",
      `ndarray(): shape ${JSON.stringify(checked)} of ${dtype} needs ${size * parsed.itemsize} bytes, data has ${bytes.byteLength}` +
        (bytes.byteLength % parsed.itemsize === 0 ? ` (${bytes.byteLength / parsed.itemsize} elements)` : ""),
    );
  }
  const array = { dtype, shape: checked, order, data, bytes, size, itemsize: parsed.itemsize };
  Object.defineProperty(array, BRAND, { value: true });
  return Object.freeze(array);
}

/** True for an NDArray made by ndarray() or received from Python (survives duplicate installs). */
export function isNDArray(value: unknown): value is NDArray {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/** The placeholder for `array`, whose bytes become attachment `index`. */
export function ndarrayPlaceholder(array: NDArray, index: number): Record<string, unknown> {
  return { [NDARRAY_TAG]: { dtype: array.dtype, shape: array.shape, order: array.order, data: index } };
}

/** A typed array sent as it is: a 1-d array of its own dtype; undefined for anything else. */
export function typedArrayAsNDArray(value: ArrayBufferView): NDArray | undefined {
  if (value instanceof Uint8Array || value instanceof DataView) return undefined;
  const dtype = dtypeOf(value);
  if (dtype === undefined) return undefined;
  return ndarray(value as NDArrayData, [(value as NDArrayData).length], { dtype });
}

/** Decode a placeholder's body (the value under NDARRAY_TAG). */
export function decodeNDArray(spec: unknown, attachments: readonly Uint8Array[]): NDArray {
  const bad = (why: string) => new SnakepitError("internal", `worker sent a malformed ${NDARRAY_TAG} placeholder: ${why}`);
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) throw bad("it is not an object");
  const s = spec as Record<string, unknown>;
  const parsed = parseDtype(s["dtype"]);
  if (typeof parsed === "string") throw bad(parsed);
  let shape: readonly number[];
  try {
    shape = checkShape(s["shape"], "ndarray");
  } catch (err) {
    throw bad((err as Error).message);
  }
  const order = s["order"] ?? "C";
  if (order !== "C" && order !== "F") throw bad(`order must be "C" or "F", got ${JSON.stringify(order)}`);
  const index = s["data"];
  const bytes = typeof index === "number" ? attachments[index] : undefined;
  if (bytes === undefined) throw bad(`data ${JSON.stringify(index)} does not match any of ${attachments.length} attachment(s)`);
  const expected = product(shape) * parsed.itemsize;
  if (bytes.byteLength !== expected) throw bad(`shape ${JSON.stringify(shape)} of ${String(s["dtype"])} needs ${expected} bytes, the attachment has ${bytes.byteLength}`);
  return build(s["dtype"] as string, shape, order, bytes, parsed.itemsize, parsed.kind, parsed.byteorder);
}
