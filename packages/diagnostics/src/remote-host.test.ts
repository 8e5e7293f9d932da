// inspect() and its table on a pool whose workers run on other hosts (in-memory workers
// that report a host, as @snakepit/remote's do; memory readings are not asked for).
import { createPool, silentLogger, type WorkerProfile } from "@snakepit/core";
import { memoryProfile } from "@snakepit/core/profile";
import { describe, expect, it } from "vitest";
import { renderSnapshot } from "./render-snapshot.js";
import { inspect } from "./snapshot.js";

function onHosts(hosts: Array<string | undefined>): WorkerProfile {
  const inner = memoryProfile({ tools: { noop: () => null } });
  let n = 0;
  return {
    name: "remote-like",
    async startWorker(ctx) {
      const handle = await inner.startWorker(ctx);
      const host = hosts[n++ % hosts.length];
      return { ...handle, info: { ...handle.info, ...(host ? { host } : {}) } };
    },
  };
}

describe("workers on other hosts in inspect()", () => {
  it("the snapshot and the table name each worker's host; local ones say local", async () => {
    await using pool = await createPool({ name: "far", size: 2, profile: onHosts(["10.0.0.7:50051", undefined]), logger: silentLogger, python: { adapter: "m:C" } });
    const snap = await inspect(pool, { memory: false });
    const workers = snap.pools[0]!.workers;
    expect(workers.map((w) => w.host)).toEqual(["10.0.0.7:50051", undefined]);
    const text = renderSnapshot(snap, []);
    expect(text).toMatch(/worker\s+│?\s*host/);
    expect(text).toContain("10.0.0.7:50051");
    expect(text).toContain("local");
  });

  it("a pool of local workers has no host column", async () => {
    await using pool = await createPool({ name: "near", size: 1, profile: onHosts([undefined]), logger: silentLogger, python: { adapter: "m:C" } });
    const snap = await inspect(pool, { memory: false });
    expect(snap.pools[0]!.workers[0]!.host).toBeUndefined();
    expect(renderSnapshot(snap, [])).not.toContain("host");
  });
});
