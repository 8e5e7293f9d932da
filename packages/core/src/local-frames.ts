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
  return call.shared?.length ? encodeCallFrameWithWriter(kind, call) : encodeCallFrameDirect(kind, call);
}

/** Bytes a varint of `n` takes (n a non-negative integer below 2^53). */
function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 128) {
    buf[pos++] = (n % 128) | 128;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

/** A length-delimited field's size: tag, length, content. */
const delimited = (length: number) => 1 + varintSize(length) + length;

/**
 * The everyday call frame (no segments), sized first and written once into one
 * buffer: no writer chunks, no fork/join copies. Every tag here is one byte
 * (fields below 16). Byte for byte what protobuf-es writes (local-frames.test.ts).
 */
function encodeCallFrameDirect(kind: "execute" | "stream", call: OutgoingCall): Uint8Array {
  const callIdBytes = Buffer.byteLength(call.callId);
  const toolBytes = Buffer.byteLength(call.tool);
  const sessionBytes = call.sessionId ? Buffer.byteLength(call.sessionId) : 0;
  let payload = call.json.byteLength ? delimited(call.json.byteLength) : 0;
  for (const a of call.attachments) payload += delimited(a.byteLength);
  let headers = 0;
  const entries: Array<[number, number]> = [];
  for (const key in call.headers) {
    const k = Buffer.byteLength(key);
    const v = Buffer.byteLength(call.headers[key]!);
    entries.push([k, v]);
    headers += delimited(delimited(k) + delimited(v));
  }
  const request =
    delimited(callIdBytes) +
    delimited(toolBytes) +
    delimited(payload) +
    (call.sessionId ? delimited(sessionBytes) : 0) +
    (call.deadlineUnixMs ? 1 + varintSize(call.deadlineUnixMs) : 0) +
    headers;
  const body = delimited(callIdBytes) + delimited(request);
  const buf = Buffer.allocUnsafe(4 + body);
  buf.writeUInt32BE(body, 0);
  let pos = 4;
  const string = (tag: number, value: string, bytes: number) => {
    buf[pos++] = tag;
    pos = writeVarint(buf, pos, bytes);
    pos += buf.write(value, pos, "utf8");
  };
  const bytesField = (tag: number, value: Uint8Array) => {
    buf[pos++] = tag;
    pos = writeVarint(buf, pos, value.byteLength);
    buf.set(value, pos);
    pos += value.byteLength;
  };
  const head = (tag: number, length: number) => {
    buf[pos++] = tag;
    pos = writeVarint(buf, pos, length);
  };
  const LEN = WireType.LengthDelimited;
  string((DF_CALL_ID << 3) | LEN, call.callId, callIdBytes);
  head(((kind === "execute" ? DF_EXECUTE : DF_STREAM) << 3) | LEN, request);
  string((REQ_CALL_ID << 3) | LEN, call.callId, callIdBytes);
  string((REQ_TOOL << 3) | LEN, call.tool, toolBytes);
  head((REQ_ARGS << 3) | LEN, payload);
  if (call.json.byteLength) bytesField((PAYLOAD_JSON << 3) | LEN, call.json);
  for (const a of call.attachments) bytesField((PAYLOAD_ATTACHMENTS << 3) | LEN, a);
  if (call.sessionId) string((REQ_SESSION << 3) | LEN, call.sessionId, sessionBytes);
  if (call.deadlineUnixMs) {
    buf[pos++] = (REQ_DEADLINE << 3) | WireType.Varint;
    pos = writeVarint(buf, pos, call.deadlineUnixMs);
  }
  let i = 0;
  for (const key in call.headers) {
    const [k, v] = entries[i++]!;
    head((REQ_HEADERS << 3) | LEN, delimited(k) + delimited(v));
    string((1 << 3) | LEN, key, k);
    string((2 << 3) | LEN, call.headers[key]!, v);
  }
  // A plain Uint8Array over the same memory, as the writer's frames are.
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** The general call frame (with segment references) through protobuf-es's writer. */
function encodeCallFrameWithWriter(kind: "execute" | "stream", call: OutgoingCall): Uint8Array {
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

const utf8 = new TextDecoder();

/** A varint at `pos` (below 2^53): its value, and where the next field starts in `next`. */
function readVarint(buf: Uint8Array, pos: number, at: { next: number }): number {
  let value = 0;
  let scale = 1;
  for (;;) {
    if (pos >= buf.length) throw new RangeError("a frame from the worker ends inside a varint");
    const b = buf[pos++]!;
    value += (b & 127) * scale;
    if (b < 128) break;
    scale *= 128;
  }
  at.next = pos;
  return value;
}

/** Fields of a message in `buf[start, end)`: calls `onField(field, wireType, from, to)` for each (to = from for varints). */
function forEachField(buf: Uint8Array, start: number, end: number, onField: (field: number, from: number, to: number) => void): void {
  const at = { next: 0 };
  let pos = start;
  while (pos < end) {
    const key = readVarint(buf, pos, at);
    pos = at.next;
    const field = Math.floor(key / 8);
    const wireType = key & 7;
    if (wireType === WireType.LengthDelimited) {
      const length = readVarint(buf, pos, at);
      const from = at.next;
      pos = from + length;
      if (pos > end) throw new RangeError("a frame from the worker has a field longer than the frame");
      onField(field, from, pos);
    } else if (wireType === WireType.Varint) {
      readVarint(buf, pos, at);
      onField(field, pos, pos);
      pos = at.next;
    } else if (wireType === WireType.Bit64) pos += 8;
    else if (wireType === WireType.Bit32) pos += 4;
    else throw new RangeError(`a frame from the worker has wire type ${wireType}, which no field of it uses`);
  }
}

/**
 * Decode a frame body (without its length prefix) sent by a worker. Results and
 * chunks are read by hand (views into `body`, nothing copied); the rare parts
 * (tool errors, segment references, shared_memory_ready) through protobuf-es.
 */
export function decodeFrame(body: Uint8Array): IncomingFrame {
  let callId = "";
  // Set inside the callback below: declared wide, so the checks after it are not narrowed away.
  let kind = "other" as "result" | "chunk" | "end" | "other";
  let outcome = undefined as Outcome | undefined;
  let ready = undefined as { prefix: string; minBytes: number } | undefined;
  const shared: SharedRef[] = [];
  forEachField(body, 0, body.length, (field, from, to) => {
    if (field === DF_CALL_ID) callId = utf8.decode(body.subarray(from, to));
    else if (field === DF_RESULT || field === DF_CHUNK) {
      kind = field === DF_RESULT ? "result" : "chunk";
      outcome = decodeOutcome(body, from, to);
    } else if (field === DF_END) kind = "end";
    else if (field === DF_SHM_READY) {
      const m = fromBinary(SharedMemoryReadySchema, body.subarray(from, to));
      ready = { prefix: m.prefix, minBytes: Number(m.minBytes) };
    } else if (field === DF_SHARED) shared.push(decodeSharedRef(body.subarray(from, to)));
  });
  if (ready) return { callId, kind: "sharedMemoryReady", ...ready };
  if (kind === "end" || kind === "other") return { callId, kind };
  return { callId, kind, outcome: outcome ?? { case: "payload", json: new Uint8Array(0), attachments: [] }, shared };
}

function decodeOutcome(buf: Uint8Array, start: number, end: number): Outcome {
  let out: Outcome = { case: "payload", json: new Uint8Array(0), attachments: [] };
  forEachField(buf, start, end, (field, from, to) => {
    if (field === OUTCOME_PAYLOAD) out = decodePayload(buf, from, to);
    else if (field === OUTCOME_ERROR) out = { case: "error", error: fromBinary(ToolErrorSchema, buf.subarray(from, to)) };
  });
  return out;
}

function decodePayload(buf: Uint8Array, start: number, end: number): Outcome {
  let json: Uint8Array = new Uint8Array(0);
  const attachments: Uint8Array[] = [];
  forEachField(buf, start, end, (field, from, to) => {
    if (field === PAYLOAD_JSON) json = buf.subarray(from, to);
    else if (field === PAYLOAD_ATTACHMENTS) attachments.push(buf.subarray(from, to));
  });
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
