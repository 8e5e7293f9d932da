import { once } from "node:events";
import { existsSync, writeFileSync } from "node:fs";
import { createServer, connect, type Socket } from "node:net";
import { endianness, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { create, toBinary } from "@bufbuild/protobuf";
import { CallRequestSchema, DataFrameSchema, PayloadSchema } from "../src/gen/snakepit/worker/v1/worker_pb.js";
import { createLocalChannel } from "../src/local-channel.js";
import { processProfile, threadProfile } from "../src/process-profile.js";
import { createProgressPage } from "../src/progress-page.js";
import { SHM_DIR, sharedMemoryAvailable } from "../src/shm-segments.js";
import { ChannelFailure } from "../src/worker-channel.js";

const onLinux = sharedMemoryAvailable();

/** What a worker stores in its page: the call frames it may have begun. */
function storeBegun(name: string, begun: number): void {
  const bytes = Buffer.alloc(8);
  if (endianness() === "LE") bytes.writeBigUInt64LE(BigInt(begun));
  else bytes.writeBigUInt64BE(BigInt(begun));
  writeFileSync(join(SHM_DIR, name), bytes);
}

/** Two connected stream sockets: the pool's end and the "worker's" end. */
async function socketPair(): Promise<[Socket, Socket]> {
  const path = join(tmpdir(), `snakepit-pair-${process.pid}-${Math.random().toString(36).slice(2)}.sock`);
  const server = createServer();
  server.listen(path);
  await once(server, "listening");
  const accepted = once(server, "connection");
  const client = connect(path);
  const [theirs] = (await accepted) as [Socket];
  await once(client, "connect");
  server.close();
  return [client, theirs];
}

/** A local channel with a progress page, over socket pairs whose far ends play the worker. */
async function channelWithPage(workerId: string) {
  const page = createProgressPage(workerId)!;
  const [data, workerData] = await socketPair();
  const [control, workerControl] = await socketPair();
  const channel = createLocalChannel({ data, control, maxMessageBytes: 1 << 20, progress: page });
  return { page, channel, workerData, workerControl };
}

function request(callId: string) {
  return create(CallRequestSchema, { callId, tool: "t", args: create(PayloadSchema, { json: new TextEncoder().encode("{}") }) });
}

describe.skipIf(!onLinux)("progress page (local transport, ADR 10)", () => {
  it("reads unknown until the worker stores a count, then that count; remove() deletes it", () => {
    const page = createProgressPage("w/1")!;
    try {
      expect(page.name).toMatch(/^snakepit-\d+-w_1\.[0-9a-z]+-progress$/);
      expect(page.read()).toBeUndefined();
      storeBegun(page.name, 3);
      expect(page.read()).toBe(3);
    } finally {
      page.remove();
    }
    expect(existsSync(join(SHM_DIR, page.name))).toBe(false);
    expect(page.read()).toBeUndefined();
  });

  it("when the worker's end closes, calls sent after the last begun one fail as not_started, the rest as unavailable", async () => {
    const { page, channel, workerData, workerControl } = await channelWithPage("w2");
    try {
      const results = ["a", "b", "c", "d"].map((id) => channel.execute(request(id), {}).then(
        () => "answered",
        (err: unknown) => (err instanceof ChannelFailure ? err.kind : String(err)),
      ));
      // The worker reads all four, answers "a", begins "b" and "c" (replies held), then dies.
      let got = 0;
      workerData.on("data", (chunk: Buffer) => (got += chunk.length));
      while (got === 0) await new Promise((r) => setTimeout(r, 1));
      const reply = toBinary(DataFrameSchema, create(DataFrameSchema, { callId: "a", kind: { case: "result", value: { outcome: { case: "result", value: { json: new TextEncoder().encode("1") } } } } }));
      const head = Buffer.alloc(4);
      head.writeUInt32BE(reply.length);
      workerData.write(Buffer.concat([head, reply]));
      storeBegun(page.name, 3);
      workerData.destroy();
      workerControl.destroy();
      expect(await Promise.all(results)).toEqual(["answered", "unavailable", "unavailable", "not_started"]);
      await channel.drained;
      expect(["b", "c", "d"].map((id) => channel.neverStarted(id))).toEqual([false, false, true]);
    } finally {
      channel.close();
      page.remove();
    }
  });

  it("a page the worker never kept leaves every open call unavailable, and says nothing", async () => {
    const { page, channel, workerData, workerControl } = await channelWithPage("w3");
    try {
      const results = ["a", "b"].map((id) => channel.execute(request(id), {}).catch((err: ChannelFailure) => err.kind));
      await new Promise((r) => setTimeout(r, 5));
      workerData.destroy();
      workerControl.destroy();
      expect(await Promise.all(results)).toEqual(["unavailable", "unavailable"]);
      await channel.drained;
      expect(channel.neverStarted("b")).toBeUndefined();
    } finally {
      channel.close();
      page.remove();
    }
  });

  it("when this side ends the lane, the page is not trusted (the worker may still run what it read)", async () => {
    const { page, channel } = await channelWithPage("w4");
    try {
      const result = channel.execute(request("a"), {}).catch((err: ChannelFailure) => err.kind);
      await new Promise((r) => setTimeout(r, 5));
      storeBegun(page.name, 0);
      channel.close();
      expect(await result).toBe("unavailable");
      expect(channel.neverStarted("a")).toBeUndefined();
    } finally {
      page.remove();
    }
  });
});

describe("coalesceReplies (the profile option that turns the page off)", () => {
  it("takes true or false, and refuses anything else at once", () => {
    expect(processProfile({ coalesceReplies: false }).name).toBe("process");
    expect(threadProfile({ coalesceReplies: true }).name).toBe("thread");
    expect(() => processProfile({ coalesceReplies: "no" as unknown as boolean })).toThrow(/coalesceReplies must be true or false, got string/);
  });
});
