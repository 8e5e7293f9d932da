import { describe, expect, it } from "vitest";
import { MAX_NESTING_DEPTH, decodeValue, encodeValue } from "./codec.js";
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

  it("refuses nesting deeper than MAX_NESTING_DEPTH with the path, however deep (no RangeError)", () => {
    for (const depth of [MAX_NESTING_DEPTH + 1, 1_000, 10_000, 100_000]) {
      let v: Record<string, unknown> = {};
      const root = v;
      for (let i = 1; i < depth; i++) {
        const next = {};
        v["a"] = next;
        v = next;
      }
      const err = encodeError(root);
      expect(err.code).toBe("invalid_argument");
      expect(err.message).toContain(`nested deeper than ${MAX_NESTING_DEPTH} levels`);
      expect(err.message).toContain("args.a.a.a");
      expect(err.message).toContain("send the deep part as a JSON string");
    }
    // Exactly at the limit is fine (the args object is level 1).
    let v: unknown[] = [];
    const root = { x: v };
    for (let i = 2; i < MAX_NESTING_DEPTH; i++) {
      const next: unknown[] = [];
      v.push(next);
      v = next;
    }
    expect(() => encodeValue(root, "args", MAX)).not.toThrow();
  });

  it("turns a getter that throws into invalid_argument naming the property", () => {
    const v = {
      ok: 1,
      nested: {
        get boom(): number {
          throw new Error("not loaded");
        },
      },
    };
    const err = encodeError(v);
    expect(err.code).toBe("invalid_argument");
    expect(err.message).toContain("args.nested.boom: reading this property threw Error: not loaded");
    const arr = [1, 2];
    Object.defineProperty(arr, 1, {
      get() {
        throw new TypeError("nope");
      },
    });
    expect(encodeError({ arr }).message).toContain("args.arr[1]: reading it threw TypeError: nope");
    expect(encodeError({ t: { toJSON: () => { throw new Error("bad"); } } }).message).toContain("args.t: its toJSON() threw Error: bad");
  });

  it("reads each getter once, and sends what was checked", () => {
    let reads = 0;
    const v = {
      get n() {
        reads++;
        return reads === 1 ? 1 : () => 1;
      },
    };
    expect(roundTrip(v)).toEqual({ n: 1 });
    expect(reads).toBe(1);
  });

  it("honours toJSON exactly as JSON.stringify does: own or inherited, enumerable or not", () => {
    const hidden = { raw: "secret", n: 1 };
    Object.defineProperty(hidden, "toJSON", { value: () => ({ shown: true }), enumerable: false });
    class Money {
      constructor(readonly cents: number) {}
      toJSON(key: string) {
        return { amount: this.cents / 100, key };
      }
    }
    const own = { a: 1, toJSON: () => "own" };
    const gone = { toJSON: () => undefined };
    const date = new Date(0);
    const v = { hidden, price: new Money(250), list: [new Money(5), own], own, gone, date };
    const viaJson: unknown = JSON.parse(JSON.stringify(v));
    expect(roundTrip(v)).toEqual(viaJson);
    expect(roundTrip(v)).toEqual({
      hidden: { shown: true },
      price: { amount: 2.5, key: "price" },
      list: [{ amount: 0.05, key: "0" }, "own"],
      own: "own",
      date: "1970-01-01T00:00:00.000Z",
    });
    // What toJSON returns is checked like any value.
    expect(encodeError({ bad: { toJSON: () => NaN } }).message).toContain("args.bad: NaN");
  });

  it("matches JSON.stringify on plain data, number-heavy arrays included", () => {
    const v = { m: Array.from({ length: 50 }, (_, i) => Array.from({ length: 8 }, (_, j) => i * 0.5 - j)), s: ["a", null, true], o: { "__proto__": 1, "a-b": [] } };
    const e = encodeValue(v, "args", MAX);
    expect(Buffer.from(e.json).toString()).toBe(JSON.stringify(v));
    expect(encodeError({ "a-b": { c: NaN } }).message).toContain('args["a-b"].c: NaN');
  });

  it("sends no arguments and reads a None result as JSON.stringify and JSON.parse would, in their fast paths", () => {
    const text = (v: unknown) => new TextDecoder().decode(encodeValue(v, "args", MAX).json);
    expect(text({})).toBe("{}");
    expect(text(Object.create(null))).toBe("{}");
    // Not "empty" for the fast path: what JSON.stringify would do differs.
    expect(text({ toJSON: () => ({ a: 1 }) })).toBe('{"a":1}');
    expect(() => encodeValue(Object.create({ inherited: 1 }), "args", MAX)).toThrow(/instances are not supported/);
    expect(() => encodeValue(new (class Empty {})(), "args", MAX)).toThrow(/Empty instances/);
    const a = encodeValue({}, "args", MAX);
    a.attachments.push(new Uint8Array(1)); // each call's attachments are its own
    expect(encodeValue({}, "args", MAX).attachments).toEqual([]);
    expect(decodeValue(new TextEncoder().encode("null"), [])).toBeNull();
    expect(() => decodeValue(new TextEncoder().encode("nul1"), [])).toThrow(SyntaxError);
    expect(decodeValue(new TextEncoder().encode('"ab"'), [])).toBe("ab");
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
