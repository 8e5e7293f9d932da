/**
 * Hand-written encoding of the local data plane's hot frames (a call going out,
 * a result or chunk coming back). They are ordinary DataFrame messages on the
 * wire — local-frames.test.ts checks them byte for byte against protobuf-es —
 * but skip the reflection-based codec, which costs more than the rest of a
 * no-op call. Rare frames (credits, cancels, tool errors) use protobuf-es.
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import {
  DataFrameSchema,
  SharedMemoryReadySchema,
  ToolErrorSchema,
  type DataFrame,
  type ToolError,
} from "./gen/snakepit/worker/v1/worker_pb.js";

// Field numbers, from worker.proto.
const DF_CALL_ID = 1;
const DF_EXECUTE = 2;
const DF_STREAM = 3;
const DF_RESULT = 6;
const DF_CHUNK = 7;
const DF_END = 8;
const DF_SHM_READY = 16;
const DF_SHARED = 17;
const REQ_CALL_ID = 1;
const REQ_TOOL = 2;
const REQ_ARGS = 3;
const REQ_SESSION = 4;
const REQ_DEADLINE = 5;
const REQ_HEADERS = 6;
const PAYLOAD_JSON = 1;
const PAYLOAD_ATTACHMENTS = 2;
const SHARED_INDEX = 1;
const SHARED_NAME = 2;
const SHARED_LENGTH = 3;
const OUTCOME_PAYLOAD = 1; // CallResponse.result and StreamMessage.chunk
const OUTCOME_ERROR = 2; // CallResponse.error and StreamMessage.error

/** An attachment whose bytes are in a shared-memory segment (worker.proto SharedAttachment). */
export interface SharedRef {
  readonly index: number;
  readonly name: string;
  readonly length: number;
}

export interface OutgoingCall {
  readonly callId: string;
  readonly tool: string;
  readonly json: Uint8Array;
  readonly attachments: readonly Uint8Array[];
  /** Attachments moved to segments (their entry in `attachments` is empty). */
  readonly shared?: readonly SharedRef[];
  readonly sessionId: string;
  /** Unix epoch milliseconds; 0 for none. */
  readonly deadlineUnixMs: number;
  readonly headers: Readonly<Record<string, string>>;
}

/** Calls whose attachments add up to this many bytes go out as parts (encodeCallFrameParts). */
export const GATHER_MIN_BYTES = 64 * 1024;

/** Tag and length of a length-delimited field whose content follows elsewhere. */
function fieldHead(field: number, length: number): Uint8Array {
  return new BinaryWriter().tag(field, WireType.LengthDelimited).uint32(length).finish();
}

/** The DataFrame's own fields (shared first, then call_id) and the call's tag, length-prefixed. */
function frameHead(kind: "execute" | "stream", call: OutgoingCall, requestLength: number): Uint8Array {
  const frame = new BinaryWriter();
  frame.raw(new Uint8Array(4)); // room for the length prefix
  // First in the frame (worker.proto): the worker tells at its first bytes whether to map segments.
  for (const s of call.shared ?? []) {
    frame.tag(DF_SHARED, WireType.LengthDelimited).fork();
    if (s.index) frame.tag(SHARED_INDEX, WireType.Varint).uint32(s.index);
    frame.tag(SHARED_NAME, WireType.LengthDelimited).string(s.name);
    frame.tag(SHARED_LENGTH, WireType.Varint).uint64(s.length);
    frame.join();
  }
  frame.tag(DF_CALL_ID, WireType.LengthDelimited).string(call.callId);
  frame.tag(kind === "execute" ? DF_EXECUTE : DF_STREAM, WireType.LengthDelimited).uint32(requestLength);
  const out = frame.finish();
  new DataView(out.buffer, out.byteOffset, 4).setUint32(0, out.byteLength - 4 + requestLength); // the request follows the head
  return out;
}

/** The CallRequest fields after args (session, deadline, headers). */
function requestTail(call: OutgoingCall, req: BinaryWriter): BinaryWriter {
  if (call.sessionId) req.tag(REQ_SESSION, WireType.LengthDelimited).string(call.sessionId);
  if (call.deadlineUnixMs) req.tag(REQ_DEADLINE, WireType.Varint).int64(call.deadlineUnixMs);
  for (const key in call.headers) {
    req.tag(REQ_HEADERS, WireType.LengthDelimited).fork();
    req.tag(1, WireType.LengthDelimited).string(key);
    req.tag(2, WireType.LengthDelimited).string(call.headers[key]!);
    req.join();
  }
  return req;
}

/**
 * The same frame as encodeCallFrame, as parts to write one after the other: the
 * JSON and the attachments are the caller's own memory, never copied here (the
 * socket, corked for the tick, writes them with one writev).
 */
export function encodeCallFrameParts(kind: "execute" | "stream", call: OutgoingCall): Uint8Array[] {
  const head = new BinaryWriter();
  head.tag(REQ_CALL_ID, WireType.LengthDelimited).string(call.callId);
  head.tag(REQ_TOOL, WireType.LengthDelimited).string(call.tool);
  const inner: Uint8Array[] = [];
  if (call.json.byteLength) inner.push(fieldHead(PAYLOAD_JSON, call.json.byteLength), call.json);
  for (const a of call.attachments) inner.push(fieldHead(PAYLOAD_ATTACHMENTS, a.byteLength), a);
  let payloadLength = 0;
  for (const part of inner) payloadLength += part.byteLength;
  head.tag(REQ_ARGS, WireType.LengthDelimited).uint32(payloadLength);
  const requestHead = head.finish();
  const tail = requestTail(call, new BinaryWriter()).finish();
  const requestLength = requestHead.byteLength + payloadLength + tail.byteLength;
  return [frameHead(kind, call, requestLength), requestHead, ...inner, tail];
}

