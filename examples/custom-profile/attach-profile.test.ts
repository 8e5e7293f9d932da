import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { createPool, silentLogger } from "@snakepit/core";
// @ts-expect-error -- plain JS example module
import { attachProfile } from "./attach-profile.mjs";
// @ts-expect-error -- plain JS example module
import { startStandaloneWorker } from "./start-worker.mjs";

const python = fileURLToPath(new URL("../../python/.venv/bin/python", import.meta.url));
const adapter = "snakepit_bridge.adapters.showcase:ShowcaseAdapter";

interface Standalone {
  child: import("node:child_process").ChildProcess;
  address: string;
  pid: number;
}

describe("a user-written profile that attaches to running workers", () => {
  it("balances over them, and leaves them running when the pool closes", async () => {
    const token = randomBytes(8).toString("hex");
    const workers: Standalone[] = await Promise.all([1, 2].map(() => startStandaloneWorker({ python, adapter, token })));
    try {
      const pool = await createPool({
        profile: attachProfile({ addresses: workers.map((w) => w.address), token }),
        size: 2,
        logger: silentLogger,
        python: { adapter },
      });
      try {
        expect(pool.profile).toBe("attach");
        const pids = await Promise.all([1, 2, 3, 4].map(() => pool.execute<{ pid: number }>("whoami")));
        expect(new Set(pids.map((p) => p.pid))).toEqual(new Set(workers.map((w) => w.pid)));
        await expect(pool.execute("fail", { kind: "TypeError" })).rejects.toMatchObject({ code: "python_error", pythonType: "TypeError" });
      } finally {
        await pool.close();
      }
      for (const w of workers) expect(w.child.exitCode).toBeNull();
    } finally {
      for (const w of workers) w.child.kill("SIGKILL");
    }
  });

  it("a wrong token is refused", async () => {
    const workers: Standalone[] = [await startStandaloneWorker({ python, adapter, token: "right" })];
    try {
      await expect(
        createPool({ profile: attachProfile({ addresses: [workers[0]!.address], token: "wrong" }), size: 1, logger: silentLogger, python: { adapter } }),
      ).rejects.toMatchObject({ code: "worker_start_failed", message: expect.stringContaining("Unauthenticated") });
    } finally {
      for (const w of workers) w.child.kill("SIGKILL");
    }
  });

  it("the demo runs", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["main.mjs"], { cwd: import.meta.dirname, timeout: 60_000 });
    expect(stdout).toContain("add(40, 2) = 42");
    expect(stdout).toContain("the standalone workers still run: true, true");
  });
});
