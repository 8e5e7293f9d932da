import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect, it } from "vitest";

// The demo runs as a user runs it: `node main.mjs`, against the built package.
it("the quickstart demo runs end to end", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ["main.mjs"], { cwd: import.meta.dirname, timeout: 60_000 });
  expect(stdout).toContain("add(1, 2) = 3");
  expect(stdout).toContain("{ step: 5, of: 5 }");
  expect(stdout).toContain("back as Uint8Array");
  expect(stdout).toContain("code=python_error pythonType=ValueError");
  expect(stdout).toContain("code=deadline_exceeded");
  expect(stdout).toMatch(/stats: \d+ completed, 2 failed, 2 workers, 0 queued/);
  expect(stdout).toContain("pool closed");
});
