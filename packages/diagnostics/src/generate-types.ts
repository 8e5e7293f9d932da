/**
 * TypeScript for an adapter's tools, from the JSON Schemas their Describe carries
 * (derived in Python from the type hints): a `Tools` interface with one entry per
 * tool (`{ args; returns }` or `{ args; yields }`, the docstring as JSDoc), an
 * interface for each tool's arguments, a type for each result or chunk, and the named
 * types they use (dataclasses, TypedDicts, enums, pydantic models). The printing is
 * json-schema-to-typescript's; this file only merges the tools' schemas into one
 * document it can print and names the types.
 *
 * `pool.client<Tools>()` (core) takes the `Tools` interface.
 */
import type { JsonSchema, ToolDescription } from "@snakepit/core";
import { compile, type JSONSchema } from "json-schema-to-typescript";

export interface GenerateTypesOptions {
  /** `module:Class`, named in the header. */
  adapter: string;
  /** The command that regenerates the file, named in the header. */
  command?: string;
  /** The name of the interface that lists the tools. Default "Tools". */
  typeName?: string;
}

export interface GeneratedTypes {
  /** The TypeScript module. */
  readonly source: string;
  /** The worker's schema warnings (annotations typed as unknown), one per line. */
  readonly warnings: readonly string[];
}

type Schema = { [keyword: string]: unknown };

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** The TypeScript module for these tools (sorted by name, so the output is stable). */
export async function generateToolTypes(tools: readonly ToolDescription[], options: GenerateTypesOptions): Promise<GeneratedTypes> {
  const typeName = options.typeName ?? "Tools";
  if (!IDENTIFIER.test(typeName)) throw new Error(`the type name ${JSON.stringify(typeName)} is not a TypeScript identifier`);
  const sorted = [...tools].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const definitions: Record<string, Schema> = {};
  const taken = new Set<string>([typeName]);
  const fresh = (wanted: string): string => {
    const base = pascal(wanted) || "Type";
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base}${n}`;
    taken.add(name);
    return name;
  };
  // The argument and result names first, so a Python class never takes "AddArgs".
  const names = new Map(sorted.map((t) => [t.name, { args: fresh(`${t.name}Args`), result: fresh(`${t.name}${t.streaming ? "Chunk" : "Result"}`) }]));
  const shared = new Map<string, string>(); // a definition's JSON -> its name here

  const properties: Record<string, Schema> = {};
  const warnings: string[] = [];
  for (const tool of sorted) {
    const { args, result } = names.get(tool.name)!;
    warnings.push(...tool.schemaWarnings);
    const importDefs = (root: JsonSchema | undefined): { body: Schema; renames: Map<string, string> } => {
      const schema: Schema = isObject(root) ? { ...root } : {};
      const defs = isObject(schema["$defs"]) ? (schema["$defs"] as Record<string, unknown>) : {};
      delete schema["$defs"];
      delete schema["$schema"];
      const renames = new Map<string, string>();
      // Same name and same body across tools: one type. Otherwise a fresh name.
      for (const [name, body] of Object.entries(defs)) {
        const key = `${name}\u0000${stableJson(body)}`;
        const known = shared.get(key);
        if (known !== undefined) renames.set(name, known);
        else {
          const mine = fresh(name);
          shared.set(key, mine);
          renames.set(name, mine);
        }
      }
      for (const [name, body] of Object.entries(defs)) {
        const mine = renames.get(name)!;
        if (!(mine in definitions)) definitions[mine] = { ...(normalize(body, renames, true) as Schema), title: mine };
      }
      return { body: schema, renames };
    };
    const params = importDefs(tool.paramsSchema);
    const returns = importDefs(tool.returnsSchema);
    const argsSchema = normalize(isObject(tool.paramsSchema) ? params.body : { type: "object", additionalProperties: true }, params.renames, true) as Schema;
    definitions[args] = { ...argsSchema, title: args, description: argsSchema["description"] ?? `The arguments of ${tool.name}.` };
    const resultSchema = normalize(returns.body, returns.renames, true) as Schema;
    definitions[result] = { ...resultSchema, title: result };
    const kind = tool.streaming ? "yields" : "returns";
    properties[tool.name] = {
      tsType: `{ readonly args: ${args}; readonly ${kind}: ${result} }`,
      ...(toolDoc(tool) ? { description: toolDoc(tool) } : {}),
    };
  }

  const root: Schema = {
    title: typeName,
    description: `The tools of ${options.adapter}, for \`pool.client<${typeName}>()\`.`,
    type: "object",
    properties,
    required: Object.keys(properties),
    additionalProperties: false,
    definitions,
  };
  const body = await compile(root as JSONSchema, typeName, {
    bannerComment: "",
    additionalProperties: false,
    unreachableDefinitions: true,
    declareExternallyReferenced: true,
    strictIndexSignatures: true,
    unknownAny: true,
    format: true,
    style: { printWidth: 100, singleQuote: false, trailingComma: "all", semi: true, tabWidth: 2, useTabs: false },
  });
  const regenerate = options.command ?? `snakepit types --adapter ${options.adapter} -o <file>`;
  const header = [
    `// Generated by \`snakepit types\` from the Python adapter ${options.adapter}.`,
    "// Do not edit: change the tools' type hints and docstrings, then regenerate:",
    `//   ${regenerate}`,
    "// CI can run the same command with --check, which fails when this file is stale.",
    ...(warnings.length ? ["//", "// Typed as unknown (no JSON Schema for the annotation):", ...warnings.map((w) => `//   ${w}`)] : []),
    "",
  ].join("\n");
  const printed = body.replace(REFERENCED_NOTE, "").trimEnd();
  // numpy arrays are typed as core's NDArray: the module imports it when a tool uses one.
  const usesNDArray = sorted.some((t) => JSON.stringify([t.paramsSchema, t.returnsSchema]).includes('"tsType":"NDArray"'));
  const imports = usesNDArray ? 'import type { NDArray } from "@snakepit/core";\n\n' : "";
  return { source: `${header}\n${imports}${printed}\n`, warnings };
}

