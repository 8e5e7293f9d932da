// The typed client over a fake pool (no Python): dispatch by the worker's streaming
// flag, the call options passed through, Describe asked once, argument validation.
import { describe, expect, it } from "vitest";
import { SnakepitError } from "./errors.js";
import { ndarray } from "./ndarray.js";
import type { CallOptions, JsonSchema, PoolDescription, StreamingTool, ToolDescription, UnaryTool } from "./pool-types.js";
import { typedClient } from "./typed-client.js";

const DIALECT = "https://json-schema.org/draft/2020-12/schema";
const BYTES = {
  type: "object",
  properties: { "$snakepit:bytes": { type: "integer", minimum: 0 } },
  required: ["$snakepit:bytes"],
  additionalProperties: false,
  tsType: "Uint8Array",
};

function tool(name: string, paramsSchema: JsonSchema | undefined, streaming = false, names: string[] = []): ToolDescription {
  return {
    name,
    doc: "",
    params: names.map((n) => ({ name: n, type: "", required: true, kind: "positional_or_keyword" })),
    returns: "",
    streaming,
    async: false,
    schemaWarnings: [],
    ...(paramsSchema !== undefined ? { paramsSchema } : {}),
  };
}

const ADD = tool(
  "add",
  { $schema: DIALECT, type: "object", properties: { a: { type: "integer" }, b: { type: "integer" } }, required: ["a", "b"], additionalProperties: false },
  false,
  ["a", "b"],
);
const PROGRESS = tool("progress", { $schema: DIALECT, type: "object", properties: { steps: { type: "integer", default: 3 } }, additionalProperties: false }, true, ["steps"]);
const SHAPES = tool(
  "shapes",
  {
    $schema: DIALECT,
    type: "object",
    properties: {
      points: { type: "array", items: { $ref: "#/$defs/Point" } },
      mode: { enum: ["fast", "slow"] },
      maybe: { anyOf: [{ type: "integer" }, { type: "null" }] },
      data: BYTES,
      pair: { type: "array", prefixItems: [{ type: "integer" }, { type: "string" }], items: false, minItems: 2, maxItems: 2 },
      "odd key": { type: "boolean" },
    },
    required: ["points"],
    additionalProperties: false,
    $defs: {
      Point: { title: "Point", type: "object", properties: { x: { type: "number" }, y: { type: "number" } }, required: ["x", "y"], additionalProperties: false },
    },
  },
  false,
  ["points", "mode", "maybe", "data", "pair", "odd key"],
);
const OLD = tool("old", undefined, false, ["x"]);

interface Tools {
  add: UnaryTool<{ a: number; b: number }, number>;
  progress: StreamingTool<{ steps?: number }, { step: number }>;
  shapes: UnaryTool<Record<string, unknown>, string>;
  old: UnaryTool<{ x: unknown }, unknown>;
  missing: UnaryTool<{}, unknown>;
}

interface Recorded {
  kind: "execute" | "stream";
  tool: string;
  args: Record<string, unknown> | undefined;
  options: CallOptions | undefined;
}

function fakePool(tools: ToolDescription[] = [ADD, PROGRESS, SHAPES, OLD], describeDelayMs = 0) {
  const calls: Recorded[] = [];
  let describes = 0;
  let failDescribe: Error | undefined;
  const description: PoolDescription = {
    adapter: "fake:Adapter",
    tools,
    worker: { pid: 1, pythonVersion: "3.13", implementation: "cpython", freeThreaded: false, gilEnabled: true, threads: 1, adapter: "fake:Adapter", adapterThreadSafe: false, platform: "linux" },
  };
  const pool = {
    name: "fake",
    execute<T>(name: string, args?: Record<string, unknown>, options?: CallOptions): Promise<T> {
      calls.push({ kind: "execute", tool: name, args, options });
      if (name === "missing") return Promise.reject(new SnakepitError("unknown_tool", "no tool missing"));
      return Promise.resolve({ ran: name, args } as T);
    },
    stream<T>(name: string, args?: Record<string, unknown>, options?: CallOptions): AsyncIterable<T> {
      calls.push({ kind: "stream", tool: name, args, options });
      return (async function* () {
        for (let i = 1; i <= Number(args?.["steps"] ?? 3); i++) yield { step: i } as T;
      })();
    },
    async describe(): Promise<PoolDescription> {
      describes++;
      await new Promise((r) => setTimeout(r, describeDelayMs));
      if (failDescribe) throw failDescribe;
      return description;
    },
  };
  return {
    pool,
    calls,
    describes: () => describes,
    failDescribe: (err: Error | undefined) => (failDescribe = err),
  };
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function rejection(p: PromiseLike<unknown>): Promise<SnakepitError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SnakepitError) return err;
    throw err;
  }
  throw new Error("expected a rejection");
}

