import { afterEach, describe, expect, it } from "vitest";
import { histogram, pool, worker } from "../test/snapshot-factory.js";
import { setCompatLoader } from "./compat-loader.js";
import { recommend, type Recommendation } from "./recommend.js";
import type { PoolSnapshot } from "./snapshot.js";

const MiB = 2 ** 20;
const snap = (...pools: PoolSnapshot[]) => ({ takenAt: "2026-01-01T00:01:00.000Z", pools });
const rules = (recs: Recommendation[]) => recs.map((r) => r.rule);

let undo: (() => void) | undefined;
afterEach(() => {
  undo?.();
  undo = undefined;
});

function withoutCompat(): void {
  undo = setCompatLoader(() => Promise.reject(Object.assign(new Error("Cannot find package '@snakepit/compat'"), { code: "ERR_MODULE_NOT_FOUND" })));
}

describe("recommend", () => {
  it("has nothing to say about a healthy, moderately used pool", async () => {
    // 100 calls of 300 ms over 60 s on 2 slots: 25% in use, no queue.
    expect(await recommend(snap(pool()))).toEqual([]);
  });

  it("flags saturation: calls queued beyond capacity, with a bigger size", async () => {
    const recs = await recommend(snap(pool({ queueDepth: 4, busy: 2, idle: 0, inFlight: 2 })));
    expect(rules(recs)).toEqual(["saturated"]);
    expect(recs[0]!.message).toContain("size 2 → 6");
    expect(recs[0]!.reasons[0]).toContain("4 calls queued for 2 call slots");
  });

  it("flags saturation from refused calls and from waits longer than the run time", async () => {
    const refused = await recommend(snap(pool({ failuresByCode: { queue_full: 3 } })));
    expect(rules(refused)).toEqual(["saturated"]);
    const waiting = await recommend(snap(pool({ runTime: histogram(50, 20, 20, 30_000), waitTime: histogram(50, 30, 200) })));
    expect(rules(waiting)).toEqual(["saturated"]);
    expect(waiting[0]!.reasons.join(" ")).toContain("p95 queue wait 200 ms exceeds the median run time 20 ms");
    // Too few calls to judge the waits.
    expect(await recommend(snap(pool({ runTime: histogram(5, 20, 20, 30_000), waitTime: histogram(5, 30, 200) })))).toEqual([]);
  });

  it("advises more threads for a saturated thread pool", async () => {
    const w = worker({ capacity: 8, load: 8, state: "busy" });
    const recs = await recommend(snap(pool({ profile: "thread", workers: [w], queueDepth: 10 })));
    const saturated = recs.find((r) => r.rule === "saturated")!;
    expect(saturated.message).toContain("raise threadsPerWorker (now 8)");
  });

  it("flags a mostly idle pool only after enough recording time", async () => {
    const idle = pool({ workers: [worker({ id: "a" }), worker({ id: "b" }), worker({ id: "c" }), worker({ id: "d" })], runTime: histogram(10, 10) });
    const recs = await recommend(snap(idle));
    expect(rules(recs)).toEqual(["mostly_idle"]);
    expect(recs[0]!.message).toContain("size 4 → 1");
    expect(await recommend(snap({ ...idle, recordingMs: 5_000 }))).toEqual([]);
  });

  it("flags a worker whose memory keeps growing", async () => {
    const history = [100, 180, 260].map((mb, i) => ({ at: i * 10_000, rssBytes: mb * MiB, pssBytes: mb * MiB }));
    const recs = await recommend(snap(pool({ workers: [worker({ id: "p/w1", memoryHistory: history }), worker({ id: "p/w2" })] })));
    expect(rules(recs)).toEqual(["memory_growing"]);
    expect(recs[0]!.message).toContain("p/w1");
    expect(recs[0]!.reasons[0]).toContain("RSS 100 MB → 260 MB over 20 s");
    // Small growth is noise.
    const flat = [100, 101, 103].map((mb, i) => ({ at: i * 10_000, rssBytes: mb * MiB, pssBytes: mb * MiB }));
    expect(await recommend(snap(pool({ workers: [worker({ memoryHistory: flat })] })))).toEqual([]);
  });

  it("reports degraded pools and crashes, most serious first", async () => {
    const recs = await recommend(
      snap(pool({ degraded: { reason: "crash loop", since: "2026-01-01T00:00:30.000Z" }, crashes: { total: 2, byReason: { "signal:SIGKILL": 2 } } })),
    );
    expect(rules(recs)).toEqual(["degraded", "crashing"]);
    expect(recs[1]!.reasons[0]).toBe("2 crashes (signal:SIGKILL ×2)");
  });

  it("says a thread pool must not run an adapter that is not thread-safe", async () => {
    const p = pool({ profile: "thread", workers: [worker({ capacity: 4 })] });
    const recs = await recommend(snap({ ...p, runtime: { ...p.runtime!, adapterThreadSafe: false } }));
    expect(rules(recs)).toEqual(["thread_unsafe_adapter"]);
    expect(recs[0]!.severity).toBe("critical");
  });

  it("uses compat's matrix: a thread pool with an unsafe library should be a process pool", async () => {
    const p = pool({ profile: "thread", workers: [worker({ capacity: 4 })] });
    const recs = await recommend(snap(p), { libraries: { matplotlib: "3.8.0", numpy: "1.26.4" } });
    expect(rules(recs)).toEqual(["thread_profile_unsafe"]);
    expect(recs[0]!.reasons[0]).toMatch(/^matplotlib 3\.8\.0: /);
    // With only safe libraries there is nothing to change.
    expect(await recommend(snap(p), { libraries: { numpy: "1.26.4" } })).toEqual([]);
  });

  it("suggests the thread profile for big process workers of a thread-safe adapter, unless compat says no", async () => {
    const big = pool({ workers: [1, 2, 3].map((i) => worker({ id: `p/w${i}`, rssBytes: 400 * MiB })) });
    const recs = await recommend(snap(big), { libraries: ["numpy"] });
    expect(rules(recs)).toEqual(["thread_profile_advisable"]);
    expect(recs[0]!.reasons[0]).toContain("3 worker processes use 1200 MB in all (400 MB each)");
    expect(recs[0]!.reasons.join(" ")).toContain("compat: no library in use is known to be unsafe on threads");
    expect(await recommend(snap(big), { libraries: { matplotlib: "3.8.0" } })).toEqual([]);
    const notSafe = { ...big, runtime: { ...big.runtime!, adapterThreadSafe: false } };
    expect(await recommend(snap(notSafe))).toEqual([]);
  });

  it("probes the workers' interpreter when given one", async () => {
    const p = pool({ profile: "thread", workers: [worker({ capacity: 4 })] });
    const python = new URL("../../../python/.venv/bin/python", import.meta.url).pathname;
    // The venv has no unsafe matrix library: nothing to change, and no error.
    expect(await recommend(snap(p), { python })).toEqual([]);
  });

  it("without @snakepit/compat, says what it would need instead of guessing", async () => {
    withoutCompat();
    const p = pool({ profile: "thread", workers: [worker({ capacity: 4 })] });
    const recs = await recommend(snap(p), { libraries: { matplotlib: "3.8.0" } });
    expect(rules(recs)).toEqual(["compat_unavailable"]);
    // Rules that do not need compat still work, and compat is not asked for when irrelevant.
    expect(rules(await recommend(snap(pool({ queueDepth: 5 }))))).toEqual(["saturated"]);
  });
});