function toolDoc(tool: ToolDescription): string {
  const doc = tool.doc.trim();
  const lines = [doc];
  if (tool.streaming) lines.push("", "A generator tool: iterate it (`for await`); leaving the loop early stops it in Python.");
  return lines.join("\n").trim();
}

/**
 * What json-schema-to-typescript prints from: refs into `definitions`, draft 2020-12
 * tuples (`prefixItems`) as draft-07 ones (`items: [...]`), titles only on the named
 * types (pydantic titles every property, and each title would become a type).
 */
function normalize(node: unknown, renames: Map<string, string>, top: boolean): unknown {
  if (Array.isArray(node)) return node.map((n) => normalize(n, renames, false));
  if (!isObject(node)) return node;
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "$schema" || key === "$defs" || (key === "title" && !top)) continue;
    if (key === "$ref" && typeof value === "string") {
      // The named type itself (json-schema-to-typescript would copy the definition under a new name).
      const m = /^#\/\$defs\/(.+)$/.exec(value);
      out["tsType"] = m ? (renames.get(decodeURIComponent(m[1]!)) ?? pascal(m[1]!)) : "unknown";
      continue;
    }
    if (key === "properties" || key === "patternProperties" || key === "definitions") {
      out[key] = Object.fromEntries(Object.entries(isObject(value) ? value : {}).map(([k, v]) => [k, normalize(v, renames, false)]));
      continue;
    }
    out[key] = normalize(value, renames, false);
  }
  if (Array.isArray(out["prefixItems"])) {
    const rest = out["items"];
    out["items"] = out["prefixItems"];
    delete out["prefixItems"];
    if (rest === false || rest === undefined) out["additionalItems"] = false;
    else out["additionalItems"] = rest;
  }
  // Any, object, no annotation: unknown (json-schema-to-typescript would print an object).
  if (!Object.keys(out).some((k) => CONSTRAINING.has(k))) out["tsType"] = "unknown";
  return out;
}

/** Keywords that say what a value is; a schema with none of them accepts anything. */
const CONSTRAINING = new Set(["type", "enum", "const", "anyOf", "oneOf", "allOf", "not", "items", "prefixItems", "properties", "additionalProperties", "patternProperties", "tsType", "$ref"]);

/** json-schema-to-typescript's note under each named type, which says nothing to a reader here. */
const REFERENCED_NOTE = /\n \*\n \* This interface was referenced by `[^`]*`'s JSON-Schema\n \* via the `definition` "[^"]*"\.|\/\*\*\n \* This interface was referenced by `[^`]*`'s JSON-Schema\n \* via the `definition` "[^"]*"\.\n \*\/\n/g;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function pascal(name: string): string {
  const words = name.split(/[^A-Za-z0-9]+/).filter(Boolean);
  const joined = words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join("");
  return /^[0-9]/.test(joined) ? `T${joined}` : joined;
}

/** JSON with sorted keys, to compare definitions. */
function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (isObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(v[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}
