/**
 * The typed client (`pool.client<Tools>()`, `typedClient<Tools>(pool)`): a proxy with
 * one method per tool over `execute` and `stream`, typed by the interface
 * `snakepit types` generates from the Python tools' type hints; optionally checking
 * arguments against each tool's JSON Schema before a call leaves Node.
 *
 * Whether a tool streams is the worker's word (Describe), read once per client: until
 * that answer is in, a call returns an object that is both awaitable and iterable and
 * becomes the right one when it arrives; after it, a call is `pool.execute(...)` or
 * `pool.stream(...)` itself.
 */
import { Validator, type OutputUnit, type Schema } from "@cfworker/json-schema";
import { closeMatches } from "./did-you-mean.js";
import { SnakepitError, type ConfigIssue } from "./errors.js";
import { isNDArray } from "./ndarray.js";
import type {
  CallOptions,
  JsonSchema,
  Pool,
  PoolDescription,
  ToolDescription,
  ToolTypes,
  TypedClient,
  TypedClientOptions,
} from "./pool-types.js";

/** What the typed client needs of a pool. */
type ToolRunner = Pick<Pool, "name" | "execute" | "stream" | "describe">;

interface ToolFacts {
  readonly streaming: boolean;
  readonly description: ToolDescription | undefined;
  /** Compiled on first use when validating. */
  validator?: ArgumentValidator | null;
}

/**
 * A typed client over `pool`: `typedClient<Tools>(pool).add({ a: 1, b: 2 })`. The same
 * as `pool.client<Tools>(options)`. Each method takes the tool's arguments object and
 * then the call options (`timeoutMs`, `signal`, `sessionId`, `idempotent`).
 */
export function typedClient<T extends ToolTypes<T>>(pool: ToolRunner, options: TypedClientOptions = {}): TypedClient<T> {
  if (typeof options !== "object" || options === null) {
    throw new SnakepitError("invalid_argument", "client options must be an object ({ validate })", { pool: pool.name });
  }
  if (options.validate !== undefined && typeof options.validate !== "boolean") {
    throw new SnakepitError("invalid_argument", "client options.validate must be a boolean", { pool: pool.name });
  }
  const validate = options.validate === true;
  let facts: Map<string, ToolFacts> | undefined;
  let loading: Promise<Map<string, ToolFacts>> | undefined;

  const load = (): Promise<Map<string, ToolFacts>> => {
    loading ??= pool.describe().then(
      (d: PoolDescription) => (facts = new Map(d.tools.map((t) => [t.name, { streaming: t.streaming, description: t }]))),
      (err: unknown) => {
        loading = undefined; // a later call asks again
        throw err;
      },
    );
    return loading;
  };

  const check = (tool: string, fact: ToolFacts | undefined, args: unknown): void => {
    if (!validate || fact?.description === undefined) return; // an unknown tool: execute says unknown_tool
    if (fact.validator === undefined) fact.validator = compileValidator(fact.description);
    if (fact.validator === null) return; // the worker sent no schema
    const issues = fact.validator(args);
    if (issues.length) throw invalidArguments(pool.name, tool, issues);
  };

  const unary = (tool: string, fact: ToolFacts | undefined, args: Record<string, unknown> | undefined, opts: CallOptions | undefined) => {
    try {
      check(tool, fact, args ?? {});
    } catch (err) {
      return Promise.reject(err);
    }
    return pool.execute(tool, args, opts);
  };

  const streamed = (tool: string, fact: ToolFacts | undefined, args: Record<string, unknown> | undefined, opts: CallOptions | undefined) => {
    check(tool, fact, args ?? {});
    return pool.stream(tool, args, opts);
  };

  const methods = new Map<string, (args?: Record<string, unknown>, opts?: CallOptions) => unknown>();
  const method = (tool: string) => {
    let fn = methods.get(tool);
    if (fn === undefined) {
      fn = (args?: Record<string, unknown>, opts?: CallOptions): unknown => {
        if (facts !== undefined) {
          const fact = facts.get(tool);
          return fact?.streaming ? streamed(tool, fact, args, opts) : unary(tool, fact, args, opts);
        }
        return pendingCall(
          load().then(
            (f) => f.get(tool),
            // Describe failed (the pool closed, say): run the call, which reports why.
            () => undefined,
          ),
          (fact) => unary(tool, fact, args, opts),
          (fact) => streamed(tool, fact, args, opts),
        );
      };
      Object.defineProperty(fn, "name", { value: tool });
      methods.set(tool, fn);
    }
    return fn;
  };

  return new Proxy(Object.create(null) as object, {
    get(_target, key) {
      // "then": so that `await client` is the client, not a call to a tool named "then".
      if (typeof key !== "string" || key === "then") return undefined;
      return method(key);
    },
    has: (_target, key) => typeof key === "string" && key !== "then",
    set: () => false,
    defineProperty: () => false,
    deleteProperty: () => false,
  }) as TypedClient<T>;
}