/** A call frame, already prefixed with its 4-byte big-endian length. */
export function encodeCallFrame(kind: "execute" | "stream", call: OutgoingCall): Uint8Array {
  const req = new BinaryWriter();
  req.tag(REQ_CALL_ID, WireType.LengthDelimited).string(call.callId);
  req.tag(REQ_TOOL, WireType.LengthDelimited).string(call.tool);
  req.tag(REQ_ARGS, WireType.LengthDelimited).fork();
  if (call.json.byteLength) req.tag(PAYLOAD_JSON, WireType.LengthDelimited).bytes(call.json);
  for (const a of call.attachments) req.tag(PAYLOAD_ATTACHMENTS, WireType.LengthDelimited).bytes(a);
  req.join();
  const request = requestTail(call, req).finish();
  const head = frameHead(kind, call, request.byteLength);
  const out = new Uint8Array(head.byteLength + request.byteLength);
  out.set(head);
  out.set(request, head.byteLength);
  return out;
}

/** Any other frame (credits, cancels), length-prefixed, through protobuf-es. */
export function encodeFrame(frame: DataFrame): Uint8Array {
  const body = toBinary(DataFrameSchema, frame);
  const out = new Uint8Array(body.byteLength + 4);
  new DataView(out.buffer).setUint32(0, body.byteLength);
  out.set(body, 4);
  return out;
}

export type Outcome =
  | { readonly case: "payload"; readonly json: Uint8Array; readonly attachments: Uint8Array[] }
  | { readonly case: "error"; readonly error: ToolError };

export type IncomingFrame =
  | {
      readonly callId: string;
      readonly kind: "result" | "chunk";
      readonly outcome: Outcome;
      /** The payload's attachments that are in segments (their slots in `outcome` are empty). */
      readonly shared: readonly SharedRef[];
    }
  | { readonly callId: string; readonly kind: "end" }
  | { readonly callId: string; readonly kind: "sharedMemoryReady"; readonly prefix: string; readonly minBytes: number }
  | { readonly callId: string; readonly kind: "other" };

/** Decode a frame body (without its length prefix) sent by a worker. */
export function decodeFrame(body: Uint8Array): IncomingFrame {
  const r = new BinaryReader(body);
  let callId = "";
  let kind: "result" | "chunk" | "end" | "other" = "other";
  let outcome: Outcome | undefined;
  let ready: { prefix: string; minBytes: number } | undefined;
  const shared: SharedRef[] = [];
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (field === DF_CALL_ID) callId = r.string();
    else if (field === DF_RESULT || field === DF_CHUNK) {
      kind = field === DF_RESULT ? "result" : "chunk";
      outcome = decodeOutcome(r.bytes());
    } else if (field === DF_END) {
      kind = "end";
      r.skip(wireType);
    } else if (field === DF_SHM_READY) {
      const m = fromBinary(SharedMemoryReadySchema, r.bytes());
      ready = { prefix: m.prefix, minBytes: Number(m.minBytes) };
    } else if (field === DF_SHARED) shared.push(decodeSharedRef(r.bytes()));
    else r.skip(wireType);
  }
  if (ready) return { callId, kind: "sharedMemoryReady", ...ready };
  if (kind === "end" || kind === "other") return { callId, kind };
  return { callId, kind, outcome: outcome ?? { case: "payload", json: new Uint8Array(0), attachments: [] }, shared };
}

function decodeOutcome(bytes: Uint8Array): Outcome {
  const r = new BinaryReader(bytes);
  let out: Outcome = { case: "payload", json: new Uint8Array(0), attachments: [] };
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (field === OUTCOME_PAYLOAD) out = decodePayload(r.bytes());
    else if (field === OUTCOME_ERROR) out = { case: "error", error: fromBinary(ToolErrorSchema, r.bytes()) };
    else r.skip(wireType);
  }
  return out;
}

function decodePayload(bytes: Uint8Array): Outcome {
  const r = new BinaryReader(bytes);
  let json: Uint8Array = new Uint8Array(0);
  const attachments: Uint8Array[] = [];
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (field === PAYLOAD_JSON) json = r.bytes();
    else if (field === PAYLOAD_ATTACHMENTS) attachments.push(r.bytes());
    else r.skip(wireType);
  }
  return { case: "payload", json, attachments };
}

function decodeSharedRef(bytes: Uint8Array): SharedRef {
  const r = new BinaryReader(bytes);
  let index = 0;
  let name = "";
  let length = 0;
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (field === SHARED_INDEX) index = r.uint32();
    else if (field === SHARED_NAME) name = r.string();
    else if (field === SHARED_LENGTH) length = Number(r.uint64());
    else r.skip(wireType);
  }
  return { index, name, length };
}

/** For tests and tools: the same frame through protobuf-es. */
export function decodeFrameWithReflection(body: Uint8Array): DataFrame {
  return fromBinary(DataFrameSchema, body);
}
