/**
 * Real network boundaries on one machine: a network namespace per worker host,
 * joined to the root namespace (where the pool runs) by a veth pair with a /30 of
 * its own in 10.x. Every name carries this process's id (`snkp-<pid>-<n>`), so
 * concurrent runs never touch each other's, and what dead runs left behind is
 * removed first. Traffic only ever goes to addresses of namespaces made here.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

const PREFIX = "snkp-";
const pid36 = process.pid.toString(36);

function ip(...args: string[]): string {
  return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function tryIp(...args: string[]): void {
  try {
    ip(...args);
  } catch {
    /* already gone */
  }
}

function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Why namespaces cannot be made here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== "linux") return "network namespaces need Linux";
  if (process.getuid?.() !== 0) return "network namespaces need root (ip netns add)";
  const probe = `${PREFIX}${process.pid}-probe`;
  try {
    ip("netns", "add", probe);
    ip("netns", "del", probe);
    return undefined;
  } catch (err) {
    tryIp("netns", "del", probe);
    return `ip netns add failed: ${(err as { stderr?: string }).stderr?.trim() || String(err)}`;
  }
}

/** Kill the processes in, and delete, namespaces and veths whose run (pid) is dead. */
export function removeStale(): void {
  let list = "";
  try {
    list = ip("netns", "list");
  } catch {
    return;
  }
  for (const line of list.split("\n")) {
    const name = line.split(" ")[0] ?? "";
    const m = /^snkp-(\d+)-/.exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    killNamespace(name);
  }
  for (const line of ip("-o", "link", "show").split("\n")) {
    const m = /^\d+: (sk([0-9a-z]+)[ab]\d+)[@:]/.exec(line);
    if (!m || pidAlive(parseInt(m[2]!, 36))) continue;
    tryIp("link", "del", m[1]!);
  }
}

function killNamespace(name: string): void {
  try {
    for (const p of ip("netns", "pids", name).split("\n").filter(Boolean)) {
      try {
        process.kill(Number(p), "SIGKILL");
      } catch {
        /* gone */
      }
    }
  } catch {
    /* no such namespace */
  }
  tryIp("netns", "del", name);
}

export interface LabHost {
  readonly index: number;
  readonly ns: string;
  /** The root namespace's end of the veth pair (set it down to cut the cable). */
  readonly vethRoot: string;
  readonly vethNs: string;
  /** The host's address, inside its namespace. */
  readonly ip: string;
  readonly port: number;
  readonly address: string;
  server: ChildProcess | undefined;
}

export interface ServeOptions {
  python: string;
  adapter: string;
  threads?: number;
  tokenFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  graceMs?: number;
  env?: Record<string, string>;
  /** Another port than the host's own: a second server beside the first (tracked, stopped by close()). */
  port?: number;
  /** Overrides the command (tests of the test kit); default: python -m snakepit_bridge serve. */
  command?: (host: LabHost) => string[];
}

/** A set of namespaced hosts; `close()` removes everything it made, whatever happened. */
export class NetLab {
  readonly hosts: LabHost[] = [];
  private readonly subnet: string;
  private readonly output = new Map<number, string[]>();
  private readonly extra = new Set<ChildProcess>();

  constructor(count: number, port = 50051) {
    // 10.A.B.0/24 per run, a /30 per host: A and B from the pid, away from common ranges.
    this.subnet = `10.${200 + ((process.pid >> 8) % 50)}.${process.pid & 255}`;
    for (let i = 0; i < count; i++) {
      const h: LabHost = {
        index: i,
        ns: `${PREFIX}${process.pid}-${i}`,
        vethRoot: `sk${pid36}a${i}`,
        vethNs: `sk${pid36}b${i}`,
        ip: `${this.subnet}.${4 * i + 2}`,
        port,
        address: `${this.subnet}.${4 * i + 2}:${port}`,
        server: undefined,
      };
      this.hosts.push(h);
    }
  }

