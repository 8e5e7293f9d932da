/**
 * @snakepit/remote across real network boundaries: three worker servers
 * (`python -m snakepit_bridge serve`), each in a network namespace of its own
 * joined by a veth pair; the pool in the root namespace.
 */
import { execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { createPool, silentLogger, SNAKEPIT_EVENTS, type Pool } from "@snakepit/core";
import { remoteProfile, type RemoteHostEvent, type RemoteProfile } from "@snakepit/remote";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isAlive, OWNER, OWNER_VAR, SHOWCASE, venvPython } from "../../core/test/helpers.js";
import { NetLab, netnsUnavailable, type LabHost } from "./netns.js";

const why = netnsUnavailable();
if (why && process.env["CI"] === "true") throw new Error(`@snakepit/remote's network tests cannot run in CI: ${why}`);
if (why) console.warn(`\n*** SKIPPING @snakepit/remote network tests: ${why} ***\n`);

const TOKEN = `t-${process.pid}-${Math.random().toString(36).slice(2)}`;
const THREADS = 2;

describe.skipIf(why !== undefined)("remote workers in network namespaces", () => {
  const lab = new NetLab(3);
  let dir = "";
  let tokenFile = "";
  const pools: Pool[] = [];
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);

  const serve = (h: LabHost, extra: { graceMs?: number } = {}) =>
    lab.serve(h, {
      python: venvPython,
      adapter: SHOWCASE,
      threads: THREADS,
      tokenFile,
      graceMs: extra.graceMs ?? 5_000,
      env: { [OWNER_VAR]: OWNER },
    });

  beforeAll(async () => {
    process.on("uncaughtException", onUncaught);
    process.on("unhandledRejection", onUncaught);
    dir = mkdtempSync(join(tmpdir(), "snkp-remote-"));
    tokenFile = join(dir, "token");
    writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
    try {
      lab.create();
      await Promise.all(lab.hosts.map((h) => serve(h)));
    } catch (err) {
      await lab.close();
      throw err;
    }
  });

  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.destroy()));
    // Every host serving again for the next test, whatever this one did to it.
    for (const h of lab.hosts) lab.mend(h);
    await Promise.all(lab.hosts.filter((h) => !h.server || h.server.exitCode !== null || h.server.signalCode !== null).map((h) => serve(h)));
    expect(uncaught, "uncaught errors in the Node process").toEqual([]);
  });

  afterAll(async () => {
    process.off("uncaughtException", onUncaught);
    process.off("unhandledRejection", onUncaught);
    const servers = lab.hosts.map((h) => h.server?.pid).filter((p): p is number => p !== undefined);
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
    expect(servers.filter(isAlive), "worker servers left running").toEqual([]);
  });

  async function remotePool(extra: Partial<Parameters<typeof remoteProfile>[0]> = {}, size = 3, startTimeoutMs = 10_000): Promise<{ pool: Pool; profile: RemoteProfile; events: RemoteHostEvent[] }> {
    const events: RemoteHostEvent[] = [];
    const profile = remoteProfile({
      endpoints: lab.hosts.map((h) => h.address),
      token: TOKEN,
      healthIntervalMs: 200,
      healthTimeoutMs: 300,
      ejectBackoff: { initialMs: 100, maxMs: 1_000 },
      onHostChange: (e) => events.push(e),
      ...extra,
    });
    const pool = await createPool({ profile, size, logger: silentLogger, python: { adapter: SHOWCASE }, startTimeoutMs });
    pools.push(pool);
    return { pool, profile, events };
  }

  const until = async (check: () => boolean, ms: number, what: string) => {
    const end = Date.now() + ms;
    while (!check()) {
      if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it("spreads calls over three hosts, each a worker with its threads as capacity, the host in its info", async () => {
    const ready: Array<{ info: { host?: string } }> = [];
    const listener = (m: unknown) => ready.push(m as { info: { host?: string } });
    subscribe(SNAKEPIT_EVENTS.workerReady, listener);
    try {
      const { pool, profile } = await remotePool();
      expect(pool.stats()).toMatchObject({ workers: 3, capacity: 3 * THREADS });
      const pids = await Promise.all(Array.from({ length: 12 }, () => pool.execute<{ pid: number }>("whoami")));
      expect(new Set(pids.map((p) => p.pid)).size).toBe(3);
      // Six calls that each hold a thread for a while: two on every host at once.
      const started = Date.now();
      await Promise.all(Array.from({ length: 6 }, () => pool.execute("sleep", { seconds: 0.4 })));
      expect(Date.now() - started).toBeLessThan(1_600);
      expect(profile.hosts().map((h) => h.state)).toEqual(["in_use", "in_use", "in_use"]);
      expect(ready.map((r) => r.info.host).sort()).toEqual(lab.hosts.map((h) => h.address).sort());
    } finally {
      unsubscribe(SNAKEPIT_EVENTS.workerReady, listener);
    }
  });

  it("a wrong token is a clear worker_start_failed that names the token, never shows it", async () => {
    const err = await remotePool({ token: "not-the-token-xyz" }, 1).then(
      () => undefined,
      (e: unknown) => e as Error & { code: string },
    );
    expect(err).toMatchObject({ code: "worker_start_failed", message: expect.stringContaining("refused the token") });
    expect(err!.message).not.toContain("not-the-token-xyz");
    expect(err!.message).not.toContain(TOKEN);
  });

  it("a host killed under load: idempotent calls all succeed, others fail typed, nothing hangs; restarted, it is taken back", async () => {
    const { pool, profile, events } = await remotePool();
    const victim = lab.hosts[0]!;
    const results: Array<{ idempotent: boolean; ok: boolean; code?: string; ms: number }> = [];
    let stop = false;
    const loop = async (i: number) => {
      for (let n = 0; !stop; n++) {
        const idempotent = (i + n) % 2 === 0;
        const t0 = Date.now();
        try {
          await pool.execute("sleep", { seconds: 0.05 }, { idempotent, timeoutMs: 5_000 });
          results.push({ idempotent, ok: true, ms: Date.now() - t0 });
        } catch (e) {
          results.push({ idempotent, ok: false, code: (e as { code?: string }).code ?? String(e), ms: Date.now() - t0 });
        }
      }
    };
    const loops = Array.from({ length: 8 }, (_, i) => loop(i));
    await new Promise((r) => setTimeout(r, 500));
    await lab.stopServer(victim, "SIGKILL");
    await until(() => events.some((e) => e.type === "ejected" && e.address === victim.address), 3_000, "the killed host to be ejected");
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await Promise.all(loops);
    expect(results.filter((r) => r.idempotent && !r.ok)).toEqual([]);
    for (const r of results.filter((x) => !x.ok)) expect(r.code).toBe("worker_crashed");
    expect(Math.max(...results.map((r) => r.ms))).toBeLessThan(5_000);
    expect(results.filter((r) => r.ok).length).toBeGreaterThan(20);
    // Restarted, the host is probed, re-admitted, and the pool is back to three workers.
    await serve(victim);
    await until(() => events.some((e) => e.type === "readmitted" && e.address === victim.address), 5_000, "re-admission");
    await until(() => profile.hosts().find((h) => h.address === victim.address)!.state === "in_use", 15_000, "the pool to use the host again");
    expect(pool.stats().workers).toBe(3);
    const pids = await Promise.all(Array.from({ length: 12 }, () => pool.execute<{ pid: number }>("whoami")));
    expect(new Set(pids.map((p) => p.pid)).size).toBe(3);
  });

  it("a host cut off (link down): its calls fail by their deadline, never later, and it is ejected", async () => {
    const { pool, events } = await remotePool({}, 3);
    const victim = lab.hosts[1]!;
    lab.cut(victim);
    const cutAt = Date.now();
    const timeoutMs = 1_500;
    const settled = await Promise.all(
      Array.from({ length: 12 }, async () => {
        const t0 = Date.now();
        try {
          await pool.execute("sleep", { seconds: 0.2 }, { timeoutMs });
          return { ok: true, ms: Date.now() - t0 };
        } catch (e) {
          return { ok: false, code: (e as { code?: string }).code, ms: Date.now() - t0 };
        }
      }),
    );
    for (const s of settled) {
      expect(s.ms).toBeLessThan(timeoutMs + 250);
      if (!s.ok) expect(s.code).toMatch(/^(deadline_exceeded|worker_crashed)$/);
    }
    await until(() => events.some((e) => e.type === "ejected" && e.address === victim.address), 2_000, "the cut host to be ejected");
    const ejected = events.find((e) => e.type === "ejected" && e.address === victim.address)!;
    expect(ejected.at - cutAt).toBeLessThan(2_000);
    // Calls keep working on the other two.
    await expect(Promise.all(Array.from({ length: 8 }, () => pool.execute("add", { a: 1, b: 2 })))).resolves.toEqual(Array(8).fill(3));
    lab.mend(victim);
    await until(() => events.some((e) => e.type === "readmitted" && e.address === victim.address), 5_000, "the mended host to be taken back");
  });

  it("SIGTERM drains a host with no failed call, idempotent or not", async () => {
    const { pool, events } = await remotePool();
    const victim = lab.hosts[2]!;
    const failures: string[] = [];
    let ok = 0;
    let stop = false;
    const loop = async () => {
      while (!stop) {
        try {
          await pool.execute("sleep", { seconds: 0.1 }, { timeoutMs: 10_000 });
          ok++;
        } catch (e) {
          failures.push(`${(e as { code?: string }).code}: ${(e as Error).message}`);
          await new Promise((r) => setImmediate(r));
        }
      }
    };
    const loops = Array.from({ length: 6 }, loop);
    await new Promise((r) => setTimeout(r, 400));
    await lab.stopServer(victim, "SIGTERM");
    await until(() => events.some((e) => e.type === "ejected" && e.address === victim.address), 3_000, "the draining host to leave");
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await Promise.all(loops);
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(20);
    expect(pool.stats().crashes).toBe(0);
  });

  it("a worker server stopped while idle or busy never raises an uncaught error in Node", async () => {
    const { pool } = await remotePool({}, 3);
    await pool.execute("add", { a: 1, b: 1 });
    // Idle: keep-alive sockets open, nothing running.
    await lab.stopServer(lab.hosts[0]!, "SIGTERM");
    // Busy: calls running.
    const running = Array.from({ length: 4 }, () => pool.execute("sleep", { seconds: 1 }).catch((e: unknown) => e));
    await new Promise((r) => setTimeout(r, 200));
    await lab.stopServer(lab.hosts[1]!, "SIGKILL");
    await Promise.all(running);
    await new Promise((r) => setTimeout(r, 500));
    expect(uncaught).toEqual([]);
  });

  it("the README example runs, and the README shows it verbatim", async () => {
    const { addOnRemoteWorkers } = await import("./readme-example.js");
    await expect(addOnRemoteWorkers(lab.hosts.map((h) => h.address), TOKEN)).resolves.toBe(42);
    const example = readFileSync(new URL("./readme-example.ts", import.meta.url), "utf8");
    expect(readFileSync(new URL("../README.md", import.meta.url), "utf8")).toContain(example.trim());
  });

  it("TLS with client certificates, workers discovered by DNS name, the certificate checked against that name", async () => {
    const pki = makePki(dir, "workers.snakepit.test");
    const servers: ChildProcess[] = [];
    try {
      for (const h of lab.hosts) {
        servers.push(
          await lab.serve(h, {
            python: venvPython,
            adapter: SHOWCASE,
            threads: THREADS,
            tokenFile,
            port: 50052,
            tlsCert: pki.serverCert,
            tlsKey: pki.serverKey,
            tlsClientCa: pki.caCert,
            env: { [OWNER_VAR]: OWNER },
          }),
        );
      }
      const ips = lab.hosts.map((h) => h.ip);
      const endpoints = { dns: "workers.snakepit.test:50052" };
      const resolver = async (name: string) => (name === "workers.snakepit.test" ? ips : []);
      const ca = readFileSync(pki.caCert);
      const { pool, profile } = await remotePool({ endpoints, resolver, tls: { ca, cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) } });
      const pids = await Promise.all(Array.from({ length: 12 }, () => pool.execute<{ pid: number }>("whoami")));
      expect(new Set(pids.map((p) => p.pid)).size).toBe(3);
      expect(profile.hosts().map((h) => h.source)).toEqual(Array(3).fill("workers.snakepit.test:50052"));
      // No client certificate: the worker refuses the handshake (often seen as a
      // broken pipe, not as a TLS alert, so it is waited out like a network failure).
      await expect(remotePool({ endpoints, resolver, tls: { ca } }, 1, 2_000)).rejects.toMatchObject({ code: "worker_start_failed" });
      // A CA that did not sign the worker's certificate: refused on our side.
      await expect(
        remotePool({ endpoints, resolver, tls: { ca: readFileSync(pki.clientCert), cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) } }, 1),
      ).rejects.toMatchObject({ code: "worker_start_failed", message: expect.stringMatching(/certificate/i) });
    } finally {
      for (const child of servers) child.kill("SIGKILL");
    }
  });
});

/** A throwaway CA, a server certificate for `name` and a client certificate (openssl, EC P-256, one day). */
function makePki(dir: string, name: string) {
  const f = (n: string) => join(dir, n);
  const ssl = (...args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  ssl("req", "-x509", ...ec, "-keyout", f("ca.key"), "-out", f("ca.crt"), "-days", "1", "-subj", "/CN=snakepit test CA");
  for (const [who, ext] of [
    ["server", `subjectAltName=DNS:${name}\nextendedKeyUsage=serverAuth`],
    ["client", "extendedKeyUsage=clientAuth"],
  ] as const) {
    ssl("req", ...ec, "-keyout", f(`${who}.key`), "-out", f(`${who}.csr`), "-subj", `/CN=snakepit test ${who}`);
    writeFileSync(f(`${who}.ext`), ext);
    ssl("x509", "-req", "-in", f(`${who}.csr`), "-CA", f("ca.crt"), "-CAkey", f("ca.key"), "-CAcreateserial", "-out", f(`${who}.crt`), "-days", "1", "-extfile", f(`${who}.ext`));
  }
  return { caCert: f("ca.crt"), serverCert: f("server.crt"), serverKey: f("server.key"), clientCert: f("client.crt"), clientKey: f("client.key") };
}
