/**
 * Where the workers are: fixed "host:port" addresses, and DNS names whose every
 * A/AAAA record is a worker (a Kubernetes headless Service), re-resolved on a
 * period and whenever a worker is lost.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";

/** A DNS name to discover: every address it resolves to, on `port`, is a worker. */
export interface DnsEndpoint {
  /** "name:port", e.g. "snakepit-workers.default.svc.cluster.local:50051". */
  readonly dns: string;
}

export type Endpoint = string | DnsEndpoint;

/** Resolves a host name to its addresses (IPv4 and IPv6, any order). */
export type Resolver = (hostname: string) => Promise<readonly string[]>;

/** One endpoint as parsed: a fixed address, or a name to resolve. */
export type ParsedEndpoint =
  | { readonly kind: "static"; readonly host: string; readonly port: number; readonly address: string }
  | { readonly kind: "dns"; readonly name: string; readonly port: number; readonly source: string };

/** The default resolver: the system's (getaddrinfo: /etc/hosts, search domains, as a pod resolves names). */
export const systemResolver: Resolver = async (hostname) => {
  const records = await lookup(hostname, { all: true, verbatim: true });
  return records.map((r) => r.address);
};

/** "host:port" / "[v6]:port" -> parts, or an error message. */
export function splitHostPort(text: string): { host: string; port: number } | string {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]]+):(\d+)$/.exec(text);
  if (!m) return `"${text}" is not "host:port" (IPv6 as "[addr]:port")`;
  const host = m[1]!;
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `"${text}" has no valid port (1-65535)`;
  if (host.includes("[") || (host.includes(":") && isIP(host) !== 6)) return `"${text}" has an invalid host`;
  return { host, port };
}

/** The address a channel dials: "10.0.0.7:50051" or "[fd00::7]:50051". */
export function formatAddress(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

export function parseEndpoint(e: unknown, path: string): ParsedEndpoint | string {
  if (typeof e === "string") {
    const hp = splitHostPort(e);
    if (typeof hp === "string") return `${path}: ${hp}`;
    return { kind: "static", host: hp.host, port: hp.port, address: formatAddress(hp.host, hp.port) };
  }
  if (typeof e === "object" && e !== null && typeof (e as DnsEndpoint).dns === "string") {
    const text = (e as DnsEndpoint).dns;
    const hp = splitHostPort(text);
    if (typeof hp === "string") return `${path}.dns: ${hp}`;
    if (isIP(hp.host)) return `${path}.dns: "${text}" is an address, not a name to discover (give it as a plain "host:port" string)`;
    return { kind: "dns", name: hp.host, port: hp.port, source: text };
  }
  return `${path} must be "host:port" or { dns: "name:port" }`;
}

/** The addresses the endpoints stand for now. A name that fails to resolve is reported, not fatal. */
export async function resolveEndpoints(
  endpoints: readonly ParsedEndpoint[],
  resolver: Resolver,
): Promise<{ addresses: Map<string, ParsedEndpoint>; failures: Array<{ endpoint: ParsedEndpoint; error: unknown }> }> {
  const addresses = new Map<string, ParsedEndpoint>();
  const failures: Array<{ endpoint: ParsedEndpoint; error: unknown }> = [];
  await Promise.all(
    endpoints.map(async (e) => {
      if (e.kind === "static") {
        addresses.set(e.address, e);
        return;
      }
      try {
        const ips = await resolver(e.name);
        if (ips.length === 0) throw new Error(`${e.name} has no A/AAAA records`);
        for (const ip of ips) addresses.set(formatAddress(ip, e.port), e);
      } catch (error) {
        failures.push({ endpoint: e, error });
      }
    }),
  );
  return { addresses, failures };
}
