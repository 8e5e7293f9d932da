/**
 * `serveDiagnostics()`: an HTTP endpoint on the loopback interface (127.0.0.1
 * only) for `snakepit inspect` and Prometheus:
 *
 * - `GET /snapshot` — the `inspect()` snapshot as JSON (`?memory=0` skips the health checks);
 * - `GET /metrics` — the same in the Prometheus text format (`snakepit_*`);
 * - `GET /recommendations` — `recommend()` over a fresh snapshot, as JSON.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { PROMETHEUS_CONTENT_TYPE, toPrometheus } from "./prometheus.js";
import { recommend, type RecommendOptions } from "./recommend.js";
import { inspect } from "./snapshot.js";
import { trackPool } from "./pool-tracker.js";
import type { DiagnosticsTarget } from "./targets.js";

export interface ServeDiagnosticsOptions {
  /** TCP port on 127.0.0.1; 0 (the default) picks a free one (see `handle.port`). */
  port?: number;
  /** Passed to `recommend()` for `GET /recommendations`. */
  recommend?: RecommendOptions;
}

export interface DiagnosticsServer {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly port: number;
  /** Stop listening and drop open connections. Idempotent. */
  close(): Promise<void>;
}

export const LOOPBACK = "127.0.0.1";

export function serveDiagnostics(target: DiagnosticsTarget, options: ServeDiagnosticsOptions = {}): Promise<DiagnosticsServer> {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    return Promise.reject(new RangeError(`port must be an integer from 0 to 65535, got ${String(options.port)}`));
  }
  // Recording starts now, so the first scrape already has a baseline.
  trackPool(target);
  const server = createServer((req, res) => {
    handle(req, res, target, options).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, "application/json", JSON.stringify({ error: err instanceof Error ? err.message : String(err) }));
      else res.destroy();
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, LOOPBACK, () => {
      server.off("error", reject);
      const actual = (server.address() as AddressInfo).port;
      let closing: Promise<void> | undefined;
      resolve({
        url: `http://${LOOPBACK}:${actual}`,
        port: actual,
        close() {
          closing ??= new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          });
          return closing;
        },
      });
    });
  });
}

async function handle(req: IncomingMessage, res: ServerResponse, target: DiagnosticsTarget, options: ServeDiagnosticsOptions): Promise<void> {
  const url = new URL(req.url ?? "/", `http://${LOOPBACK}`);
  const routes: Record<string, () => Promise<void>> = {
    "/snapshot": async () => {
      const memory = url.searchParams.get("memory") !== "0";
      send(res, 200, "application/json", JSON.stringify(await inspect(target, { memory })));
    },
    "/metrics": async () => {
      send(res, 200, PROMETHEUS_CONTENT_TYPE, toPrometheus(await inspect(target)));
    },
    "/recommendations": async () => {
      const snapshot = await inspect(target);
      send(res, 200, "application/json", JSON.stringify({ takenAt: snapshot.takenAt, recommendations: await recommend(snapshot, options.recommend) }));
    },
    "/": async () => {
      send(res, 200, "application/json", JSON.stringify({ endpoints: ["/snapshot", "/metrics", "/recommendations"] }));
    },
  };
  const route = routes[url.pathname];
  if (!route) return send(res, 404, "application/json", JSON.stringify({ error: `no such endpoint: ${url.pathname}`, endpoints: Object.keys(routes) }));
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("allow", "GET, HEAD");
    return send(res, 405, "application/json", JSON.stringify({ error: `${req.method} is not allowed; use GET` }));
  }
  await route();
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { "content-type": contentType, "cache-control": "no-store", "content-length": Buffer.byteLength(body) });
  res.end(res.req.method === "HEAD" ? undefined : body);
}
