/**
 * Shared memory on the local transport: large attachments travel through
 * /dev/shm segments, and no segment outlives its call, its worker or its pool.
 */
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { createInterface } from "node:readline";
import { beforeAll, describe, expect, it } from "vitest";
import { isNDArray, ndarray, ndarrayStats, processProfile, threadProfile, type NDArray } from "@snakepit/core";
import { sweepStaleSegments } from "../src/shm-segments.js";
import { TEST_TRANSPORT, eventually, fixturePool, fixturesPath, isAlive, rejectionOf, venvPython } from "./helpers.js";

const SHM = "snakepit_fixtures.shared_memory:SharedMemoryAdapter";
const MIN = 64 * 1024;
const local = TEST_TRANSPORT === "local" && process.platform === "linux";

/** Everything of process `pid` under /dev/shm: segments, and each live worker's progress page. */
function ourFiles(pid = process.pid): string[] {
  return readdirSync("/dev/shm").filter((n) => n.startsWith(`snakepit-${pid}-`));
}

/** This process's segments under /dev/shm (not the progress pages, which live as long as their workers). */
function ourSegments(pid = process.pid): string[] {
  return ourFiles(pid).filter((n) => !n.endsWith("-progress"));
}

function shmPool(name: string, minBytes: number | false = MIN) {
  return fixturePool(SHM, { name, profile: processProfile({ sharedMemoryMinBytes: minBytes }) });
}

let numpy = false;
beforeAll(async () => {
  await using pool = await shmPool("shm-probe");
  numpy = await pool.execute("ramp", { n: 1 }).then(
    () => true,
    () => false,
  );
});

