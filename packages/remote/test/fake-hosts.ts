/**
 * In-memory hosts for unit tests: a WorkerChannel per address that behaves like a
 * worker server that is up, refuses connections, hangs (cable cut), drains, or
 * checks a token. No sockets, no Python.
 */
import { ChannelFailure, type ChannelCallOptions, type WorkerChannel } from "@snakepit/core/profile";

type CallRequest = Parameters<WorkerChannel["execute"]>[0];

export interface FakeHost {
  address: string;
  threads: number;
  mode: "up" | "refusing" | "cut" | "draining";
  token: string | undefined;
  adapter: string;
  running: number;
  served: number;
  /** Calls running on it now, to fail them when it goes down. */
  readonly open: Set<(err: Error) => void>;
}

export const ADAPTER = "fake.adapter:Fake";

const enc = new TextEncoder();
const dec = new TextDecoder();

function refused(address: string): ChannelFailure {
  const cause = Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: "ECONNREFUSED" });
  return new ChannelFailure("unavailable", `Unavailable: connect ECONNREFUSED ${address}`, { cause });
}

export function fakeHosts(addresses: string[], init: Partial<Pick<FakeHost, "threads" | "token" | "adapter">> = {}) {
  const hosts = new Map<string, FakeHost>();
  for (const address of addresses) {
    hosts.set(address, { address, threads: init.threads ?? 2, mode: "up", token: init.token, adapter: init.adapter ?? ADAPTER, running: 0, served: 0, open: new Set() });
  }
  let channels = 0;

  /** Wait as a cut host does: until the deadline or the abort, never answering. */
  function hang(o: ChannelCallOptions | undefined, h: FakeHost): Promise<never> {
    return new Promise((_, reject) => {
      const timer = o?.timeoutMs !== undefined ? setTimeout(() => reject(new ChannelFailure("deadline_exceeded", "the deadline passed")), o.timeoutMs) : undefined;
      const fail = (err: Error) => {
        clearTimeout(timer);
        reject(err);
      };
      o?.signal?.addEventListener("abort", () => fail(new ChannelFailure("aborted", "aborted")), { once: true });
      h.open.add(fail);
    });
  }

  function createChannel(address: string, opts: { token?: string | undefined } = {}): WorkerChannel {
    channels++;
    let closed = false;
    const host = () => {
      const h = hosts.get(address);
      if (!h) throw refused(address);
      return h;
    };
    const gate = async (o: ChannelCallOptions | undefined): Promise<FakeHost> => {
      if (closed) throw new ChannelFailure("unavailable", "the channel was closed");
      const h = host();
      if (h.mode === "refusing") throw refused(address);
      if (h.mode === "cut") return hang(o, h);
      if (h.token !== undefined && opts.token !== h.token) {
        throw new ChannelFailure("protocol", "the worker refused the token (x-snakepit-token is missing or wrong): missing or wrong x-snakepit-token");
      }
      return h;
    };
    return {
      async execute(request: CallRequest, o) {
        const h = await gate(o);
        if (h.mode === "draining") throw new ChannelFailure("unavailable", "Unavailable: the worker is draining");
        const args = JSON.parse(dec.decode(request.args?.json ?? new Uint8Array())) as { ms?: number };
        h.running++;
        h.served++;
        try {
          if (request.tool === "sleep") {
            await new Promise<void>((resolve, reject) => {
              const timer = setTimeout(resolve, args.ms ?? 0);
              const fail = (err: Error) => {
                clearTimeout(timer);
                reject(err);
              };
              h.open.add(fail);
              o.signal?.addEventListener("abort", () => fail(new ChannelFailure("aborted", "aborted")), { once: true });
            });
          }
          return {
            $typeName: "snakepit.worker.v1.CallResponse",
            outcome: { case: "result", value: { $typeName: "snakepit.worker.v1.Payload", json: enc.encode(JSON.stringify({ host: address })), attachments: [] } },
          } as Awaited<ReturnType<WorkerChannel["execute"]>>;
        } finally {
          h.running--;
        }
      },
      stream() {
        throw new Error("not used");
      },
      async cancel() {
        return { $typeName: "snakepit.worker.v1.CancelResponse", found: false, finished: true } as Awaited<ReturnType<WorkerChannel["cancel"]>>;
      },
      async describe(o) {
        const h = await gate(o);
        return {
          $typeName: "snakepit.worker.v1.DescribeResponse",
          worker: {
            $typeName: "snakepit.worker.v1.WorkerInfo",
            pid: 1n,
            pythonVersion: "3.11.7",
            implementation: "cpython",
            freeThreaded: false,
            gilEnabled: true,
            threads: h.threads,
            adapter: h.adapter,
            adapterThreadSafe: true,
            platform: "linux",
          },
          tools: ["sleep"].map((name) => ({ $typeName: "snakepit.worker.v1.ToolInfo", name, doc: "", params: [], returns: "", streaming: false, isAsync: false })),
        } as unknown as Awaited<ReturnType<WorkerChannel["describe"]>>;
      },
      async health(o) {
        const h = await gate(o);
        return {
          $typeName: "snakepit.worker.v1.HealthResponse",
          status: h.mode === "draining" ? "draining" : "serving",
          activeCalls: h.running,
          capacity: h.threads,
          requestsStarted: BigInt(h.served),
          rssBytes: 0n,
          pssBytes: 0n,
          ussBytes: 0n,
          uptimeSeconds: 1,
        } as Awaited<ReturnType<WorkerChannel["health"]>>;
      },
      async drain() {
        return { $typeName: "snakepit.worker.v1.DrainResponse", activeCalls: 0 } as Awaited<ReturnType<WorkerChannel["drain"]>>;
      },
      close() {
        closed = true;
      },
    };
  }

  return {
    hosts,
    get channelsMade() {
      return channels;
    },
    createChannel,
    /** The host resets: calls on it fail now, new connections are refused. */
    reset(address: string) {
      const h = hosts.get(address)!;
      h.mode = "refusing";
      for (const fail of [...h.open]) fail(Object.assign(new ChannelFailure("unavailable", "Unavailable: read ECONNRESET", { cause: Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }) })));
      h.open.clear();
    },
  };
}