describe("typedClient", () => {
  it("calls a tool that returns with execute and a generator tool with stream, passing the options on", async () => {
    const f = fakePool();
    const tools = typedClient<Tools>(f.pool);
    const signal = new AbortController().signal;
    await expect(tools.add({ a: 1, b: 2 }, { timeoutMs: 500, sessionId: "s", idempotent: true, signal })).resolves.toEqual({ ran: "add", args: { a: 1, b: 2 } });
    expect(await collect(tools.progress({ steps: 2 }, { timeoutMs: 100 }))).toEqual([{ step: 1 }, { step: 2 }]);
    expect(await collect(tools.progress())).toHaveLength(3);
    expect(f.calls.map((c) => [c.kind, c.tool])).toEqual([
      ["execute", "add"],
      ["stream", "progress"],
      ["stream", "progress"],
    ]);
    expect(f.calls[0]!.options).toEqual({ timeoutMs: 500, sessionId: "s", idempotent: true, signal });
    expect(f.calls[1]!.options).toEqual({ timeoutMs: 100 });
  });

  it("asks Describe once per client, even for calls made at the same time", async () => {
    const f = fakePool(undefined, 20);
    const tools = typedClient<Tools>(f.pool);
    const [a, b, chunks] = await Promise.all([tools.add({ a: 1, b: 2 }), tools.add({ a: 3, b: 4 }), collect(tools.progress({ steps: 1 }))]);
    expect([a, b, chunks]).toEqual([{ ran: "add", args: { a: 1, b: 2 } }, { ran: "add", args: { a: 3, b: 4 } }, [{ step: 1 }]]);
    await tools.add({ a: 0, b: 0 });
    expect(f.describes()).toBe(1);
  });

  it("after Describe, a call is pool.execute's promise or pool.stream's iterable itself", async () => {
    const f = fakePool();
    const tools = typedClient<Tools>(f.pool);
    await tools.add({ a: 1, b: 1 });
    expect(tools.add({ a: 1, b: 1 })).toBeInstanceOf(Promise);
    expect(typeof (tools.progress() as AsyncIterable<unknown> & { next?: unknown }).next).toBe("function");
  });

  it("a tool that returns runs even when nobody awaits it, as pool.execute does", async () => {
    const f = fakePool(undefined, 5);
    const tools = typedClient<Tools>(f.pool);
    void tools.add({ a: 1, b: 2 });
    await new Promise((r) => setTimeout(r, 30));
    expect(f.calls.map((c) => c.tool)).toEqual(["add"]);
  });

  it("a generator tool does not start until it is iterated, and awaiting it explains why not", async () => {
    const f = fakePool();
    const tools = typedClient<Tools>(f.pool);
    const pending = tools.progress({ steps: 1 });
    await new Promise((r) => setTimeout(r, 20));
    expect(f.calls).toEqual([]);
    expect(await collect(pending)).toEqual([{ step: 1 }]);
    const fresh = typedClient<Tools>(fakePool().pool);
    const err = await rejection(fresh.progress() as unknown as PromiseLike<unknown>);
    expect(err.code).toBe("invalid_argument");
    expect(err.message).toBe("progress is a generator tool: iterate it (for await ... of), do not await it");
  });

  it("a tool the worker does not have reaches execute, which says unknown_tool", async () => {
    const f = fakePool();
    const tools = typedClient<Tools>(f.pool, { validate: true });
    expect((await rejection(tools.missing())).code).toBe("unknown_tool");
  });

  it("when Describe fails the call still runs (and reports its own error); the next call asks again", async () => {
    const f = fakePool();
    f.failDescribe(new SnakepitError("pool_closed", "closed"));
    const tools = typedClient<Tools>(f.pool);
    await expect(tools.add({ a: 1, b: 2 })).resolves.toEqual({ ran: "add", args: { a: 1, b: 2 } });
    f.failDescribe(undefined);
    await tools.add({ a: 1, b: 2 });
    expect(f.describes()).toBe(2);
  });

  it("is a plain object to look at: not thenable, symbols and unknown keys are harmless, read-only", async () => {
    const tools = typedClient<Tools>(fakePool().pool);
    expect((tools as unknown as { then?: unknown }).then).toBeUndefined();
    expect(await Promise.resolve(tools)).toBe(tools);
    expect((tools as unknown as Record<symbol, unknown>)[Symbol.iterator]).toBeUndefined();
    expect(tools.add).toBe(tools.add);
    expect(tools.add.name).toBe("add");
    expect(() => {
      (tools as unknown as Record<string, unknown>)["add"] = 1;
    }).toThrow(TypeError);
  });

  it("checks its options", () => {
    const { pool } = fakePool();
    expect(() => typedClient<Tools>(pool, { validate: "yes" as unknown as boolean })).toThrow("client options.validate must be a boolean");
    expect(() => typedClient<Tools>(pool, null as unknown as {})).toThrow("client options must be an object");
  });
});