describe("shared memory (local transport)", () => {
  it("an argument over the threshold arrives mapped from a segment, read-only; a small one inline", async () => {
    await using pool = await shmPool("shm-args");
    const offer = await pool.execute<string>("offer");
    if (!local) {
      expect(offer).toBe(""); // the Connect transport is never offered segments
    } else expect(offer).toMatch(new RegExp(`^snakepit-${process.pid}-[\\w.-]+-:${MIN}$`));
    const before = ndarrayStats();
    const big = await pool.execute<Record<string, unknown>>("inspect", { x: new Float32Array(MIN / 4) });
    const small = await pool.execute<Record<string, unknown>>("inspect", { x: new Float32Array(MIN / 4 - 1) });
    expect(big).toMatchObject({ backing: local ? "mmap" : "bytes", readonly: true, nbytes: MIN });
    expect(small).toMatchObject({ backing: "bytes", nbytes: MIN - 4 });
    expect(ndarrayStats().sharedSegmentsSent - before.sharedSegmentsSent).toBe(local ? 1 : 0);
    expect(ourSegments()).toEqual([]);
  });

  it("round-trips every fixed-width dtype, nested, through segments, with the same values as inline", async () => {
    await using pool = await shmPool("shm-echo");
    const n = MIN; // elements: every array is over the threshold
    const f64 = new Float64Array(n).map((_, i) => i / 3);
    const value = {
      f64: ndarray(f64, [n / 4, 4], { order: "F" }),
      nested: [{ i8: new Int8Array(n).map((_, i) => (i % 256) - 128) }, new BigUint64Array(n).map((_, i) => BigInt(i) * 3n)] as const,
      half: ndarray(new Uint8Array(2 * n).fill(60), [n], { dtype: "<f2" }),
      big: ndarray(new Uint8Array(8 * n).fill(1), [n], { dtype: ">f8" }),
      c64: ndarray(new Uint8Array(8 * n).fill(2), [n], { dtype: "<c8" }),
      dt: ndarray(new Uint8Array(8 * n).fill(7), [n], { dtype: "<M8[ns]" }),
      bool: ndarray(new Uint8Array(n).fill(1), [n], { dtype: "|b1" }),
      str: ndarray(new Uint8Array(4 * 4 * n).fill(65), [n], { dtype: "<U4" }),
      bytes: new Uint8Array(MIN).fill(9),
      empty: ndarray(new Float64Array(0), [0, 3]),
      scalar: ndarray(new Float64Array([2.5]), []),
    };
    const before = ndarrayStats();
    type Back = { [K in "f64" | "half" | "big" | "c64" | "dt" | "bool" | "str" | "empty" | "scalar"]: NDArray } & {
      nested: [{ i8: NDArray }, NDArray];
      bytes: Uint8Array;
    };
    const back = await pool.execute<Back>("echo", { value });
    const after = ndarrayStats();
    if (local) {
      expect(after.sharedSegmentsSent - before.sharedSegmentsSent).toBe(10);
      expect(after.sharedSegmentsReceived - before.sharedSegmentsReceived).toBe(10);
      // A segment is read into memory of its own: no alignment copy for those (the
      // 8-byte scalar travels inline, where it may need one).
      expect(after.alignmentCopies - before.alignmentCopies).toBeLessThanOrEqual(1);
    }
    expect(isNDArray(back.f64)).toBe(true);
    expect(back.f64.order).toBe("F");
    expect(back.f64.data).toEqual(f64);
    expect(back.nested[0].i8.data).toEqual(value.nested[0].i8);
    expect(back.nested[1].data).toEqual(value.nested[1]);
    for (const k of ["half", "big", "c64", "dt", "bool", "str"] as const) {
      expect(back[k].dtype).toBe(value[k].dtype);
      expect(Buffer.from(back[k].bytes).equals(Buffer.from(value[k].bytes))).toBe(true);
    }
    expect(Buffer.from(back.bytes).equals(Buffer.from(value.bytes))).toBe(true);
    expect(back.empty.shape).toEqual([0, 3]);
    expect([...back.scalar.data]).toEqual([2.5]);
    expect(ourSegments()).toEqual([]);
  });

  it("a large result is written once into a segment and arrives as a view of its own memory", async () => {
    await using pool = await shmPool("shm-result");
    if (!numpy) return;
    const before = ndarrayStats();
    const r = await pool.execute<NDArray>("ramp", { n: 1 << 20 });
    expect(r.data).toBeInstanceOf(Float32Array);
    if (local) expect(r.data.byteOffset).toBe(0);
    expect(r.data[12345]).toBe(12345);
    expect(ndarrayStats().sharedSegmentsReceived - before.sharedSegmentsReceived).toBe(local ? 1 : 0);
    if (local) expect(ndarrayStats().alignmentCopies - before.alignmentCopies).toBe(0);
    const blob = await pool.execute<Uint8Array>("blob", { n: MIN * 2 });
    expect(blob.byteLength).toBe(MIN * 2);
    expect(blob[257]).toBe(1);
    expect(ourSegments()).toEqual([]);
  });

  it("sharedMemoryMinBytes: false keeps everything on the socket; bad values are refused at once", async () => {
    await using pool = await shmPool("shm-off", false);
    expect(await pool.execute<string>("offer")).toBe("");
    expect(await pool.execute("inspect", { x: new Float32Array(MIN) })).toMatchObject({ backing: "bytes" });
    expect(() => processProfile({ sharedMemoryMinBytes: 0 })).toThrow(/sharedMemoryMinBytes must be a positive integer \(bytes\) or false, got 0/);
    expect(() => processProfile({ sharedMemoryMinBytes: 1.5 })).toThrow(/sharedMemoryMinBytes/);
  });

  it("a result that fails after its array went into a segment leaves no segment (too large, unencodable)", async () => {
    if (!numpy) return;
    await using pool = await fixturePool(SHM, { name: "shm-fail", maxPayloadBytes: 3 * MIN, profile: processProfile({ sharedMemoryMinBytes: MIN }) });
    const tooLarge = await rejectionOf(pool.execute("too_large_then", { n: 2 * MIN }));
    expect(tooLarge.code).toBe("payload_too_large");
    const refused = await rejectionOf(pool.execute("unencodable_after_array", { n: MIN }));
    expect(refused.code).toBe("python_error");
    expect(ourSegments()).toEqual([]);
  });

  it("an aborted call's argument segment is removed when the call settles", async () => {
    await using pool = await shmPool("shm-abort");
    const ac = new AbortController();
    const call = pool.execute("hold", { x: new Float64Array(MIN), seconds: 30 }, { signal: ac.signal });
    if (local) await waitFor(() => ourSegments().length === 1, "the argument segment");
    ac.abort();
    expect((await rejectionOf(call)).code).toBe("aborted");
    expect(ourSegments()).toEqual([]);
  });

  it("kill -9 of a worker mid-call (holding an argument segment) leaves no segment", async () => {
    await using pool = await shmPool("shm-kill-args");
    const pid = await pool.execute<number>("pid");
    const call = pool.execute("hold", { x: new Float64Array(MIN), seconds: 30 });
    if (local) await waitFor(() => ourSegments().length === 1, "the argument segment");
    process.kill(pid, "SIGKILL");
    expect((await rejectionOf(call)).code).toBe("worker_crashed");
    expect(ourSegments()).toEqual([]);
    expect(await pool.execute("inspect", { x: new Float32Array(MIN) })).toMatchObject({ backing: local ? "mmap" : "bytes" });
    expect(ourSegments()).toEqual([]);
  });

  it("a worker killed by SIGKILL while it writes its result segment leaves none", async () => {
    if (!numpy || !local) return;
    await using pool = await shmPool("shm-kill-result");
    for (let i = 0; i < 3; i++) {
      const err = await rejectionOf(pool.execute("die_while_returning", { n: 4 << 20 }));
      expect(err.code).toBe("worker_crashed");
      expect(ourSegments()).toEqual([]);
    }
  });
});

