import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { eventually, fixturePool, isAlive, rejectionOf } from "./helpers.js";

const FORKING = "snakepit_fixtures.forking:ForkingAdapter";

describe("a worker that dies while a process it forked holds its pipes", () => {
  it("is reported dead at once (not when the child lets go of the pipes), and the child goes with it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "forked-child-"));
    try {
      await using pool = await fixturePool(FORKING, { size: 1, name: "forked-child" });
      const started = Date.now();
      const err = await rejectionOf(pool.execute("fork_then_die", { pid_file: join(dir, "child") }, { timeoutMs: 20_000 }));
      // The exit is seen, not the deadline: the child would hold the pipes for 60 s.
      expect(err).toMatchObject({ code: "worker_crashed", exitCode: 9 });
      expect(Date.now() - started).toBeLessThan(10_000);
      const child = Number(readFileSync(join(dir, "child"), "utf8"));
      // The worker's process group is killed with it: no grandchild outlives it.
      await eventually(() => !isAlive(child), 5_000, "the forked child to be gone");
      // The pool replaced the worker and serves again.
      await expect.poll(() => pool.stats().workers, { timeout: 10_000 }).toBe(1);
      expect(await pool.execute("ping")).toBe("pong");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