/**
 * A call made before the client knows whether the tool streams: awaitable (a tool
 * that returns starts as soon as that is known, awaited or not) and iterable (a
 * generator tool starts when iterated, as `pool.stream` does).
 */
function pendingCall(
  fact: Promise<ToolFacts | undefined>,
  run: (fact: ToolFacts | undefined) => Promise<unknown>,
  iterate: (fact: ToolFacts | undefined) => AsyncIterable<unknown>,
): PromiseLike<unknown> & AsyncIterable<unknown> {
  let result: Promise<unknown> | undefined;
  const start = () =>
    (result ??= fact.then((f) => {
      if (f?.streaming) {
        throw new SnakepitError("invalid_argument", `${f.description?.name ?? "the tool"} is a generator tool: iterate it (for await ... of), do not await it`);
      }
      return run(f);
    }));
  // A tool that returns runs even if nobody awaits it, like pool.execute.
  void fact.then((f) => {
    if (!f?.streaming) void start();
  });
  return {
    then(onFulfilled, onRejected) {
      return start().then(onFulfilled, onRejected);
    },
    [Symbol.asyncIterator]() {
      let inner: AsyncIterator<unknown> | undefined;
      const open = async () => (inner ??= iterate(await fact)[Symbol.asyncIterator]());
      return {
        next: async () => (await open()).next(),
        return: async (value?: unknown) => {
          if (inner === undefined) return { done: true, value: undefined };
          return (await inner.return?.(value)) ?? { done: true, value: undefined };
        },
        throw: async (err?: unknown) => {
          if (inner?.throw === undefined) throw err;
          return inner.throw(err);
        },
      };
    },
  };
}

// ---- argument validation -------------------------------------------------------

/** Checks an arguments object; returns every problem, each with its path (`args.points[2].x`). */
export type ArgumentValidator = (args: unknown) => ConfigIssue[];

/** A validator for the tool's arguments, or null when the worker sent no schema. */
export function compileValidator(tool: ToolDescription): ArgumentValidator | null {
  const schema = tool.paramsSchema;
  if (schema === undefined || typeof schema === "boolean") return null;
  const validator = new Validator(schema as Schema, "2020-12", false);
  const parameters = tool.params.filter((p) => p.kind !== "var_keyword").map((p) => p.name);
  return (args) => {
    const result = validator.validate(toWireShape(args));
    return result.valid ? [] : toIssues(result.errors, schema, args, { tool: tool.name, parameters });
  };
}

function invalidArguments(pool: string, tool: string, issues: ConfigIssue[]): SnakepitError {
  const listed = issues.map((i) => `${i.path}: ${i.message}`).join("; ");
  const count = issues.length === 1 ? "1 problem" : `${issues.length} problems`;
  return new SnakepitError("invalid_argument", `call ${tool}: invalid arguments (${count}): ${listed}`, { pool, tool, issues });
}

const BYTES_PLACEHOLDER = Object.freeze({ "$snakepit:bytes": 0 });
const NOT_SENT = Object.freeze({ "$snakepit:not-sent": true });
const NDARRAY_PLACEHOLDER = Object.freeze({ "$snakepit:ndarray": {} });

