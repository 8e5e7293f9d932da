import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect, it } from "vitest";

// Runs as a user runs it: `node main.mjs`, against the built @snakepit/core.
it("the hybrid-pools example runs a process pool and a thread pool from one config", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ["main.mjs"], { cwd: import.meta.dirname, timeout: 60_000 });
  expect(stdout).toContain("cpu: process profile, 2 worker process(es), 2 calls at once");
  expect(stdout).toContain("io: thread profile, 1 worker process(es), 8 calls at once");
  expect(stdout).toMatch(/io: 8 x sleep\(0\.25 s\) on 1 process x 8 threads took \d+ ms/);
  expect(stdout).toContain("io: those calls share 1 Python process");
  expect(stdout).toMatch(/cpu: 2 x cpu_burn\(1e6\) .* on 2 processes took \d+ ms/);
  expect(stdout).toContain('locked counter -> {"visits":20}');
  expect(stdout).toMatch(/memory cpu: 2 process\(es\), PSS \d+\.\d MiB/);
  expect(stdout).toMatch(/memory io: 1 process\(es\), PSS \d+\.\d MiB/);
  expect(stdout).toMatch(/stats io: \d+ completed, 0 failed, 0 queued/);
  expect(stdout).toContain("both pools closed");
});
