// The typed client against real Python workers: dispatch by the worker's Describe,
// the call options, argument validation against the schemas the worker derived from
// its type hints (nested dataclasses, TypedDicts, enums, bytes), cancellation.
import { describe, expect, it } from "vitest";
import { typedClient, type StreamingTool, type UnaryTool } from "@snakepit/core";
import { fixturePool, rejectionOf } from "./helpers.js";

const TYPED = "snakepit_fixtures.typed:TypedAdapter";

interface Point {
  x: number;
  y: number;
  label?: string;
}
interface Tree {
  name: string;
  children?: Tree[];
}
interface Tools {
  add: UnaryTool<{ a: number; b: number }, number>;
  blob: UnaryTool<{ data: Uint8Array; extra?: Uint8Array | null }, Uint8Array>;
  move: UnaryTool<{ point: Point; by?: Point | null }, Point>;
  walk: UnaryTool<{ tree: Tree }, string[]>;
  paint: UnaryTool<{ color: "red" | "green" | "blue"; level?: 1 | 2 }, "red" | "green" | "blue">;
  configure: UnaryTool<{ options: { verbose?: boolean; depth?: number }; user: number }, { step: number; of: number }>;
  progress: StreamingTool<{ steps?: number }, { step: number; of: number }>;
  ticks: StreamingTool<{ n: number }, number>;
}

describe("typed calls against real workers", () => {
  it("calls tools and streams generators through pool.client<Tools>()", async () => {
    await using pool = await fixturePool(TYPED);
    const tools = pool.client<Tools>();
    expect(await tools.add({ a: 1, b: 2 })).toBe(3);
    const steps: Array<{ step: number; of: number }> = [];
    for await (const s of tools.progress({ steps: 3 })) steps.push(s);
    expect(steps).toEqual([1, 2, 3].map((step) => ({ step, of: 3 })));
    const ticks: number[] = [];
    for await (const t of tools.ticks({ n: 4 })) ticks.push(t);
    expect(ticks).toEqual([0, 1, 2, 3]);
    expect(await tools.blob({ data: new Uint8Array([1, 2, 3]) })).toEqual(new Uint8Array([1, 2, 3]));
  });

  it("validates arguments against the worker's schemas, every problem at once, and lets good ones through", async () => {
    await using pool = await fixturePool(TYPED);
    const tools = typedClient<Tools>(pool, { validate: true });
    const tree = { name: "root", children: [{ name: "a" }, { name: 7 }, { children: [] }] };
    const err = await rejectionOf(tools.walk({ tree } as unknown as { tree: Tree }));
    expect(err.code).toBe("invalid_argument");
    expect(err.issues).toEqual([
      { path: "args.tree.children[1].name", message: "expected string, got number 7" },
      { path: "args.tree.children[2].name", message: "is required" },
    ]);
    expect(pool.stats().completed).toBe(0); // it never left Node
    const bad = await rejectionOf(
      tools.configure({ options: { verbose: "yes", depthh: 2 }, user: 1.5 } as unknown as { options: { verbose?: boolean }; user: number }),
    );
    expect(bad.issues).toEqual([
      { path: "args.options.verbose", message: 'expected boolean, got string "yes"' },
      { path: "args.options.depthh", message: "unexpected property (did you mean depth? expected verbose, depth)" },
      { path: "args.user", message: "expected integer, got number 1.5" },
    ]);
    const colour = await rejectionOf(tools.paint({ color: "purple" } as unknown as { color: "red" }));
    expect(colour.issues).toEqual([{ path: "args.color", message: 'expected "red" | "green" | "blue", got string "purple"' }]);
    const bytes = await rejectionOf(tools.blob({ data: "text" } as unknown as { data: Uint8Array }));
    expect(bytes.issues).toEqual([{ path: "args.data", message: 'expected Uint8Array, got string "text"' }]);
    // Good arguments pass and run.
    expect(await tools.walk({ tree: { name: "root", children: [{ name: "a" }] } })).toEqual(["root"]);
    expect(await tools.move({ point: { x: 1, y: 2 }, by: null })).toEqual({ x: 1, y: 2 });
    expect(await tools.paint({ color: "green", level: 2 })).toBe("green");
    expect(await tools.blob({ data: new Uint8Array([9]), extra: null })).toEqual(new Uint8Array([9]));
  });

  it("passes the call options on: a deadline and an abort reach the call", async () => {
    await using pool = await fixturePool(TYPED);
    const tools = pool.client<Tools>();
    const aborted = new AbortController();
    aborted.abort(new Error("stop"));
    expect((await rejectionOf(tools.add({ a: 1, b: 2 }, { signal: aborted.signal }))).code).toBe("aborted");
    const chunks: number[] = [];
    const controller = new AbortController();
    const err = await rejectionOf(
      (async () => {
        for await (const t of tools.ticks({ n: 1000 }, { signal: controller.signal })) {
          chunks.push(t);
          if (t === 2) controller.abort();
        }
      })(),
    );
    expect(err.code).toBe("aborted");
    expect(chunks.slice(0, 3)).toEqual([0, 1, 2]);
  });

  it("describe() carries the schemas and warnings the client and `snakepit types` use", async () => {
    await using pool = await fixturePool("snakepit_fixtures.typed:UntypedAdapter");
    const { tools } = await pool.describe();
    const opaque = tools.find((t) => t.name === "opaque")!;
    expect(opaque.paramsSchema).toMatchObject({ type: "object", properties: { thing: {}, count: { type: "integer" } }, required: ["thing", "count"] });
    expect(opaque.returnsSchema).toEqual({ $schema: "https://json-schema.org/draft/2020-12/schema" });
    expect(opaque.schemaWarnings).toEqual([
      "tool 'opaque', parameter 'thing': snakepit_fixtures.typed.Opaque has no JSON Schema; typed as unknown",
      "tool 'opaque', return: snakepit_fixtures.typed.Opaque has no JSON Schema; typed as unknown",
    ]);
  });
});