/**
 * The value as the schema sees it, i.e. as it travels: a Uint8Array is the bytes
 * placeholder, a property whose value is undefined is left out, `toJSON()` is applied.
 */
function toWireShape(value: unknown, depth = 0): unknown {
  if (depth > 256) return value;
  // The codec refuses a BigInt; here it is a value no integer schema accepts.
  if (typeof value === "bigint") return NOT_SENT;
  if (typeof value !== "object" || value === null) return value;
  if (value instanceof Uint8Array) return BYTES_PLACEHOLDER;
  if (ArrayBuffer.isView(value) || isNDArray(value)) return NDARRAY_PLACEHOLDER;
  if (Array.isArray(value)) return value.map((v) => toWireShape(v, depth + 1));
  const withJson = value as { toJSON?: () => unknown };
  if (typeof withJson.toJSON === "function") return toWireShape(withJson.toJSON(), depth + 1);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toWireShape(v, depth + 1);
  return out;
}

/** Keywords that only say "something under me failed"; the failures under them are reported. */
const WRAPPERS = new Set(["properties", "patternProperties", "$ref", "$dynamicRef", "allOf", "prefixItems", "items", "additionalItems", "contains", "dependentSchemas", "if", "then", "else", "unevaluatedItems", "unevaluatedProperties"]);

interface IssueContext {
  readonly tool: string;
  readonly parameters: readonly string[];
}

function toIssues(errors: readonly OutputUnit[], root: JsonSchema, args: unknown, ctx: IssueContext): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  const add = (path: string, message: string) => {
    const key = `${path}\u0000${message}`;
    if (!seen.has(key)) {
      seen.add(key);
      issues.push({ path, message });
    }
  };
  // Failures inside an anyOf/oneOf are summed up by that keyword's own message.
  const alternatives: string[] = [];
  for (const e of errors) {
    if (alternatives.some((prefix) => e.keywordLocation.startsWith(prefix))) continue;
    const segments = pointerSegments(e.instanceLocation);
    const path = renderPath(segments);
    const value = valueAt(args, segments);
    switch (e.keyword) {
      case "required": {
        const name = /property "(.*)"\.$/.exec(e.error)?.[1] ?? "?";
        add(renderPath([...segments, name]), "is required");
        break;
      }
      case "additionalProperties": {
        const name = /Property "(.*)" does not match/.exec(e.error)?.[1] ?? "?";
        const at = schemaAt(root, e.keywordLocation);
        if (at !== false) break; // a value schema: its own failures follow
        const known = segments.length === 0 ? ctx.parameters : propertyNames(schemaAt(root, e.keywordLocation.replace(/\/additionalProperties$/, "")));
        const given = valueAt(args, segments);
        const close = closeMatches(name, known.filter((k) => !isObject(given) || !(k in given)));
        const takes = segments.length === 0 ? `${ctx.tool} takes ${known.length ? known.join(", ") : "no arguments"}` : `expected ${known.join(", ")}`;
        add(renderPath([...segments, name]), `unexpected ${segments.length === 0 ? "argument" : "property"} (${close.length ? `did you mean ${close.join(" or ")}? ` : ""}${takes})`);
        break;
      }
      case "false":
        break; // reported by additionalProperties, items or prefixItems
      case "anyOf":
      case "oneOf": {
        alternatives.push(`${e.keywordLocation}/`);
        const options = schemaAt(root, e.keywordLocation);
        const expected = Array.isArray(options) ? options.map((o) => summarize(root, o)).join(" or ") : "one of the allowed types";
        add(path, `expected ${expected}, got ${describeValue(value)}`);
        break;
      }
      case "type": {
        const node = schemaAt(root, e.keywordLocation.replace(/\/type$/, ""));
        add(path, `expected ${summarize(root, node)}, got ${describeValue(value)}`);
        break;
      }
      case "enum":
      case "const": {
        const node = schemaAt(root, e.keywordLocation.replace(/\/(enum|const)$/, ""));
        add(path, `expected ${summarize(root, node)}, got ${describeValue(value)}`);
        break;
      }
      default:
        if (WRAPPERS.has(e.keyword)) {
          if ((e.keyword === "items" || e.keyword === "prefixItems") && schemaAt(root, e.keywordLocation) === false) {
            add(path, "has more items than allowed");
          }
          break;
        }
        add(path, lowerFirst(e.error.replace(/^Instance /, "").replace(/\.$/, "")));
    }
  }
  return issues;
}