  create(): void {
    removeStale();
    for (const h of this.hosts) {
      ip("netns", "add", h.ns);
      ip("link", "add", h.vethRoot, "type", "veth", "peer", "name", h.vethNs);
      ip("link", "set", h.vethNs, "netns", h.ns);
      ip("addr", "add", `${this.subnet}.${4 * h.index + 1}/30`, "dev", h.vethRoot);
      ip("link", "set", h.vethRoot, "up");
      ip("netns", "exec", h.ns, "ip", "addr", "add", `${h.ip}/30`, "dev", h.vethNs);
      ip("netns", "exec", h.ns, "ip", "link", "set", h.vethNs, "up");
      ip("netns", "exec", h.ns, "ip", "link", "set", "lo", "up");
    }
  }

  /** Start the worker server in the host's namespace; resolves once it listens. */
  async serve(h: LabHost, o: ServeOptions): Promise<ChildProcess> {
    const address = o.port === undefined ? h.address : `${h.ip}:${o.port}`;
    const args = o.command
      ? o.command(h)
      : [
          o.python,
          "-m",
          "snakepit_bridge",
          "serve",
          "--adapter",
          o.adapter,
          "--listen",
          address,
          "--threads",
          String(o.threads ?? 4),
          ...(o.tokenFile ? ["--token-file", o.tokenFile] : []),
          ...(o.tlsCert && o.tlsKey ? ["--tls-cert", o.tlsCert, "--tls-key", o.tlsKey] : []),
          ...(o.tlsClientCa ? ["--tls-client-ca", o.tlsClientCa] : []),
          ...(o.graceMs !== undefined ? ["--grace-ms", String(o.graceMs)] : []),
        ];
    const child = spawn("ip", ["netns", "exec", h.ns, ...args], {
      env: { ...process.env, ...o.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    if (o.port === undefined) h.server = child;
    else {
      this.extra.add(child);
      child.once("exit", () => this.extra.delete(child));
    }
    const lines: string[] = [];
    this.output.set(h.index, lines);
    const keep = (chunk: Buffer) => {
      lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      if (lines.length > 200) lines.splice(0, lines.length - 200);
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    // The server prints "listening on ADDRESS" once it accepts calls: the handshake to wait for.
    return new Promise<ChildProcess>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker server in ${h.ns} not listening after 20 s:\n${lines.join("\n")}`)), 20_000);
      const onData = () => {
        if (!lines.some((l) => l.includes(`listening on ${address}`))) return;
        clearTimeout(timer);
        child.stderr!.off("data", onData);
        resolve(child);
      };
      child.stderr!.on("data", onData);
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`worker server in ${h.ns} exited (${signal ?? code}) before it listened:\n${lines.join("\n")}`));
      });
    });
  }

  outputOf(h: LabHost): string[] {
    return this.output.get(h.index) ?? [];
  }

  /** Signal the server; resolves when it has exited. */
  async stopServer(h: LabHost, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = h.server;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill(signal);
    await gone;
  }

  /** Cut the cable: no reset, no refusal; packets to the host vanish. */
  cut(h: LabHost): void {
    ip("netns", "exec", h.ns, "ip", "link", "set", h.vethNs, "down");
  }

  mend(h: LabHost): void {
    ip("netns", "exec", h.ns, "ip", "link", "set", h.vethNs, "up");
  }

  /** Remove every process, namespace and veth of this lab. Safe to call twice, and after a failed create(). */
  async close(): Promise<void> {
    await Promise.all(this.hosts.map((h) => this.stopServer(h, "SIGKILL").catch(() => {})));
    await Promise.all(
      [...this.extra].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.kill("SIGKILL");
          }),
      ),
    );
    for (const h of this.hosts) {
      killNamespace(h.ns);
      tryIp("link", "del", h.vethRoot);
    }
  }
}

/** GET /healthz: its status code, or 0 when nothing answers within a second. */
export function healthz(address: string, secure = false): Promise<number> {
  const [host, port] = [address.slice(0, address.lastIndexOf(":")), Number(address.slice(address.lastIndexOf(":") + 1))];
  return new Promise((resolve) => {
    const req = (secure ? httpsRequest : httpRequest)(
      { host, port, path: "/healthz", method: "GET", timeout: 1_000, agent: false, ...(secure ? { rejectUnauthorized: false } : {}) },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(0));
    req.end();
  });
}
