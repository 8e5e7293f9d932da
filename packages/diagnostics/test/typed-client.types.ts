// Type-level tests of the generated client: `tsc` checks this file in the package's
// typecheck (it never runs). typed-tools.gen.ts is `snakepit types` output for
// snakepit_fixtures.typed:TypedAdapter (types-command.int.test.ts keeps it current),
// so a wrong generated type fails here: a right call stops compiling, a wrong one
// compiles and its @ts-expect-error becomes unused, or an exact type differs.
import type { CallOptions, Pool, TypedClient } from "@snakepit/core";
import type { Color, MoveArgs, Point, Step, Tools, Tree } from "./typed-tools.gen.js";

/** Compiles only when A and B are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | undefined {
  return undefined;
}

declare const pool: Pool;
const tools = pool.client<Tools>();
const signal = new AbortController().signal;

export async function checks(): Promise<void> {
  // ---- int, float, str, bool, None --------------------------------------------
  const n = await tools.add({ a: 1, b: 2 });
  assertType<Equal<typeof n, number>>();
  // @ts-expect-error a is an int, not a string
  await tools.add({ a: "1", b: 2 });
  // @ts-expect-error b is required
  await tools.add({ a: 1 });
  // @ts-expect-error no such argument
  await tools.add({ a: 1, b: 2, c: 3 });
  // @ts-expect-error the arguments object is required when an argument is
  await tools.add();
  await tools.scalars({ i: 1, f: 1.5, s: "s", b: true });
  await tools.scalars({ i: 1, f: 1.5, s: "s", b: true, n: null });
  // @ts-expect-error bool, not a number
  await tools.scalars({ i: 1, f: 1.5, s: "s", b: 1 });

  // ---- the call options ---------------------------------------------------------
  await tools.add({ a: 1, b: 2 }, { timeoutMs: 100, signal, sessionId: "s", idempotent: true });
  // @ts-expect-error not a call option
  await tools.add({ a: 1, b: 2 }, { retries: 3 });
  assertType<Equal<Parameters<typeof tools.add>, [args: { a: number; b: number }, options?: CallOptions]>>();

  // ---- bytes ----------------------------------------------------------------------
  const blob = await tools.blob({ data: new Uint8Array(1) });
  assertType<Equal<typeof blob, Uint8Array>>();
  // @ts-expect-error bytes are a Uint8Array, not a string
  await tools.blob({ data: "x" });

  // ---- containers -------------------------------------------------------------------
  await tools.containers({ names: ["a"], pair: [1, "x"], rest: [1, 2.5], tags: ["t"], frozen: [1], scores: { a: 1 }, seq: [1], mapping: { a: [1] } });
  // @ts-expect-error a tuple[int, str] has two items of those types
  await tools.containers({ names: [], pair: ["x", 1], rest: [], tags: [], frozen: [], scores: {}, seq: [], mapping: {} });
  // @ts-expect-error list[str]
  await tools.containers({ names: [1], pair: [1, "x"], rest: [], tags: [], frozen: [], scores: {}, seq: [], mapping: {} });
  const map = await tools.containers({ names: [], pair: [1, "x"], rest: [], tags: [], frozen: [], scores: {}, seq: [], mapping: {} });
  assertType<Equal<(typeof map)[string], number[] | undefined>>();

  // ---- Optional, Union, Literal, Enum -------------------------------------------------
  const maybe = await tools.unions({ maybe: null, either: "x" });
  assertType<Equal<typeof maybe, number | null>>();
  // @ts-expect-error either is int | str
  await tools.unions({ maybe: 1, either: true });
  const ok = await tools.choose({ mode: "fast", level: 3 });
  assertType<Equal<typeof ok, "ok">>();
  // @ts-expect-error not one of the literals
  await tools.choose({ mode: "medium" });
  // @ts-expect-error level is Literal[1, 2, 3]
  await tools.choose({ mode: "slow", level: 4 });
  const color = await tools.paint({ color: "red", level: 2 });
  assertType<Equal<typeof color, Color>>();
  assertType<Equal<Color, "red" | "green" | "blue">>();
  // @ts-expect-error not a Color value
  await tools.paint({ color: "purple" });

  // ---- dataclasses, TypedDicts, NewType ------------------------------------------------
  const p = await tools.move({ point: { x: 1, y: 2 } });
  assertType<Equal<typeof p, Point>>();
  assertType<Equal<Point, { x: number; y: number; label?: string }>>();
  assertType<Equal<MoveArgs["by"], Point | null | undefined>>();
  // @ts-expect-error y is required
  await tools.move({ point: { x: 1 } });
  const tree: Tree = { name: "root", children: [{ name: "leaf", children: [] }] };
  const names = await tools.walk({ tree });
  assertType<Equal<typeof names, string[]>>();
  const step = await tools.configure({ options: {}, user: 7 });
  assertType<Equal<typeof step, Step>>();
  await tools.configure({ options: { verbose: true, depth: 2 }, user: 7 });
  // @ts-expect-error depth is an int
  await tools.configure({ options: { depth: "2" }, user: 7 });

  // ---- Any, keyword-only, **kwargs --------------------------------------------------------
  const anything = await tools.anything({ value: { any: "thing" }, strict: true, more: 1 });
  assertType<Equal<typeof anything, unknown>>();

  // ---- streaming tools are AsyncIterables of their chunks ----------------------------------
  for await (const s of tools.progress({ steps: 2 })) {
    assertType<Equal<typeof s, Step>>();
    s.of.toFixed();
  }
  for await (const s of tools.progress()) s.step.toFixed(); // every argument is optional
  for await (const i of tools.ticks({ n: 3 }, { signal })) assertType<Equal<typeof i, number>>();
  // @ts-expect-error a generator tool is iterated, not awaited for a result
  (await tools.progress({ steps: 1 })).step;
  // @ts-expect-error n is required
  tools.ticks({});

  // ---- only the adapter's tools ----------------------------------------------------------------
  // @ts-expect-error no such tool
  await tools.nope({});

  // typedClient<T>(pool) is the same type.
  const same: TypedClient<Tools> = tools;
  void same;
}
