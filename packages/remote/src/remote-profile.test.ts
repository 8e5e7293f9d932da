import { createPool, silentLogger, type Pool } from "@snakepit/core";
import { afterEach, describe, expect, it } from "vitest";
import { ADAPTER, fakeHosts } from "../test/fake-hosts.js";
import type { RemoteHostEvent } from "./host-events.js";
import { remoteProfile } from "./remote-profile.js";

const pools: Pool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.destroy()));
});

async function poolOver(fake: ReturnType<typeof fakeHosts>, extra: Parameters<typeof remoteProfile>[0] | Record<string, unknown> = {}, size = 3) {
  const profile = remoteProfile({
    endpoints: [...fake.hosts.keys()] as string[],
    healthIntervalMs: 50,
    healthTimeoutMs: 50,
    ejectBackoff: { initialMs: 20, maxMs: 100 },
    createChannel: (address, o) => fake.createChannel(address, { token: o.token }),
    ...(extra as object),
  } as Parameters<typeof remoteProfile>[0]);
  const pool = await createPool({ profile, size, logger: silentLogger, python: { adapter: ADAPTER }, startTimeoutMs: 2_000 });
  pools.push(pool);
  return { pool, profile };
}

const until = async (check: () => boolean, ms = 3_000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe("remoteProfile options", () => {
  it("names every problem at once", () => {
    expect(() =>
      remoteProfile({ endpoints: ["nohost", { dns: "10.0.0.1:80" }, "a:99999"], healthIntervalMs: 0, ejectBackoff: { initialMs: 10, maxMs: 5 }, bogus: 1 } as never),
    ).toThrow(
      expect.objectContaining({
        code: "invalid_config",
        issues: expect.arrayContaining([
          expect.objectContaining({ path: "bogus" }),
          expect.objectContaining({ path: "endpoints[0]", message: expect.stringContaining("host:port") }),
          expect.objectContaining({ path: "endpoints[1]", message: expect.stringContaining("not a name to discover") }),
          expect.objectContaining({ path: "endpoints[2]", message: expect.stringContaining("port") }),
          expect.objectContaining({ path: "healthIntervalMs" }),
          expect.objectContaining({ path: "ejectBackoff.maxMs" }),
        ]),
      }),
    );
    expect(() => remoteProfile({ endpoints: [] })).toThrow(/at least one worker/);
  });

  it("accepts IPv6 and a single DNS endpoint", () => {
    expect(remoteProfile({ endpoints: "[fd00::1]:50051" }).name).toBe("remote");
    expect(remoteProfile({ endpoints: { dns: "workers.default.svc:50051" }, name: "gpu" }).name).toBe("gpu");
  });
});

describe("remoteProfile over in-memory hosts", () => {
  it("makes each host one worker with its own capacity, and spreads calls over them", async () => {
    const fake = fakeHosts(["10.9.0.1:7000", "10.9.0.2:7000", "10.9.0.3:7000"], { threads: 3 });
    const { pool, profile } = await poolOver(fake);
    const stats = pool.stats();
    expect(stats.workers).toBe(3);
    expect(stats.capacity).toBe(9);
    const results = await Promise.all(Array.from({ length: 9 }, () => pool.execute<{ host: string }>("sleep", { ms: 30 })));
    expect(new Set(results.map((r) => r.host)).size).toBe(3);
    expect(profile.hosts().map((h) => h.state)).toEqual(["in_use", "in_use", "in_use"]);
  });

  it("a host that resets fails its calls as worker_crashed, leaves at once, and idempotent calls succeed elsewhere", async () => {
    const fake = fakeHosts(["10.9.0.1:7000", "10.9.0.2:7000", "10.9.0.3:7000"], { threads: 2 });
    const events: RemoteHostEvent[] = [];
    const { pool, profile } = await poolOver(fake, { onHostChange: (e: RemoteHostEvent) => events.push(e) }, 2);
    const victim = profile.hosts().find((h) => h.state === "in_use")!.address;
    const calls = Array.from({ length: 4 }, (_, i) => pool.execute<{ host: string }>("sleep", { ms: 200 }, { idempotent: i % 2 === 0 }).then((r) => r, (e: unknown) => e));
    await until(() => fake.hosts.get(victim)!.running > 0);
    fake.reset(victim);
    const out = await Promise.all(calls);
    for (let i = 0; i < out.length; i++) {
      if (i % 2 === 0) expect(out[i]).toMatchObject({ host: expect.not.stringMatching(victim) });
      else if (out[i] instanceof Error) expect(out[i]).toMatchObject({ code: "worker_crashed" });
    }
    expect(events).toContainEqual(expect.objectContaining({ type: "ejected", address: victim }));
    // The pool replaces the worker with the third, unused host.
    await until(() => pool.stats().workers === 2 && profile.hosts().filter((h) => h.state === "in_use").length === 2);
    expect(profile.hosts().find((h) => h.address === victim)!.state).toBe("ejected");
  });

  it("a cut host fails its calls by their deadline, is ejected by health checks, and is taken back when it answers", async () => {
    const fake = fakeHosts(["10.9.0.1:7000", "10.9.0.2:7000"], { threads: 1 });
    const events: RemoteHostEvent[] = [];
    const { pool, profile } = await poolOver(fake, { onHostChange: (e: RemoteHostEvent) => events.push(e) }, 2);
    fake.hosts.get("10.9.0.1:7000")!.mode = "cut";
    const started = Date.now();
    const results = await Promise.allSettled([pool.execute("sleep", { ms: 10 }, { timeoutMs: 400 }), pool.execute("sleep", { ms: 10 }, { timeoutMs: 400 })]);
    expect(Date.now() - started).toBeLessThan(1_500);
    for (const r of results) if (r.status === "rejected") expect((r.reason as { code: string }).code).toMatch(/deadline_exceeded|worker_crashed/);
    await until(() => events.some((e) => e.type === "ejected" && e.address === "10.9.0.1:7000"));
    expect(pool.stats().workers).toBe(1);
    fake.hosts.get("10.9.0.1:7000")!.mode = "up";
    await until(() => events.some((e) => e.type === "readmitted") && pool.stats().workers === 2);
    expect(profile.hosts().every((h) => h.state === "in_use")).toBe(true);
  });

  it("a draining host takes no new calls and leaves once its calls finish, with none failed", async () => {
    const fake = fakeHosts(["10.9.0.1:7000", "10.9.0.2:7000", "10.9.0.3:7000"], { threads: 2 });
    const { pool, profile } = await poolOver(fake, {}, 2);
    const draining = profile.hosts().find((h) => h.state === "in_use")!.address;
    const calls = Array.from({ length: 4 }, () => pool.execute("sleep", { ms: 150 }));
    await until(() => fake.hosts.get(draining)!.running > 0);
    fake.hosts.get(draining)!.mode = "draining";
    const h = fake.hosts.get(draining)!;
    // Running calls on the draining host finish; it serves nothing new.
    await expect(Promise.all(calls)).resolves.toHaveLength(4);
    await until(() => profile.hosts().find((x) => x.address === draining)!.state === "ejected");
    const servedBefore = h.served;
    await Promise.all(Array.from({ length: 6 }, () => pool.execute("sleep", { ms: 5 })));
    expect(h.served).toBe(servedBefore);
    expect(pool.stats().crashes).toBe(0);
  });

  it("a call refused before it started (draining host, refused connection) runs on another host, idempotent or not", async () => {
    const fake = fakeHosts(["10.9.0.1:7000", "10.9.0.2:7000", "10.9.0.3:7000"], { threads: 2 });
    // Health checks too rare to notice: only the refusals tell.
    const { pool, profile } = await poolOver(fake, { healthIntervalMs: 60_000 }, 3);
    const [a, b] = profile.hosts().map((h) => fake.hosts.get(h.address)!);
    a!.mode = "draining";
    b!.mode = "refusing";
    const before = { a: a!.served, b: b!.served };
    const results = await Promise.all(Array.from({ length: 12 }, () => pool.execute<{ host: string }>("sleep", { ms: 5 })));
    expect(results.every((r) => r.host === "10.9.0.3:7000")).toBe(true);
    expect({ a: a!.served, b: b!.served }).toEqual(before);
    await until(() => profile.hosts().filter((h) => h.state === "ejected").length === 2);
  });

  it("a wrong token is a clear worker_start_failed that names it and never shows it", async () => {
    const fake = fakeHosts(["10.9.0.1:7000"], { token: "s3cret-right" });
    const err = await poolOver(fake, { token: "s3cret-wrong" }, 1).then(
      () => undefined,
      (e: unknown) => e as Error & { code: string },
    );
    expect(err).toMatchObject({ code: "worker_start_failed", message: expect.stringContaining("refused the token") });
    expect(err!.message).not.toContain("s3cret");
  });

  it("a host serving another adapter is refused", async () => {
    const fake = fakeHosts(["10.9.0.1:7000"], { adapter: "other.mod:Other" });
    await expect(poolOver(fake, {}, 1)).rejects.toMatchObject({ code: "worker_start_failed", message: expect.stringContaining("other.mod:Other") });
  });

  it("a start that finds no usable host fails by startTimeoutMs, naming what it tried", async () => {
    const fake = fakeHosts(["10.9.0.1:7000", "10.9.0.2:7000"]);
    fake.hosts.get("10.9.0.2:7000")!.mode = "refusing";
    const started = Date.now();
    const err = await poolOver(fake, { ejectBackoff: { initialMs: 5_000, maxMs: 5_000 } }, 2).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toMatchObject({ code: "worker_start_failed" });
    expect(err!.message).toMatch(/10\.9\.0\.2:7000 \(no answer to Describe: .*ECONNREFUSED/);
    expect(Date.now() - started).toBeLessThan(2_600);
  });

  it("discovers hosts by DNS, adds new ones and drains the ones that leave", async () => {
    const fake = fakeHosts(["10.9.0.1:7000", "10.9.0.2:7000", "10.9.0.3:7000"]);
    let records = ["10.9.0.1", "10.9.0.2"];
    const { pool, profile } = await poolOver(fake, { endpoints: { dns: "workers.test:7000" }, resolver: async () => records, resolveIntervalMs: 30 }, 2);
    expect(pool.stats().workers).toBe(2);
    records = ["10.9.0.2", "10.9.0.3"];
    await until(() => profile.hosts().some((h) => h.address === "10.9.0.3:7000" && h.state === "in_use"));
    await until(() => !profile.hosts().some((h) => h.address === "10.9.0.1:7000"));
    expect(pool.stats().workers).toBe(2);
    expect(pool.stats().crashes).toBe(0);
  });

  it("recycling drains the connection and keeps the host", async () => {
    const fake = fakeHosts(["10.9.0.1:7000"], { threads: 2 });
    const { pool, profile } = await poolOver(fake, {}, 1);
    const [before] = pool.stats().perWorker;
    const running = pool.execute("sleep", { ms: 100 });
    await until(() => fake.hosts.get("10.9.0.1:7000")!.running > 0);
    await pool.recycleWorker(before!.id);
    await expect(running).resolves.toEqual({ host: "10.9.0.1:7000" });
    const [after] = pool.stats().perWorker;
    expect(after!.id).not.toBe(before!.id);
    expect(profile.hosts()).toMatchObject([{ state: "in_use", workers: 1 }]);
    await expect(pool.execute("sleep", { ms: 1 })).resolves.toEqual({ host: "10.9.0.1:7000" });
  });

  it("puts the host in the worker's info", async () => {
    const fake = fakeHosts(["10.9.0.1:7000"]);
    const profile = remoteProfile({ endpoints: ["10.9.0.1:7000"], createChannel: (a) => fake.createChannel(a) });
    const ac = new AbortController();
    const handle = await profile.startWorker({
      workerId: "t/w1",
      poolName: "t",
      options: { python: { adapter: ADAPTER }, maxPayloadBytes: 1024, startTimeoutMs: 1000, size: 1, allowUnsafeAdapters: false } as never,
      runtimeDir: "/nonexistent",
      signal: ac.signal,
      logger: silentLogger,
      onOutput() {},
    });
    expect(handle.info).toMatchObject({ host: "10.9.0.1:7000", endpoint: "10.9.0.1:7000", threads: 2 });
    expect(handle.pid).toBeUndefined();
    await handle.stop({ timeoutMs: 100 });
    await expect(handle.exited).resolves.toMatchObject({ expected: true });
  });
});
