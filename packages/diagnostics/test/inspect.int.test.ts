// inspect() and recommend() against real pools of real Python workers.
import { createSnakepit, type Pool, type RequestQueuedEvent, type RequestStartedEvent, type WorkerExitedEvent, type WorkerReadyEvent } from "@snakepit/core";
import { inspect, recommend, trackPool, untrackPool, type PoolSnapshot } from "@snakepit/diagnostics";
import { afterEach, describe, expect, it } from "vitest";
import { fixtureOptions, fixturePool, nextEvents, SHOWCASE } from "./diag-helpers.js";

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
});

async function pool(...args: Parameters<typeof fixturePool>): Promise<Pool> {
  const p = await fixturePool(...args);
  open.push(p);
  return p;
}

function only(snapshot: { pools: readonly PoolSnapshot[] }, name: string): PoolSnapshot {
  const found = snapshot.pools.find((p) => p.name === name);
  if (!found) throw new Error(`no pool ${name} in the snapshot`);
  return found;
}

describe("inspect", () => {
  it("shows real loads while requests run, process and thread workers alike, then their run times", async () => {
    const proc = await pool(SHOWCASE, { name: "proc", size: 2 });
    const thr = await pool(SHOWCASE, { name: "thr", profile: "thread", size: 1, threadsPerWorker: 4 });
    const started = nextEvents<RequestStartedEvent>("requestStarted", 5, (e) => e.pool === proc || e.pool === thr);
    const calls = [
      ...[1, 2].map(() => proc.execute("sleep", { seconds: 0.5 })),
      ...[1, 2, 3].map(() => thr.execute("sleep", { seconds: 0.5 })),
    ];
    await started;
    const during = await inspect([proc, thr]);
    const p = only(during, "proc");
    expect(p.profile).toBe("process");
    expect(p.busy).toBe(2);
    expect(p.inFlight).toBe(2);
    expect(p.workers).toHaveLength(2);
    for (const w of p.workers) {
      expect(w).toMatchObject({ state: "busy", load: 1, capacity: 1 });
      expect(w.pid).toBeGreaterThan(0);
      // Memory comes from the worker's own health answer, even while its only tool slot is busy.
      expect(w.rssBytes).toBeGreaterThan(10 * 2 ** 20);
      expect(w.pssBytes).toBeGreaterThan(0);
    }
    expect(p.memory!.rssBytes).toBe(p.workers.reduce((n, w) => n + w.rssBytes!, 0));
    const t = only(during, "thr");
    expect(t.profile).toBe("thread");
    expect(t.workers).toHaveLength(1);
    expect(t.workers[0]).toMatchObject({ state: "busy", load: 3, capacity: 4 });
    expect(t.capacity).toBe(4);
    expect(t.runtime).toMatchObject({ adapter: SHOWCASE, adapterThreadSafe: true, threads: 4 });
    expect(t.runtime!.tools).toContain("sleep");

    await Promise.all(calls);
    await proc.execute("add", { a: 1, b: 2 });
    const after = await inspect([proc, thr]);
    const p2 = only(after, "proc");
    expect(p2.workers.map((w) => w.state)).toEqual(["idle", "idle"]);
    // Recording started at the first inspect; the calls finished after it, so they count.
    expect(p2.runTime.count).toBe(3);
    expect(p2.runTime.maxMs).toBeGreaterThan(450);
    expect(p2.runTime.p50Ms).toBeGreaterThan(450);
    expect(p2.runTime.minMs).toBeLessThan(100);
    expect(p2.waitTime.count).toBe(3);
    expect(only(after, "thr").runTime.count).toBe(3);
    expect(p2.requests.completed).toBe(3);
    expect(p2.workers.reduce((n, w) => n + w.requestsServed, 0)).toBe(3);
    expect(new Date(p2.recordingSince).getTime()).toBeLessThanOrEqual(Date.now());
    expect(p2.workers[0]!.memoryHistory).toHaveLength(2);
  });

  it("counts recycles by reason and crashes by how the worker died, and what came before tracking", async () => {
    const p = await pool(SHOWCASE, { name: "churn", size: 1 });
    await p.recycleWorker(p.stats().perWorker[0]!.id, { reason: "before" });
    await inspect(p);
    await p.recycleWorker(p.stats().perWorker.find((w) => w.state === "ready")!.id, { reason: "max_requests" });
    const victim = p.stats().perWorker.find((w) => w.state === "ready")!;
    const exited = nextEvents<WorkerExitedEvent>("workerExited", 1, (e) => e.workerId === victim.id);
    const replaced = nextEvents<WorkerReadyEvent>("workerReady", 1, (e) => e.pool === p);
    process.kill(victim.pid!, "SIGKILL");
    await exited;
    await replaced;
    await expect(p.execute("fail", { message: "x" })).rejects.toMatchObject({ code: "python_error" });
    const s = only(await inspect(p), "churn");
    expect(s.recycles).toEqual({ total: 2, byReason: { max_requests: 1, before_tracking: 1 } });
    expect(s.crashes).toEqual({ total: 1, byReason: { "signal:SIGKILL": 1 } });
    expect(s.failuresByCode).toEqual({ python_error: 1 });
    const recs = await recommend({ takenAt: "", pools: [s] });
    expect(recs.map((r) => r.rule)).toContain("crashing");
  });

  it("shows the queue of a saturated pool, and recommend says so", async () => {
    const p = await pool(SHOWCASE, { name: "busy", size: 1 });
    const queued = nextEvents<RequestQueuedEvent>("requestQueued", 3, (e) => e.pool === p);
    const calls = [p.execute("sleep", { seconds: 0.4 }), p.execute("noop"), p.execute("noop"), p.execute("noop")];
    await queued;
    const snapshot = await inspect(p);
    const s = only(snapshot, "busy");
    expect(s.queueDepth).toBe(3);
    expect(s.workers[0]).toMatchObject({ state: "busy", load: 1 });
    const recs = await recommend(snapshot);
    const saturated = recs.find((r) => r.rule === "saturated");
    expect(saturated?.message).toContain("size 1 → 4");
    await Promise.all(calls);
  });

  it("sees memory grow across inspections of a leaking worker", async () => {
    const p = await pool("snakepit_fixtures.leak:LeakAdapter", { name: "leaky", size: 1 });
    await inspect(p);
    await p.execute("leak", { mb: 40 });
    await inspect(p);
    await p.execute("leak", { mb: 40 });
    const snapshot = await inspect(p);
    const w = only(snapshot, "leaky").workers[0]!;
    expect(w.memoryHistory).toHaveLength(3);
    const growth = w.memoryHistory[2]!.rssBytes - w.memoryHistory[0]!.rssBytes;
    expect(growth).toBeGreaterThan(70 * 2 ** 20);
    const recs = await recommend(snapshot, { thresholds: { memoryGrowthBytes: 50 * 2 ** 20 } });
    expect(recs.find((r) => r.rule === "memory_growing")?.message).toContain(w.id);
    // With the default threshold (64 MiB and +25%) it depends on the start size; with a huge one, nothing.
    expect((await recommend(snapshot, { thresholds: { memoryGrowthBytes: 2 ** 30 } })).map((r) => r.rule)).not.toContain("memory_growing");
  });

  it("takes a Snakepit, lists tracked pools without a target, and forgets closed or untracked ones", async () => {
    const snakepit = await createSnakepit({
      pools: {
        alpha: { ...fixtureOptions(SHOWCASE), size: 1 },
        beta: { ...fixtureOptions(SHOWCASE), size: 1, profile: "thread", threadsPerWorker: 2 },
      },
    });
    open.push(snakepit);
    const first = await inspect(snakepit, { memory: false, describe: false });
    expect(first.pools.map((p) => p.name)).toEqual(["alpha", "beta"]);
    expect(first.pools[0]!.workers[0]!.rssBytes).toBeNull();
    expect(first.pools[0]!.runtime).toBeNull();
    const names = async () => (await inspect(undefined, { memory: false })).pools.map((p) => p.name);
    expect(await names()).toEqual(expect.arrayContaining(["alpha", "beta"]));
    untrackPool(snakepit.pool("beta"));
    expect(await names()).not.toContain("beta");
    trackPool(snakepit.pool("beta"));
    await snakepit.close();
    open.pop();
    expect(await names()).not.toContain("alpha");
    expect(await names()).not.toContain("beta");
    // A closed pool can still be inspected directly.
    expect(only(await inspect(snakepit.pool("alpha")), "alpha").state).toBe("stopped");
  });
});
