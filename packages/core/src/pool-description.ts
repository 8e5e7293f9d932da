/** What a worker's Describe answer says, in the shape pool.describe() returns. */
import { decodeValue } from "./codec.js";
import type { DescribeResponse } from "./gen/snakepit/worker/v1/worker_pb.js";
import type { PoolDescription, ToolDescription } from "./pool-types.js";

export function toPoolDescription(res: DescribeResponse, configuredAdapter: string): PoolDescription {
  const tools: ToolDescription[] = res.tools.map((t) => ({
    name: t.name,
    doc: t.doc,
    returns: t.returns,
    streaming: t.streaming,
    async: t.isAsync,
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
