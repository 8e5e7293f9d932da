import { describe, expect, it } from "vitest";
import { decodeValue, encodeValue } from "./codec.js";
import { SnakepitError } from "./errors.js";

const MAX = 1024 * 1024;
const roundTrip = (v: unknown) => {
  const e = encodeValue(v, "args", MAX);
  return decodeValue(e.json, e.attachments);
};

function encodeError(v: unknown): SnakepitError {
  try {
    encodeValue(v, "args", MAX);
  } catch (err) {
    if (err instanceof SnakepitError) return err;
    throw err;
  }
  throw new Error("expected encodeValue to throw");
}

describe("codec", () => {
  it("round-trips JSON values exactly", () => {
    const v = { i: 3, f: 1.5, neg: -7, t: true, n: null, s: "héllo ✓ 𝄞", nested: { a: [1, [2, { b: "c" }]] }, empty: {}, arr: [] };
    expect(roundTrip(v)).toEqual(v);
  });

  it("carries Uint8Array as attachments, not inside the JSON", () => {
    const data = new Uint8Array([0, 1, 2, 255]);
    const e = encodeValue({ data, list: [data] }, "args", MAX);
    expect(e.attachments).toHaveLength(2);
    expect(Buffer.from(e.json).toString()).not.toContain("255");
    const back = decodeValue(e.json, e.attachments) as { data: Uint8Array; list: Uint8Array[] };
    expect(back.data).toBeInstanceOf(Uint8Array);
    expect([...back.data]).toEqual([0, 1, 2, 255]);
    expect([...back.list[0]!]).toEqual([0, 1, 2, 255]);
  });

  it("treats a Buffer as bytes, not as its toJSON form", () => {
    const e = encodeValue({ b: Buffer.from("hi") }, "args", MAX);
    expect(e.attachments).toHaveLength(1);
  });

  it("decodes big integers from Python as BigInt", () => {
    const json = Buffer.from('{"big":{"$snakepit:bigint":"1152921504606846976"},"small":5}');
    expect(decodeValue(json, [])).toEqual({ big: 2n ** 60n, small: 5 });
  });

  it.each([
    [{ f: () => 1 }, "args.f: a function"],
    [{ n: 10n }, "args.n: BigInt"],
    [{ x: NaN }, "args.x: NaN"],
    [{ x: [1, Infinity] }, "args.x[1]: Infinity"],
    [{ d: new Date(0) }, "args.d: Date"],
    [{ m: new Map() }, "args.m: Map"],
    [{ s: new Set() }, "args.s: Set"],
    [{ a: [undefined] }, "args.a[0]: undefined in an array"],
    [{ ab: new ArrayBuffer(2) }, "args.ab: ArrayBuffer"],
    [{ c: new (class Point {})() }, "args.c: Point instances"],
    [{ sym: Symbol("x") }, "args.sym: a symbol"],
    [{ r: { "$snakepit:bytes": 0 } }, "args.r: the keys"],
  ])("rejects %o with the path", (value, fragment) => {
    const err = encodeError(value);
    expect(err.code).toBe("invalid_argument");
    expect(err.message).toContain(fragment);
  });

  it("rejects cycles with the path", () => {
    const a: Record<string, unknown> = { x: 1 };
    a["self"] = { back: a };
    const err = encodeError(a);
    expect(err.code).toBe("invalid_argument");
    expect(err.message).toContain("args.self.back: circular reference");
  });

  it("omits undefined object properties, as JSON does", () => {
    expect(roundTrip({ a: 1, b: undefined })).toEqual({ a: 1 });
  });

  it("refuses payloads over the limit with payload_too_large", () => {
    expect(() => encodeValue({ data: new Uint8Array(2048) }, "args", 1024)).toThrowError(
      expect.objectContaining({ code: "payload_too_large" }),
    );
  });
});
