// generateToolTypes on hand-made descriptions (no Python): names, merging of the tools'
// definitions, tuples, unknowns, and tools from a worker that sends no schemas.
import type { JsonSchema, ToolDescription } from "@snakepit/core";
import { describe, expect, it } from "vitest";
import { generateToolTypes } from "./generate-types.js";

const DIALECT = "https://json-schema.org/draft/2020-12/schema";

function tool(name: string, paramsSchema?: JsonSchema, returnsSchema?: JsonSchema, extra: Partial<ToolDescription> = {}): ToolDescription {
  return {
    name,
    doc: "",
    params: [],
    returns: "",
    streaming: false,
    async: false,
    schemaWarnings: [],
    ...(paramsSchema !== undefined ? { paramsSchema } : {}),
    ...(returnsSchema !== undefined ? { returnsSchema } : {}),
    ...extra,
  };
}

const point = (x: string) => ({ title: "Point", type: "object", properties: { [x]: { type: "number" } }, required: [x], additionalProperties: false });
const args = (properties: Record<string, unknown>, defs?: Record<string, unknown>) => ({
  $schema: DIALECT,
  type: "object",
  properties,
  required: Object.keys(properties),
  additionalProperties: false,
  ...(defs ? { $defs: defs } : {}),
});

describe("generateToolTypes", () => {
  it("one definition for the same named type in several tools, a fresh name for a different one", async () => {
    const { source } = await generateToolTypes(
      [
        tool("a", args({ p: { $ref: "#/$defs/Point" } }, { Point: point("x") }), { $schema: DIALECT, $ref: "#/$defs/Point", $defs: { Point: point("x") } }),
        tool("b", args({ q: { $ref: "#/$defs/Point" } }, { Point: point("lat") }), { $schema: DIALECT, type: "null" }),
      ],
      { adapter: "m:C" },
    );
    expect(source.match(/export interface Point \{/g)).toHaveLength(1);
    expect(source).toMatch(/export interface Point \{\n {2}x: number;\n\}/);
    expect(source).toMatch(/export interface Point2 \{\n {2}lat: number;\n\}/);
    expect(source).toContain("export type AResult = Point;");
    expect(source).toMatch(/export interface BArgs \{\n {2}q: Point2;\n\}/);
  });

  it("a Python class never takes a tool's argument or result name", async () => {
    const { source } = await generateToolTypes(
      [tool("add", args({ x: { $ref: "#/$defs/AddArgs" } }, { AddArgs: { title: "AddArgs", enum: [1, 2] } }), { $schema: DIALECT, type: "integer" })],
      { adapter: "m:C" },
    );
    expect(source).toContain("export type AddArgs2 = 1 | 2;");
    expect(source).toMatch(/export interface AddArgs \{\n {2}x: AddArgs2;\n\}/);
  });

  it("draft 2020-12 tuples, unknowns, pydantic's property titles, tools sorted by name", async () => {
    const { source } = await generateToolTypes(
      [
        tool("zeta", args({ pair: { type: "array", prefixItems: [{ type: "integer" }, { type: "string" }], items: false, minItems: 2, maxItems: 2 } }), { $schema: DIALECT }),
        tool("alpha", args({ anything: {}, titled: { title: "Titled", type: "string", description: "Said so." } }), { $schema: DIALECT, type: "string" }),
      ],
      { adapter: "m:C" },
    );
    expect(source).toContain("pair: [number, string];");
    expect(source).toContain("export type ZetaResult = unknown;");
    expect(source).toContain("anything: unknown;");
    expect(source).not.toContain("Titled");
    expect(source).toContain("   * Said so.\n   */\n  titled: string;");
    expect(source.indexOf("alpha: {")).toBeLessThan(source.indexOf("zeta: {"));
  });

  it("a worker that sends no schemas still gives a client: any arguments, unknown results", async () => {
    const { source } = await generateToolTypes([tool("old", undefined, undefined, { doc: "From an old worker." })], { adapter: "m:C" });
    expect(source).toMatch(/export interface OldArgs \{\n {2}\[k: string\]: unknown \| undefined;\n\}/);
    expect(source).toContain("export type OldResult = unknown;");
    expect(source).toContain("   * From an old worker.\n   */\n  old: {readonly args: OldArgs; readonly returns: OldResult};");
  });

  it("streaming tools yield chunks; the header lists the warnings", async () => {
    const { source, warnings } = await generateToolTypes(
      [tool("ticks", args({}), { $schema: DIALECT, type: "integer" }, { streaming: true, schemaWarnings: ["tool 'ticks', parameter 'x': unknown"] })],
      { adapter: "m:C", typeName: "T" },
    );
    expect(source).toContain("ticks: {readonly args: TicksArgs; readonly yields: TicksChunk};");
    expect(source).toContain("export interface T {");
    expect(source).toContain("//   tool 'ticks', parameter 'x': unknown\n");
    expect(warnings).toEqual(["tool 'ticks', parameter 'x': unknown"]);
    await expect(generateToolTypes([], { adapter: "m:C", typeName: "not-a-name" })).rejects.toThrow('the type name "not-a-name" is not a TypeScript identifier');
  });

  it("types numpy arrays as core's NDArray, and imports it only when a tool uses one", async () => {
    const ndarray = { type: "object", properties: { "$snakepit:ndarray": { type: "object" } }, required: ["$snakepit:ndarray"], additionalProperties: false, tsType: "NDArray" };
    const withArrays = await generateToolTypes(
      [tool("predict", args({ x: ndarray }), { $schema: DIALECT, type: "object", additionalProperties: ndarray })],
      { adapter: "m:C" },
    );
    expect(withArrays.source).toContain('import type { NDArray } from "@snakepit/core";');
    expect(withArrays.source).toMatch(/export interface PredictArgs \{\n {2}x: NDArray;\n\}/);
    expect(withArrays.source).toMatch(/\[k: string\]: NDArray \| undefined;/);
    const without = await generateToolTypes([tool("add", args({ a: { type: "integer" } }), { $schema: DIALECT, type: "integer" })], { adapter: "m:C" });
    expect(without.source).not.toContain("import type");
  });
});