describe("argument validation (validate: true)", () => {
  it("rejects bad arguments with invalid_argument, every problem with its path, before the call leaves", async () => {
    const f = fakePool();
    const tools = typedClient<Tools>(f.pool, { validate: true });
    const err = await rejection(tools.add({ a: "1", c: 3 } as unknown as { a: number; b: number }));
    expect(err.code).toBe("invalid_argument");
    expect(err.tool).toBe("add");
    expect(err.pool).toBe("fake");
    expect(err.issues).toEqual([
      { path: "args.b", message: "is required" },
      { path: "args.a", message: "expected integer, got string \"1\"" },
      { path: "args.c", message: "unexpected argument (did you mean b? add takes a, b)" },
    ]);
    expect(err.message).toBe('call add: invalid arguments (3 problems): args.b: is required; args.a: expected integer, got string "1"; args.c: unexpected argument (did you mean b? add takes a, b)');
    expect(f.calls.filter((c) => c.tool === "add")).toEqual([]);
    await expect(tools.add({ a: 1, b: 2 })).resolves.toBeDefined();
  });

  it("reports nested paths, enums, unions, bytes, tuples and definitions", async () => {
    const tools = typedClient<Tools>(fakePool().pool, { validate: true });
    const err = await rejection(
      tools.shapes({
        points: [{ x: 1, y: 2 }, { x: "a", y: 2 }, { x: 1, yy: 2 }],
        mode: "medium",
        maybe: "n",
        data: "not bytes",
        pair: [1, 2, 3],
        "odd key": 1,
      }),
    );
    expect(err.issues).toEqual([
      { path: "args.points[1].x", message: 'expected number, got string "a"' },
      { path: "args.points[2].y", message: "is required" },
      { path: "args.points[2].yy", message: "unexpected property (did you mean y? expected x, y)" },
      { path: "args.mode", message: 'expected "fast" | "slow", got string "medium"' },
      { path: "args.maybe", message: 'expected integer or null, got string "n"' },
      { path: "args.data", message: 'expected Uint8Array, got string "not bytes"' },
      { path: "args.pair", message: "array has too many items (3 > 2)" },
      { path: "args.pair[1]", message: "expected string, got number 2" },
      { path: "args.pair", message: "has more items than allowed" },
      { path: 'args["odd key"]', message: "expected boolean, got number 1" },
    ]);
  });

  it("checks what travels, as the schema describes it: Uint8Array, undefined properties, toJSON", async () => {
    const f = fakePool();
    const tools = typedClient<Tools>(f.pool, { validate: true });
    const args = { points: [{ x: 1, y: 2, toJSON: undefined }], data: new Uint8Array([1]), maybe: undefined, pair: [1, "x"] };
    await expect(tools.shapes(args)).resolves.toBeDefined();
    const when = { toJSON: () => ({ x: 0, y: 0 }) };
    await expect(tools.shapes({ points: [when] })).resolves.toBeDefined();
    // The arguments go out unchanged.
    expect(f.calls.at(-2)!.args).toBe(args);
    // A BigInt does not travel (the codec refuses it): it is no integer here either.
    const big = await rejection(tools.shapes({ points: [], pair: [BigInt(1), "x"] }));
    expect(big.issues).toEqual([{ path: "args.pair[0]", message: "expected integer, got bigint 1" }]);
  });

  it("a streaming tool is checked when it is called, before anything runs", async () => {
    const f = fakePool();
    const tools = typedClient<Tools>(f.pool, { validate: true });
    await tools.add({ a: 1, b: 1 }); // Describe is in: the check is synchronous
    expect(() => tools.progress({ steps: "3" } as unknown as { steps: number })).toThrow(
      'call progress: invalid arguments (1 problem): args.steps: expected integer, got string "3"',
    );
    const fresh = typedClient<Tools>(fakePool().pool, { validate: true });
    await expect(collect(fresh.progress({ steps: "3" } as unknown as { steps: number }))).rejects.toThrow("args.steps: expected integer");
    expect(f.calls.filter((c) => c.kind === "stream")).toEqual([]);
  });

  it("a tool without a schema (a worker from before schemas) is not checked", async () => {
    const tools = typedClient<Tools>(fakePool().pool, { validate: true });
    await expect(tools.old({ x: 1, anything: true } as unknown as { x: unknown })).resolves.toBeDefined();
  });

  it("is off by default", async () => {
    const f = fakePool();
    const tools = typedClient<Tools>(f.pool);
    await tools.add({ a: "1" } as unknown as { a: number; b: number });
    expect(f.calls.map((c) => c.tool)).toEqual(["add"]);
  });

  it("checks an NDArray or a typed array against the ndarray schema, and refuses a plain list there", async () => {
    const NDARRAY = { type: "object", properties: { "$snakepit:ndarray": { type: "object" } }, required: ["$snakepit:ndarray"], additionalProperties: false, tsType: "NDArray" };
    const PREDICT = tool("predict", { $schema: DIALECT, type: "object", properties: { x: NDARRAY }, required: ["x"], additionalProperties: false }, false, ["x"]);
    const f = fakePool([PREDICT]);
    const tools = typedClient<{ predict: UnaryTool<{ x: unknown }, unknown> }>(f.pool, { validate: true });
    await expect(tools.predict({ x: ndarray(new Float32Array(6), [2, 3]) })).resolves.toBeDefined();
    await expect(tools.predict({ x: new Float64Array(3) })).resolves.toBeDefined();
    const list = await rejection(tools.predict({ x: [1, 2, 3] }));
    expect(list.code).toBe("invalid_argument");
    expect(list.issues).toEqual([{ path: "args.x", message: "expected NDArray, got an array of 3" }]);
  });
});