describe("shared memory with streams and threads", () => {
  it("a stream's large argument arrives mapped; its chunks travel on the socket; nothing is left", async () => {
    if (!numpy) return;
    await using pool = await shmPool("shm-stream");
    const x = Float64Array.from({ length: MIN }, (_, i) => i);
    const parts: NDArray[] = [];
    for await (const chunk of pool.stream<{ backing: string; part: NDArray }>("chunks_of", { x, size: MIN / 4 })) {
      expect(chunk.backing).toBe(local ? "mmap" : "bytes");
      parts.push(chunk.part);
    }
    expect(parts).toHaveLength(4);
    expect(parts[3]!.data[MIN / 4 - 1]).toBe(MIN - 1);
    expect(ourSegments()).toEqual([]);
  });

  it("concurrent calls on the thread profile each own their segments", async () => {
    if (!numpy) return;
    await using pool = await fixturePool("snakepit_fixtures.shared_memory:ThreadedSharedMemoryAdapter", {
      name: "shm-threads",
      profile: threadProfile({ sharedMemoryMinBytes: MIN }),
      threadsPerWorker: 4,
    });
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => pool.execute<NDArray>("echo", { value: new Float32Array(MIN).fill(i) })),
    );
    results.forEach((r, i) => expect([r.data[0], r.data[MIN - 1]]).toEqual([i, i]));
    expect(ourSegments()).toEqual([]);
  });
});

describe("Arrow tables (when both sides have Arrow)", () => {
  it("an apache-arrow Table arrives as a pyarrow.Table, and one returned comes back a Table, through a segment when large", async () => {
    await using pool = await shmPool("arrow");
    if (!(await pool.execute<boolean>("has_pyarrow"))) return;
    const { tableFromArrays } = await import("apache-arrow");
    const n = 50_000;
    const x = Float64Array.from({ length: n }, (_, i) => i);
    const before = ndarrayStats();
    const info = await pool.execute<Record<string, unknown>>("table_info", { t: tableFromArrays({ x, s: Array.from({ length: n }, (_, i) => `r${i}`) }) });
    expect(info).toEqual({ type: "Table", rows: n, columns: ["x", "s"], sum: (n * (n - 1)) / 2 });
    const table = await pool.execute<import("apache-arrow").Table>("make_table", { n });
    expect(table.numRows).toBe(n);
    expect(table.getChild("x")!.get(n - 1)).toBe(n - 1);
    expect(table.getChild("s")!.get(7)).toBe("r7");
    if (local) {
      expect(ndarrayStats().sharedSegmentsSent - before.sharedSegmentsSent).toBe(1);
      expect(ndarrayStats().sharedSegmentsReceived - before.sharedSegmentsReceived).toBe(1);
    }
    expect(ourSegments()).toEqual([]);
  });
});

describe("shared memory when Node itself dies", () => {
  it.runIf(local)("the segments of a pool killed with SIGKILL mid-call are swept by the next pool", async () => {
    const child = new URL("./fixtures/shm-child.mjs", import.meta.url).pathname;
    const proc = spawn(process.execPath, [child, venvPython, fixturesPath, `shm-child-${process.pid}`], { stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: proc.stdout! }).once("line", resolve);
        proc.once("exit", (code) => reject(new Error(`the child exited early with ${code}`)));
      });
      const { workerPid } = JSON.parse(line) as { workerPid: number };
      await waitFor(() => ourSegments(proc.pid!).length === 1, "the child's argument segment");
      proc.kill("SIGKILL");
      await exited;
      // The kernel kills the worker with its parent (PR_SET_PDEATHSIG), so nobody
      // cleans up now: the argument segment stays until the next pool's first worker
      // sweeps the names of dead Node pids.
      await eventually(() => !isAlive(workerPid), 10_000, "the orphaned worker to exit");
      expect(ourSegments(proc.pid!).length).toBeLessThanOrEqual(1);
      await using pool = await shmPool("shm-sweeper");
      expect(await pool.execute<string>("offer")).not.toBe("");
      expect(ourFiles(proc.pid!)).toEqual([]); // its workers' progress pages too
      expect(sweepStaleSegments()).toEqual([]);
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await exited;
    }
  });
});

async function waitFor(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
