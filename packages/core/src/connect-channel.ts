/**
 * The Connect-RPC channel: the Connect protocol (binary protobuf) over HTTP/1.1
 * keep-alive connections, to a worker's network server on a Unix socket (the
 * "connect" transport of local workers) or on TCP, with optional TLS (workers
 * on other hosts).
 *
 * HTTP/1.1 rather than HTTP/2: the worker serves it with Python's standard
 * library, so it needs no grpcio and runs on free-threaded CPython (ADR 5); and
 * a worker that goes away closes sockets instead of sending a GOAWAY that
 * HTTP/2 session managers may raise outside any call.
 */
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import {
  CancelRequestSchema,
  DescribeRequestSchema,
  DrainRequestSchema,
  HealthRequestSchema,
  WorkerService,
  type CallRequest,
  type StreamMessage,
} from "./gen/snakepit/worker/v1/worker_pb.js";
import { ChannelFailure, type ChannelCallOptions, type ChannelSignal, type WorkerChannel } from "./worker-channel.js";

export interface ConnectChannelTls {
  /** PEM of the CA that signed the worker's certificate (default: the system's CAs). */
  ca?: string | Buffer;
  /** PEM client certificate and key, for workers that require client certificates. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** The name to check the worker's certificate against (default: the address's host). */
  servername?: string;
}

export interface ConnectChannelOptions {
  /** "unix:/path/to.sock", or "host:port" / "http(s)://host:port" for TCP. */
  address: string;
  /** Shared secret sent as `x-snakepit-token` (workers started with a token). */
  token?: string;
  /** Speak TLS to the worker (an https:// address implies it). */
  tls?: ConnectChannelTls;
  /** Largest message either way, in bytes. */
  maxMessageBytes: number;
  /** Most connections kept open to this worker (one per call in flight). Default 64. */
  maxSockets?: number;
  /** Connect interceptors (`Interceptor` from `@connectrpc/connect`), run on every call. */
  interceptors?: ConnectInterceptor[];
}

/**
 * A Connect interceptor: any `Interceptor` of `@connectrpc/connect` fits. Typed
 * loosely so these declarations do not bring `@connectrpc/connect`'s into a user's
 * type-check: those need the DOM library (`HeadersInit`), which a Node project may
 * not have, and fail there with `skipLibCheck` off.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ConnectInterceptor = (next: (req: any) => Promise<any>) => (req: any) => Promise<any>;

/** Headroom over the payload limit for the envelope (ids, headers, field tags). */
const ENVELOPE_BYTES = 1024 * 1024;
/** setTimeout's largest delay; longer deadlines are left to the worker. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function createConnectChannel(options: ConnectChannelOptions): WorkerChannel {
  const { address } = options;
  const secure = options.tls !== undefined || address.startsWith("https://");
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 64 };
  const agent = secure ? new HttpsAgent({ ...agentOptions, ...(options.tls ?? {}) }) : new HttpAgent(agentOptions);
  let baseUrl: string;
  let nodeOptions: Record<string, unknown> = { agent };
  if (address.startsWith("unix:")) {
    baseUrl = "http://localhost";
    nodeOptions = { agent, socketPath: address.slice("unix:".length) };
  } else if (address.includes("://")) {
    baseUrl = address;
  } else {
    baseUrl = `${secure ? "https" : "http"}://${address}`;
  }
  const interceptors: Interceptor[] = [...((options.interceptors ?? []) as Interceptor[])];
  if (options.token !== undefined) {
    const token = options.token;
    interceptors.unshift((next) => (req) => {
      req.header.set("x-snakepit-token", token);
      return next(req);
    });
  }
  const transport = createConnectTransport({
    baseUrl,
    httpVersion: "1.1",
    useBinaryFormat: true,
    nodeOptions,
    interceptors,
    acceptCompression: [],
    readMaxBytes: options.maxMessageBytes + ENVELOPE_BYTES,
    writeMaxBytes: options.maxMessageBytes + ENVELOPE_BYTES,
  });
  const client: Client<typeof WorkerService> = createClient(WorkerService, transport);
  let closed = false;

  const callOptions = (o: ChannelCallOptions | undefined) => {
    const out: { signal?: AbortSignal; timeoutMs?: number } = {};
    if (o?.signal) out.signal = toAbortSignal(o.signal);
    if (o?.timeoutMs !== undefined && o.timeoutMs <= MAX_TIMER_MS) out.timeoutMs = Math.max(1, Math.ceil(o.timeoutMs));
    return out;
  };

  async function unary<T>(fn: () => Promise<T>, signal: ChannelSignal | undefined): Promise<T> {
    if (closed) throw new ChannelFailure("unavailable", "the channel was closed");
    try {
      return await fn();
    } catch (err) {
      throw toChannelFailure(err, signal);
    }
  }

  return {
    execute: (request: CallRequest, o) => unary(() => client.execute(request, callOptions(o)), o.signal),
    stream(request: CallRequest, o): AsyncIterable<StreamMessage> {
      return {
        async *[Symbol.asyncIterator]() {
          if (closed) throw new ChannelFailure("unavailable", "the channel was closed");
          try {
            yield* client.stream(request, callOptions(o));
          } catch (err) {
            throw toChannelFailure(err, o.signal);
          }
        },
      };
    },
    cancel: (callId, waitMs, o) =>
      unary(() => client.cancel(create(CancelRequestSchema, { callId, waitMs: Math.max(0, Math.ceil(waitMs)) }), callOptions(o)), o?.signal),
    describe: (o) => unary(() => client.describe(create(DescribeRequestSchema), callOptions(o)), o?.signal),
    health: (o) => unary(() => client.health(create(HealthRequestSchema), callOptions(o)), o?.signal),
    drain: (timeoutMs, o) =>
      unary(() => client.drain(create(DrainRequestSchema, { timeoutMs: BigInt(Math.ceil(timeoutMs)) }), callOptions(o)), o?.signal),
    close() {
      if (closed) return;
      closed = true;
      agent.destroy();
    },
  };
}

/** Connect takes an AbortSignal; the pool's call signal is linked to one here. */
function toAbortSignal(signal: ChannelSignal): AbortSignal {
  if (signal instanceof AbortSignal) return signal;
  const controller = new AbortController();
  if (signal.aborted) controller.abort(signal.reason);
  else signal.addEventListener("abort", () => controller.abort(signal.reason), { once: true });
  return controller.signal;
}

function toChannelFailure(err: unknown, signal: ChannelSignal | undefined): ChannelFailure {
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
      return new ChannelFailure("protocol", `Unauthenticated: the worker refused the token (x-snakepit-token is missing or wrong): ${ce.rawMessage}`, { cause: ce });
    case Code.PermissionDenied:
    case Code.Unimplemented:
    case Code.ResourceExhausted:
    case Code.InvalidArgument:
      return new ChannelFailure("protocol", `${Code[ce.code]}: ${ce.rawMessage}`, { cause: ce });
    default:
      return new ChannelFailure("unavailable", `${Code[ce.code]}: ${ce.rawMessage}`, { cause: ce });
  }
}
