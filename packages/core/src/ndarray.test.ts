import { describe, expect, it } from "vitest";
import { decodeValue, encodeValue } from "./codec.js";
import { SnakepitError } from "./errors.js";
import { NDARRAY_TAG, isNDArray, ndarray, ndarrayStats, parseDtype, type NDArray } from "./ndarray.js";

const MAX = 64 * 1024 * 1024;
const json = (e: { json: Uint8Array }) => JSON.parse(Buffer.from(e.json).toString()) as unknown;

/** Encode, then decode from a copy of the attachments placed at `offset` in a fresh buffer. */
function roundTrip(value: unknown, offset = 0): unknown {
  const e = encodeValue(value, "args", MAX);
  const moved = e.attachments.map((a) => {
    const buf = new Uint8Array(new ArrayBuffer(a.byteLength + offset), offset, a.byteLength);
    buf.set(a);
    return buf;
  });
  return decodeValue(e.json, moved);
}

function thrown(f: () => unknown): SnakepitError {
  try {
    f();
  } catch (err) {
    if (err instanceof SnakepitError) return err;
    throw err;
  }
  throw new Error("expected a throw");
}

describe("ndarray", () => {
  it("sends an NDArray as a placeholder plus its bytes, without copying them", () => {
    const data = new Float32Array(500 * 64).map((_, i) => i / 7);
    const e = encodeValue({ x: ndarray(data, [500, 64]) }, "args", MAX);
    expect(json(e)).toEqual({ x: { [NDARRAY_TAG]: { dtype: "<f4", shape: [500, 64], order: "C", data: 0 } } });
    expect(e.attachments).toHaveLength(1);
    expect(e.attachments[0]!.buffer).toBe(data.buffer); // the same memory
    expect(e.size).toBe(e.json.byteLength + 500 * 64 * 4);
  });

  it.each([
    [new Float32Array([1.5, -2]), "<f4", Float32Array],
    [new Float64Array([1e300, -0]), "<f8", Float64Array],
    [new Int8Array([-128, 127]), "|i1", Int8Array],
    [new Int16Array([-32768, 7]), "<i2", Int16Array],
    [new Int32Array([-(2 ** 31), 5]), "<i4", Int32Array],
    [new BigInt64Array([-(2n ** 63n), 2n ** 62n]), "<i8", BigInt64Array],
    [new Uint8ClampedArray([0, 255]), "|u1", Uint8Array],
    [new Uint16Array([65535, 1]), "<u2", Uint16Array],
    [new Uint32Array([2 ** 32 - 1, 1]), "<u4", Uint32Array],
    [new BigUint64Array([2n ** 64n - 1n, 0n]), "<u8", BigUint64Array],
  ])("sends a plain %o as a 1-d array of its dtype and gets the same values back", (data, dtype, View) => {
    const e = encodeValue({ a: data }, "args", MAX);
    expect(json(e)).toEqual({ a: { [NDARRAY_TAG]: { dtype, shape: [data.length], order: "C", data: 0 } } });
    const back = (roundTrip({ a: data }) as { a: NDArray }).a;
    expect(isNDArray(back)).toBe(true);
    expect(back.dtype).toBe(dtype);
    expect(back.shape).toEqual([data.length]);
    expect(back.data).toBeInstanceOf(View);
    expect([...back.data]).toEqual([...data]);
  });

  it("keeps a Uint8Array as bytes (as before), and a Uint8Array with a dtype as that array", () => {
    const raw = new Uint8Array([1, 2, 3, 4]);
    expect(json(encodeValue({ b: raw }, "args", MAX))).toEqual({ b: { "$snakepit:bytes": 0 } });
    const half = ndarray(raw, [2], { dtype: "<f2" });
    expect(json(encodeValue({ h: half }, "args", MAX))).toEqual({ h: { [NDARRAY_TAG]: { dtype: "<f2", shape: [2], order: "C", data: 0 } } });
    const back = (roundTrip({ h: half }) as { h: NDArray }).h;
    expect(back.data).toBeInstanceOf(Uint8Array); // no Float16Array: raw bytes
    expect([...back.bytes]).toEqual([1, 2, 3, 4]);
  });

  it("carries 0-d, empty and Fortran-ordered arrays, nested in objects and arrays", () => {
    const value = {
      scalar: ndarray(new Float64Array([3.25]), []),
      empty: ndarray(new Int32Array(0), [0, 5]),
      fortran: ndarray(new Int32Array([1, 4, 2, 5, 3, 6]), [2, 3], { order: "F" }),
      list: [ndarray(new Uint16Array([7]), [1, 1]), { deeper: [new Float32Array([1, 2])] }],
    };
    const back = roundTrip(value) as typeof value & { list: [NDArray, { deeper: NDArray[] }] };
    expect(back.scalar.shape).toEqual([]);
    expect(back.scalar.size).toBe(1);
    expect([...back.scalar.data]).toEqual([3.25]);
    expect(back.empty.shape).toEqual([0, 5]);
    expect(back.empty.size).toBe(0);
    expect(back.empty.data).toBeInstanceOf(Int32Array);
    expect(back.fortran.order).toBe("F");
    expect([...back.fortran.data]).toEqual([1, 4, 2, 5, 3, 6]);
    expect(back.list[0].shape).toEqual([1, 1]);
    expect([...back.list[1].deeper[0]!.data]).toEqual([1, 2]);
  });

  it("keeps the other byte order as raw bytes with its dtype", () => {
    const bytes = new Uint8Array([0x3f, 0xf0, 0, 0, 0, 0, 0, 0]); // 1.0 as big-endian float64
    const json = Buffer.from(JSON.stringify({ [NDARRAY_TAG]: { dtype: ">f8", shape: [], order: "C", data: 0 } }));
    const back = decodeValue(json, [bytes]) as NDArray;
    expect(back.dtype).toBe(">f8");
    expect(back.data).toBeInstanceOf(Uint8Array);
    expect(new DataView(back.bytes.buffer, back.bytes.byteOffset).getFloat64(0, false)).toBe(1);
  });

  it("views the received bytes when aligned, and copies (counted) only when not", () => {
    const data = new Float64Array([1, 2, 3]);
    const before = ndarrayStats();
    const aligned = (roundTrip({ a: data }, 8) as { a: NDArray }).a;
    expect(aligned.data.byteOffset).toBe(8); // a view, not a copy
    const mid = ndarrayStats();
    expect(mid.views - before.views).toBe(1);
    expect(mid.alignmentCopies).toBe(before.alignmentCopies);
    const misaligned = (roundTrip({ a: data }, 3) as { a: NDArray }).a;
    expect([...misaligned.data]).toEqual([1, 2, 3]);
    expect(misaligned.data.byteOffset % 8).toBe(0);
    const after = ndarrayStats();
    expect(after.alignmentCopies - mid.alignmentCopies).toBe(1);
    expect(after.alignmentCopiedBytes - mid.alignmentCopiedBytes).toBe(24);
    // One byte per element never needs a copy.
    const bytes = (roundTrip({ a: new Int8Array([1, -1]) }, 3) as { a: NDArray }).a;
    expect(bytes.data.byteOffset).toBe(3);
  });

  it("refuses a shape that does not match the data, or a dtype that does not fit", () => {
    expect(thrown(() => ndarray(new Float32Array(6), [2, 2])).message).toContain("shape [2,2] of <f4 needs 16 bytes, data has 24 (6 elements)");
    expect(thrown(() => ndarray(new Float32Array(6), [2, -3])).message).toContain("non-negative integers");
    expect(thrown(() => ndarray(new Float32Array(6), [2, 3], { dtype: "<i4" })).message).toContain("does not match a Float32Array");
    expect(thrown(() => ndarray(new Uint8Array(6), [3], { dtype: "|O8" })).message).toContain("not a fixed-width numpy type string");
    expect(thrown(() => ndarray(new Float32Array(2), [2], { order: "X" as "C" })).code).toBe("invalid_argument");
    expect(thrown(() => ndarray(new DataView(new ArrayBuffer(4)) as unknown as Uint8Array, [4])).message).toContain("must be a typed array");
  });

  it("still refuses a DataView and an ArrayBuffer in a value, and reserves the ndarray key", () => {
    expect(thrown(() => encodeValue({ d: new DataView(new ArrayBuffer(2)) }, "args", MAX)).message).toContain("args.d: DataView is not supported");
    expect(thrown(() => encodeValue({ r: { [NDARRAY_TAG]: {} } }, "args", MAX)).message).toContain("reserved");
  });

  it("counts an array's bytes against maxPayloadBytes", () => {
    const err = thrown(() => encodeValue({ a: new Float64Array(1000) }, "args", 4000));
    expect(err.code).toBe("payload_too_large");
  });

  it("rejects a malformed placeholder from the worker as internal", () => {
    const bad = (spec: unknown, attachments: Uint8Array[] = [new Uint8Array(8)]) =>
      thrown(() => decodeValue(Buffer.from(JSON.stringify({ [NDARRAY_TAG]: spec })), attachments));
    expect(bad({ dtype: "<f4", shape: [3], order: "C", data: 0 }).message).toContain("needs 12 bytes, the attachment has 8");
    expect(bad({ dtype: "<f4", shape: [2], order: "C", data: 1 }).message).toContain("does not match any of 1 attachment");
    expect(bad({ dtype: "|O8", shape: [1], order: "C", data: 0 }).code).toBe("internal");
    expect(bad({ dtype: "<f4", shape: [2], order: "Z", data: 0 }).message).toContain("order");
  });

  it("reads numpy type strings", () => {
    expect(parseDtype("<U3")).toEqual({ itemsize: 12, kind: "U", byteorder: "<" });
    expect(parseDtype("<M8[ns]")).toEqual({ itemsize: 8, kind: "M", byteorder: "<" });
    expect(parseDtype("|b1")).toEqual({ itemsize: 1, kind: "b", byteorder: "|" });
    expect(typeof parseDtype("<f4[ns]")).toBe("string");
    expect(typeof parseDtype("O")).toBe("string");
  });
});
