/**
 * The Connect-RPC channel: the gRPC protocol over HTTP/2, to a worker listening
 * on a Unix socket (local workers) or a TCP address (workers elsewhere).
 */
import { connect as netConnect } from "node:net";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import {
  CancelRequestSchema,
  DescribeRequestSchema,
  DrainRequestSchema,
  HealthRequestSchema,
  WorkerService,
  type CallRequest,
  type StreamMessage,
} from "./gen/snakepit/worker/v1/worker_pb.js";
import { ChannelFailure, type ChannelCallOptions, type WorkerChannel } from "./worker-channel.js";

export interface ConnectChannelOptions {
  /** "unix:/path/to.sock", or "host:port" / "http://host:port" for TCP. */
  address: string;
  /** Shared secret sent as `x-snakepit-token` (workers started with --token-env). */
  token?: string;
  /** Largest message either way, in bytes. */
  maxMessageBytes: number;
  interceptors?: Interceptor[];
}

/** Headroom over the payload limit for the envelope (ids, headers, field tags). */
const ENVELOPE_BYTES = 1024 * 1024;

export function createConnectChannel(options: ConnectChannelOptions): WorkerChannel {
  const { address } = options;
  let baseUrl: string;
  let sessionOptions = {};
  if (address.startsWith("unix:")) {
    const path = address.slice("unix:".length);
    baseUrl = "http://localhost";
    sessionOptions = { createConnection: () => netConnect(path) };
  } else {
    baseUrl = address.includes("://") ? address : `http://${address}`;
  }
  // One HTTP/2 connection per worker, kept open; we own it so close() can end it.
  const sessionManager = new Http2SessionManager(baseUrl, { pingIntervalMs: 30_000, pingTimeoutMs: 15_000 }, sessionOptions);
  const interceptors: Interceptor[] = [...(options.interceptors ?? [])];
  if (options.token !== undefined) {
    const token = options.token;
    interceptors.unshift((next) => (req) => {
      req.header.set("x-snakepit-token", token);
      return next(req);
    });
  }
  const transport = createGrpcTransport({
    baseUrl,
    sessionManager,
    interceptors,
    readMaxBytes: options.maxMessageBytes + ENVELOPE_BYTES,
    writeMaxBytes: options.maxMessageBytes + ENVELOPE_BYTES,
  });
  const client: Client<typeof WorkerService> = createClient(WorkerService, transport);
  let closed = false;

  const callOptions = (o: ChannelCallOptions | undefined) => {
    const out: { signal?: AbortSignal; timeoutMs?: number } = {};
    if (o?.signal) out.signal = o.signal;
    if (o?.timeoutMs !== undefined && Number.isFinite(o.timeoutMs)) out.timeoutMs = Math.max(1, Math.ceil(o.timeoutMs));
    return out;
  };

  async function unary<T>(fn: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toChannelFailure(err, signal);
    }
  }

  return {
    execute: (request: CallRequest, o) => unary(() => client.execute(request, callOptions(o)), o.signal),
    stream(request: CallRequest, o): AsyncIterable<StreamMessage> {
      const inner = client.stream(request, callOptions(o));
      return {
        async *[Symbol.asyncIterator]() {
          try {
            yield* inner;
          } catch (err) {
            throw toChannelFailure(err, o.signal);
          }
        },
      };
    },
    cancel: (callId, waitMs, o) =>
      unary(() => client.cancel(create(CancelRequestSchema, { callId, waitMs }), callOptions(o)), o?.signal),
    describe: (o) => unary(() => client.describe(create(DescribeRequestSchema), callOptions(o)), o?.signal),
    health: (o) => unary(() => client.health(create(HealthRequestSchema), callOptions(o)), o?.signal),
    drain: (timeoutMs, o) =>
      unary(() => client.drain(create(DrainRequestSchema, { timeoutMs: BigInt(Math.ceil(timeoutMs)) }), callOptions(o)), o?.signal),
    close() {
      if (closed) return;
      closed = true;
      sessionManager.abort(new ConnectError("channel closed", Code.Canceled));
    },
  };
}

function toChannelFailure(err: unknown, signal: AbortSignal | undefined): ChannelFailure {
  if (err instanceof ChannelFailure) return err;
  const ce = ConnectError.from(err);
  // Connect reports an abort with the signal's own reason, whatever it was.
  if (signal?.aborted && ce.code !== Code.DeadlineExceeded) return new ChannelFailure("aborted", ce.rawMessage, { cause: ce });
  switch (ce.code) {
    case Code.DeadlineExceeded:
      return new ChannelFailure("deadline_exceeded", ce.rawMessage, { cause: ce });
    case Code.Canceled:
      return new ChannelFailure("aborted", ce.rawMessage, { cause: ce });
    case Code.Unauthenticated:
    case Code.PermissionDenied:
    case Code.Unimplemented:
    case Code.ResourceExhausted:
    case Code.InvalidArgument:
      return new ChannelFailure("protocol", `${Code[ce.code]}: ${ce.rawMessage}`, { cause: ce });
    default:
      return new ChannelFailure("unavailable", `${Code[ce.code]}: ${ce.rawMessage}`, { cause: ce });
  }
}
