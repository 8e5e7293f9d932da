import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  CallRequestSchema,
  CallResponseSchema,
  DataFrameSchema,
  PayloadSchema,
  SharedAttachmentSchema,
  SharedMemoryReadySchema,
  StreamMessageSchema,
  ToolErrorSchema,
} from "./gen/snakepit/worker/v1/worker_pb.js";
import { decodeFrame, encodeCallFrame, encodeCallFrameParts } from "./local-frames.js";

const call = {
  callId: "pool-1f",
  tool: "predict",
  json: new TextEncoder().encode('{"x":[1,2],"s":"é"}'),
  attachments: [new Uint8Array([1, 2, 3]), new Uint8Array(0)],
  sessionId: "s-9",
  deadlineUnixMs: 1_790_000_000_123,
  headers: { traceparent: "00-abc-def-01", tracestate: "k=v" },
};

describe("hand-written local frames", () => {
  it.each(["execute", "stream"] as const)("encode a %s frame exactly as protobuf-es does", (kind) => {
    const ours = encodeCallFrame(kind, call);
    const length = new DataView(ours.buffer, ours.byteOffset).getUint32(0);
    expect(length).toBe(ours.byteLength - 4);
    const request = create(CallRequestSchema, {
      callId: call.callId,
      tool: call.tool,
      args: create(PayloadSchema, { json: call.json, attachments: call.attachments }),
      sessionId: call.sessionId,
      deadlineUnixMs: BigInt(call.deadlineUnixMs),
      headers: call.headers,
    });
    const theirs = toBinary(DataFrameSchema, create(DataFrameSchema, { callId: call.callId, kind: { case: kind, value: request } }));
    // Map entries may come in any order on the wire: compare decoded messages, and bytes.
    expect(fromBinary(DataFrameSchema, ours.subarray(4))).toEqual(fromBinary(DataFrameSchema, theirs));
    expect(Buffer.from(ours.subarray(4)).equals(Buffer.from(theirs))).toBe(true);
  });

  it("encode long fields (lengths of several varint bytes) and empty JSON exactly as protobuf-es does", () => {
    const long = {
      ...call,
      tool: "t".repeat(200),
      json: new Uint8Array(0),
      attachments: [new Uint8Array(70_000).fill(7), new Uint8Array(130)],
      sessionId: "s".repeat(129),
      deadlineUnixMs: 2 ** 52 + 5,
      headers: { ["k".repeat(150)]: "v".repeat(20_000), b: "é" },
    };
    const ours = encodeCallFrame("stream", long).subarray(4);
    const request = create(CallRequestSchema, {
      callId: long.callId,
      tool: long.tool,
      args: create(PayloadSchema, { json: long.json, attachments: long.attachments }),
      sessionId: long.sessionId,
      deadlineUnixMs: BigInt(long.deadlineUnixMs),
      headers: long.headers,
    });
    const theirs = toBinary(DataFrameSchema, create(DataFrameSchema, { callId: long.callId, kind: { case: "stream", value: request } }));
    expect(Buffer.from(ours).equals(Buffer.from(theirs))).toBe(true);
  });

  it("omit empty optional fields like protobuf-es", () => {
    const bare = { ...call, sessionId: "", deadlineUnixMs: 0, headers: {}, attachments: [] };
    const ours = encodeCallFrame("execute", bare).subarray(4);
    const theirs = toBinary(
      DataFrameSchema,
      create(DataFrameSchema, {
        callId: call.callId,
        kind: { case: "execute", value: create(CallRequestSchema, { callId: call.callId, tool: call.tool, args: create(PayloadSchema, { json: call.json }) }) },
      }),
    );
    expect(Buffer.from(ours).equals(Buffer.from(theirs))).toBe(true);
  });

  it("decode results, chunks, errors and ends written by protobuf-es", () => {
    const payload = create(PayloadSchema, { json: new TextEncoder().encode("[1]"), attachments: [new Uint8Array([9])] });
    const result = toBinary(
      DataFrameSchema,
      create(DataFrameSchema, { callId: "a", kind: { case: "result", value: create(CallResponseSchema, { outcome: { case: "result", value: payload } }) } }),
    );
    const r = decodeFrame(result);
    expect(r).toMatchObject({ callId: "a", kind: "result", outcome: { case: "payload" } });
    if (r.kind !== "result" || r.outcome.case !== "payload") throw new Error("shape");
    expect(new TextDecoder().decode(r.outcome.json)).toBe("[1]");
    expect([...r.outcome.attachments[0]!]).toEqual([9]);

    const err = create(ToolErrorSchema, { code: "python_error", pythonType: "ValueError", message: "bad", traceback: "tb" });
    const chunkErr = toBinary(
      DataFrameSchema,
      create(DataFrameSchema, { callId: "b", kind: { case: "chunk", value: create(StreamMessageSchema, { kind: { case: "error", value: err } }) } }),
    );
    const c = decodeFrame(chunkErr);
    if (c.kind !== "chunk" || c.outcome.case !== "error") throw new Error("shape");
    expect(c.outcome.error).toMatchObject({ code: "python_error", pythonType: "ValueError", message: "bad", traceback: "tb" });

    const end = toBinary(DataFrameSchema, create(DataFrameSchema, { callId: "c", kind: { case: "end", value: {} } }));
    expect(decodeFrame(end)).toEqual({ callId: "c", kind: "end" });
  });

  it("put shared attachments first in a call frame, decoding to what protobuf-es decodes", () => {
    const shared = [
      { index: 0, name: "snakepit-1-w.0-a0", length: 3 },
      { index: 2, name: "snakepit-1-w.0-a1", length: 2 ** 40 },
    ];
    const ours = encodeCallFrame("execute", { ...call, attachments: [new Uint8Array(0), call.attachments[0]!, new Uint8Array(0)], shared }).subarray(4);
    expect([...ours.subarray(0, 2)]).toEqual([0x8a, 0x01]); // DataFrame.shared (17), the worker's cue
    const decoded = fromBinary(DataFrameSchema, ours);
    expect(decoded.shared.map((s) => ({ index: s.index, name: s.name, length: Number(s.length) }))).toEqual(shared);
    expect(decoded.kind.case).toBe("execute");
  });

  it("decode the worker's shared attachments and its shared_memory_ready frame", () => {
    const result = create(CallResponseSchema, { outcome: { case: "result", value: create(PayloadSchema, { json: new Uint8Array([49]), attachments: [new Uint8Array(0)] }) } });
    const body = toBinary(
      DataFrameSchema,
      create(DataFrameSchema, {
        callId: "c1",
        kind: { case: "result", value: result },
        shared: [create(SharedAttachmentSchema, { index: 0, name: "snakepit-1-w.0-r0", length: 64n })],
      }),
    );
    const frame = decodeFrame(body);
    expect(frame.kind).toBe("result");
    if (frame.kind !== "result") return;
    expect(frame.shared).toEqual([{ index: 0, name: "snakepit-1-w.0-r0", length: 64 }]);
    const ready = toBinary(
      DataFrameSchema,
      create(DataFrameSchema, { kind: { case: "sharedMemoryReady", value: create(SharedMemoryReadySchema, { prefix: "snakepit-1-w.0-", minBytes: 4096n }) } }),
    );
    expect(decodeFrame(ready)).toEqual({ callId: "", kind: "sharedMemoryReady", prefix: "snakepit-1-w.0-", minBytes: 4096 });
  });

  it("encode a call as parts that join to the very bytes of the one-buffer frame, the attachments not copied", () => {
    const big = new Float64Array(20_000).fill(2.5);
    const bytes = new Uint8Array(big.buffer);
    for (const variant of [
      { ...call, attachments: [bytes, new Uint8Array(0), call.attachments[0]!] },
      { ...call, json: new Uint8Array(0), sessionId: "", deadlineUnixMs: 0, headers: {}, attachments: [bytes] },
      { ...call, attachments: [new Uint8Array(0), bytes], shared: [{ index: 0, name: "snakepit-1-w.0-a0", length: 300_000 }] },
    ]) {
      const parts = encodeCallFrameParts("execute", variant);
      expect(Buffer.concat(parts).equals(Buffer.from(encodeCallFrame("execute", variant)))).toBe(true);
      expect(parts.some((p) => p === bytes)).toBe(true); // the caller's own memory
    }
  });

  it("refuse a cut or corrupt frame with a RangeError, never reading past it", () => {
    const payload = create(PayloadSchema, { json: new TextEncoder().encode('{"a":[1,2,3]}'), attachments: [new Uint8Array(300).fill(1)] });
    const frame = toBinary(
      DataFrameSchema,
      create(DataFrameSchema, { callId: "call-7", kind: { case: "result", value: create(CallResponseSchema, { outcome: { case: "result", value: payload } }) } }),
    );
    for (let cut = 1; cut < frame.length; cut++) {
      try {
        decodeFrame(frame.subarray(0, cut));
      } catch (err) {
        // protobuf-es's own errors for the rare parts are Errors too; ours are RangeErrors.
        expect(err).toBeInstanceOf(Error);
      }
    }
    const corrupt = Uint8Array.from(frame);
    corrupt[0] = (1 << 3) | 6; // wire type 6 does not exist
    expect(() => decodeFrame(corrupt)).toThrow(RangeError);
  });
});
