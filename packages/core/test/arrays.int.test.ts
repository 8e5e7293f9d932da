import { beforeAll, describe, expect, it } from "vitest";
import { isNDArray, ndarray, ndarrayStats, processProfile, type NDArray } from "@snakepit/core";
import { TEST_TRANSPORT, fixturePool, rejectionOf } from "./helpers.js";

const ARRAYS = "snakepit_fixtures.arrays:ArraysAdapter";

let numpy = false;
beforeAll(async () => {
  await using pool = await fixturePool(ARRAYS, { name: "arrays-probe" });
  numpy = await pool.execute<boolean>("has_numpy");
});

describe("arrays between Node and Python", () => {
  it("a typed array and an ndarray() arrive as numpy arrays (or memoryviews without numpy)", async () => {
    await using pool = await fixturePool(ARRAYS, { name: "arrays-in" });
    const got = await pool.execute<Record<string, Record<string, unknown>>>("describe", {
      value: {
        plain: new Float32Array([1, 2, 3]),
        matrix: ndarray(new Float64Array(6), [2, 3]),
        fortran: ndarray(new Int32Array(6), [2, 3], { order: "F" }),
        scalar: ndarray(new BigInt64Array([5n]), []),
        bytes: new Uint8Array([1, 2]),
      },
    });
    if (numpy) {
      expect(got["plain"]).toEqual({ type: "ndarray", dtype: "<f4", shape: [3], f_contiguous: true, writeable: false });
      expect(got["matrix"]).toMatchObject({ type: "ndarray", dtype: "<f8", shape: [2, 3], f_contiguous: false });
      expect(got["fortran"]).toMatchObject({ type: "ndarray", dtype: "<i4", shape: [2, 3], f_contiguous: true });
      expect(got["scalar"]).toMatchObject({ type: "ndarray", dtype: "<i8", shape: [] });
    } else {
      expect(got["plain"]).toEqual({ type: "memoryview", format: "f", shape: [3] });
      expect(got["matrix"]).toEqual({ type: "memoryview", format: "d", shape: [2, 3] });
      expect(got["fortran"]).toEqual({ type: "ArrayData", dtype: "<i4", shape: [2, 3], order: "F" });
      expect(got["scalar"]).toEqual({ type: "memoryview", format: "q", shape: [] });
    }
    expect(got["bytes"]).toEqual({ type: "bytes" });
  });

  it("round-trips arrays exactly, nested, with or without numpy", async () => {
    await using pool = await fixturePool(ARRAYS, { name: "arrays-echo" });
    const value = {
      f32: ndarray(new Float32Array([1.5, -2, 3.25, 0]), [2, 2]),
      list: [new Int16Array([-1, 2]), { u64: ndarray(new BigUint64Array([2n ** 64n - 1n]), [1]) }],
      empty: ndarray(new Float64Array(0), [3, 0]),
      half: ndarray(new Uint8Array([0, 60, 0, 188]), [2], { dtype: "<f2" }),
      big: ndarray(new Uint8Array([0x3f, 0xf0, 0, 0, 0, 0, 0, 0]), [1], { dtype: ">f8" }),
    };
    const back = await pool.execute<typeof value & { list: [NDArray, { u64: NDArray }] }>("echo", { value });
    expect(isNDArray(back.f32)).toBe(true);
    expect(back.f32.dtype).toBe("<f4");
    expect(back.f32.shape).toEqual([2, 2]);
    expect([...back.f32.data]).toEqual([1.5, -2, 3.25, 0]);
    expect(back.list[0].data).toBeInstanceOf(Int16Array);
    expect([...back.list[0].data]).toEqual([-1, 2]);
    expect([...back.list[1].u64.data]).toEqual([2n ** 64n - 1n]);
    expect(back.empty.shape).toEqual([3, 0]);
    expect(back.half.dtype).toBe("<f2");
    expect([...back.half.bytes]).toEqual([0, 60, 0, 188]);
    expect(back.big.dtype).toBe(">f8");
    expect([...back.big.bytes]).toEqual([0x3f, 0xf0, 0, 0, 0, 0, 0, 0]);
  });

  it("returns numpy arrays of each dtype and order as NDArrays of the matching typed array", async (ctx) => {
    if (!numpy) ctx.skip();
    await using pool = await fixturePool(ARRAYS, { name: "arrays-out" });
    const cases: Array<[string, new (n: number) => ArrayLike<number | bigint>]> = [
      ["<f4", Float32Array],
      ["<f8", Float64Array],
      ["|i1", Int8Array],
      ["<i2", Int16Array],
      ["<i4", Int32Array],
      ["<i8", BigInt64Array],
      ["|u1", Uint8Array],
      ["<u2", Uint16Array],
      ["<u4", Uint32Array],
      ["<u8", BigUint64Array],
      ["|b1", Uint8Array],
    ];
    for (const [dtype, View] of cases) {
      const a = await pool.execute<NDArray>("make", { dtype, shape: [2, 3] });
      expect(a.dtype).toBe(dtype);
      expect(a.shape).toEqual([2, 3]);
      expect(a.order).toBe("C");
      expect(a.data).toBeInstanceOf(View);
      const expected = dtype === "|b1" ? [0, 1, 1, 1, 1, 1] : [0, 1, 2, 3, 4, 5];
      expect([...a.data].map(Number)).toEqual(expected);
    }
    const f = await pool.execute<NDArray>("make", { dtype: "<f8", shape: [2, 3], order: "F" });
    expect(f.order).toBe("F");
    expect([...f.data]).toEqual([0, 3, 1, 4, 2, 5]);
    const s = await pool.execute<NDArray>("strided");
    expect(s).toMatchObject({ dtype: "<i4", shape: [2, 2], order: "C" });
    expect([...s.data]).toEqual([0, 12, 3, 15]);
    for (const dtype of ["<c16", "<M8[ns]", ">i4", "<U2", "<f2"]) {
      const a = await pool.execute<NDArray>("make", { dtype, shape: [3] });
      expect(a.dtype).toBe(dtype);
      expect(a.data).toBeInstanceOf(Uint8Array);
      expect(a.bytes.byteLength).toBe(3 * a.itemsize);
    }
  });

  it("an object-dtype result fails as python_error naming the path; the worker keeps serving", async (ctx) => {
    if (!numpy) ctx.skip();
    await using pool = await fixturePool(ARRAYS, { name: "arrays-object" });
    const err = await rejectionOf(pool.execute("object_array"));
    expect(err).toMatchObject({ code: "python_error", pythonType: "TypeError" });
    expect(err.message).toContain("result['bad']: numpy array of dtype object is not supported");
    expect(await pool.execute("sum", { x: new Float64Array([1, 2, 3.5]) })).toBe(6.5);
  });

  it("carries a large array both ways", async (ctx) => {
    if (!numpy) ctx.skip();
    await using pool = await fixturePool(ARRAYS, { name: "arrays-large", maxPayloadBytes: 64 * 1024 * 1024 });
    const n = 4 * 1024 * 1024; // 16 MiB of float32
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = (i % 1000) / 8;
    const y = await pool.execute<NDArray>("scale", { x: ndarray(x, [1024, n / 1024]), factor: 2 });
    expect(y.shape).toEqual([1024, n / 1024]);
    expect(y.data).toBeInstanceOf(Float32Array);
    const data = y.data as Float32Array;
    for (const i of [0, 1, 999, 1000, n - 1]) expect(data[i]).toBe(x[i]! * 2);
  });

  it("large arrays over the socket arrive where a typed array can view them (no alignment copy)", async (ctx) => {
    if (!numpy) ctx.skip();
    await using pool = await fixturePool(ARRAYS, { name: "arrays-aligned", profile: processProfile({ sharedMemoryMinBytes: false }) });
    const before = ndarrayStats();
    const got = await pool.execute<Record<string, NDArray>>("echo", {
      value: { a: new Float64Array(40_000).fill(1.5), b: new Int8Array(3), c: new Float32Array(30_001).fill(2), d: new BigInt64Array(20_000).fill(3n) },
    });
    expect(got["a"]!.data).toBeInstanceOf(Float64Array);
    expect((got["d"]!.data as BigInt64Array)[19_999]).toBe(3n);
    // Over the local transport the worker places each attachment of a large reply at a
    // multiple of 8; the Connect transport's framing does not.
    if (TEST_TRANSPORT === "local") expect(ndarrayStats().alignmentCopies - before.alignmentCopies).toBe(0);
  });
});

