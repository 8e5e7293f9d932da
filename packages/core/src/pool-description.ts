/** What a worker's Describe answer says, in the shape pool.describe() returns. */
import { decodeValue } from "./codec.js";
import type { DescribeResponse } from "./gen/snakepit/worker/v1/worker_pb.js";
import type { JsonSchema, PoolDescription, ToolDescription } from "./pool-types.js";

export function toPoolDescription(res: DescribeResponse, configuredAdapter: string): PoolDescription {
  const tools: ToolDescription[] = res.tools.map((t) => ({
    name: t.name,
    doc: t.doc,
    returns: t.returns,
    streaming: t.streaming,
    async: t.isAsync,
    ...schemaField("paramsSchema", t.paramsSchemaJson),
    ...schemaField("returnsSchema", t.returnsSchemaJson),
    schemaWarnings: [...t.schemaWarnings],
    params: t.params.map((p) => {
      const base = { name: p.name, type: p.type, required: p.required, kind: p.kind };
      // A default that JSON cannot carry comes as empty bytes: then there is none to show.
      return p.defaultJson.byteLength ? { ...base, default: decodeValue(p.defaultJson, []) } : base;
    }),
  }));
  const w = res.worker;
  return {
    adapter: w?.adapter ?? configuredAdapter,
    tools,
    worker: {
      pid: Number(w?.pid ?? 0),
      pythonVersion: w?.pythonVersion ?? "",
      implementation: w?.implementation ?? "",
      freeThreaded: w?.freeThreaded ?? false,
      gilEnabled: w?.gilEnabled ?? true,
      threads: w?.threads ?? 1,
      adapter: w?.adapter ?? configuredAdapter,
      adapterThreadSafe: w?.adapterThreadSafe ?? false,
      platform: w?.platform ?? "",
    },
  };
}

const utf8 = new TextDecoder();

/** A schema field when the worker sent one (older workers send none; unparsable JSON counts as none). */
function schemaField<K extends "paramsSchema" | "returnsSchema">(key: K, json: Uint8Array): { [P in K]?: JsonSchema } {
  if (!json.byteLength) return {};
  try {
    const parsed: unknown = JSON.parse(utf8.decode(json));
    if (typeof parsed === "boolean" || (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed))) {
      return { [key]: parsed as JsonSchema } as { [P in K]?: JsonSchema };
    }
  } catch {
    /* no schema */
  }
  return {};
}
