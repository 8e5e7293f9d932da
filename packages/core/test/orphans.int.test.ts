import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { sweepStaleRuntimeDirs } from "../src/runtime-dirs.js";
import { eventually, fixturePool, fixturesPath, isAlive, liveWorkerPids, nextEvents, SHOWCASE, venvPython } from "./helpers.js";

const child = new URL("./fixtures/orphan-child.mjs", import.meta.url).pathname;
const built = existsSync(new URL("../dist/index.js", import.meta.url));

/** Run the child Node process and return the pids of the workers it started. */
async function startChild(mode: string, transport: "local" | "connect" = "local") {
  const owner = `orphan-${mode}-${process.pid}`;
  const proc = spawn(process.execPath, [child, mode, venvPython, fixturesPath, owner, transport], { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).once("line", resolve);
    proc.once("exit", (code) => reject(new Error(`child exited early with ${code}`)));
  });
  const { pids, runtimeDir } = JSON.parse(line) as { pids: number[]; runtimeDir: string | null };
  return { proc, pids, runtimeDir, owner, exited };
}

describe("no Python process outlives its pool", () => {
  if (!built) throw new Error("packages/core/dist is missing: run `pnpm run build` (or `pnpm run setup`) first");
  it("after close()", async () => {
    const pool = await fixturePool(SHOWCASE, { size: 2 });
    const pids = pool.stats().perWorker.map((w) => w.pid!);
    await pool.close();
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
  });

  it("after destroy() with a call running", async () => {
    const pool = await fixturePool(SHOWCASE, { size: 2 });
    const pids = pool.stats().perWorker.map((w) => w.pid!);
    const call = expect(pool.execute("sleep", { seconds: 30 })).rejects.toMatchObject({ code: "pool_closed" });
    await pool.destroy();
    await call;
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
  });

  it.each(["throw", "exit", "kill9"])("after Node dies (%s) without closing the pool, leaving nothing in the temp directory", async (mode) => {
    const { proc, pids, runtimeDir, owner, exited } = await startChild(mode);
    // Local-transport workers talk over socketpairs: the pool makes no directory at all.
    expect(runtimeDir).toBeNull();
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(isAlive(pid)).toBe(true);
    const childPid = proc.pid!;
    if (mode === "kill9") proc.kill("SIGKILL");
    await exited;
    await eventually(() => pids.every((pid) => !isAlive(pid)), 3_000, "workers to exit after their Node parent died");
    expect(liveWorkerPids(owner)).toEqual([]);
    expect(tempDirsOf(childPid)).toEqual([]);
  });

  it.each(["exit", "kill9"])("Connect transport: the socket directory after Node dies (%s)", async (mode) => {
    const { proc, pids, runtimeDir, owner, exited } = await startChild(mode, "connect");
    expect(runtimeDir).not.toBeNull();
    expect(existsSync(runtimeDir!)).toBe(true);
    const childPid = proc.pid!;
    if (mode === "kill9") proc.kill("SIGKILL");
    await exited;
    await eventually(() => pids.every((pid) => !isAlive(pid)), 3_000, "workers to exit after their Node parent died");
    expect(liveWorkerPids(owner)).toEqual([]);
    if (mode === "kill9") {
      // Nothing runs in a process killed with SIGKILL: its directory stays until the
      // next directory this user makes, which removes those of dead processes.
      expect(existsSync(runtimeDir!)).toBe(true);
      expect(sweepStaleRuntimeDirs(dirname(runtimeDir!))).toContain(runtimeDir);
    }
    // An exit hook removes the private socket directory even though the pool was never closed.
    expect(existsSync(runtimeDir!)).toBe(false);
    expect(tempDirsOf(childPid)).toEqual([]);
  });
});

describe("a live pool over Connect", () => {
  it("keeps no socket of a worker killed with SIGKILL", async () => {
    await using pool = await fixturePool(SHOWCASE, { size: 2, transport: "connect" });
    const dir = (pool as unknown as { runtimeDir: { created: string } }).runtimeDir.created;
    expect(readdirSync(dir)).toHaveLength(2);
    for (let i = 0; i < 3; i++) {
      const pid = pool.stats().perWorker[0]!.pid!;
      const started = nextEvents("workerReady");
      process.kill(pid, "SIGKILL");
      await started;
      await eventually(() => pool.stats().perWorker.every((w) => w.pid !== pid) && pool.stats().perWorker.length === 2, 5_000, "the replacement");
    }
    expect(readdirSync(dir)).toHaveLength(2);
  });
});

/** The snakepit-* directories in the temp directory made by the Node process `pid`. */
function tempDirsOf(pid: number): string[] {
  return readdirSync(tmpdir()).filter((n) => n.startsWith(`snakepit-${pid}-`));
}