/** "#/points/2/x" -> ["points", "2", "x"] (cfworker encodes each segment as a URI-encoded JSON Pointer token). */
function pointerSegments(location: string): string[] {
  const body = location.replace(/^#/, "");
  if (body === "") return [];
  return body
    .slice(1)
    .split("/")
    .map((s) => {
      let t = s;
      try {
        t = decodeURI(s);
      } catch {
        /* keep as is */
      }
      return t.replace(/~1/g, "/").replace(/~0/g, "~");
    });
}

/** ["points", "2", "x"] -> "args.points[2].x" */
function renderPath(segments: readonly string[]): string {
  let out = "args";
  for (const s of segments) {
    if (/^(0|[1-9]\d*)$/.test(s)) out += `[${s}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(s)) out += `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

function valueAt(value: unknown, segments: readonly string[]): unknown {
  let v = value;
  for (const s of segments) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<string, unknown>)[s];
  }
  return v;
}

/** The schema node at a keyword location, following $ref through local definitions. */
function schemaAt(root: JsonSchema, keywordLocation: string): unknown {
  let node: unknown = root;
  for (const segment of pointerSegments(keywordLocation)) {
    if (segment === "$ref" && isObject(node) && typeof node["$ref"] === "string") {
      node = resolveRef(root, node["$ref"]);
      continue;
    }
    if (Array.isArray(node)) node = node[Number(segment)];
    else if (isObject(node)) node = node[segment];
    else return undefined;
  }
  return node;
}

function resolveRef(root: JsonSchema, ref: string): unknown {
  if (!ref.startsWith("#")) return undefined;
  let node: unknown = root;
  for (const segment of pointerSegments(ref)) {
    if (Array.isArray(node)) node = node[Number(segment)];
    else if (isObject(node)) node = node[segment];
    else return undefined;
  }
  return node;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function propertyNames(schema: unknown): string[] {
  return isObject(schema) && isObject(schema["properties"]) ? Object.keys(schema["properties"]) : [];
}

/** A schema in a few words: "integer", "Uint8Array", "Point", '"fast" | "slow"', "array of string". */
function summarize(root: JsonSchema, schema: unknown, depth = 0): string {
  if (schema === true || (isObject(schema) && Object.keys(schema).length === 0)) return "any value";
  if (!isObject(schema) || depth > 4) return "a valid value";
  if (typeof schema["tsType"] === "string") return schema["tsType"];
  if (typeof schema["$ref"] === "string") {
    const target = resolveRef(root, schema["$ref"]);
    const title = isObject(target) && typeof target["title"] === "string" ? target["title"] : undefined;
    return title ?? summarize(root, target, depth + 1);
  }
  if ("const" in schema) return JSON.stringify(schema["const"]);
  if (Array.isArray(schema["enum"])) return schema["enum"].map((v) => JSON.stringify(v)).join(" | ");
  const alternatives = schema["anyOf"] ?? schema["oneOf"];
  if (Array.isArray(alternatives)) return alternatives.map((a) => summarize(root, a, depth + 1)).join(" or ");
  const type = schema["type"];
  const title = typeof schema["title"] === "string" ? schema["title"] : undefined;
  if (type === "array" && isObject(schema["items"])) return `array of ${summarize(root, schema["items"], depth + 1)}`;
  if (type === "object" && title) return `${title} (an object)`;
  if (typeof type === "string") return type;
  if (Array.isArray(type)) return type.join(" or ");
  return title ?? "a valid value";
}

function describeValue(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (typeof v === "string") return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return `${typeof v} ${String(v)}`;
  if (v instanceof Uint8Array) return "a Uint8Array";
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === "object") return v.constructor && v.constructor !== Object ? `a ${v.constructor.name}` : "an object";
  return typeof v;
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}
