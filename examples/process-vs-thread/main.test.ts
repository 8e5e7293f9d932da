import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect, it } from "vitest";

// Runs as a user runs it: `node main.mjs`, against the built @snakepit/core.
// Only the shape of the report is checked; the figures belong to the machine.
it("the process-vs-thread example runs the same job on both profiles and reports throughput and PSS", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ["main.mjs", "2"], { cwd: import.meta.dirname, timeout: 60_000 });
  expect(stdout).toContain("2 calls in flight on each profile");
  expect(stdout).toContain("process: 2 Python process(es)");
  expect(stdout).toContain("thread: 1 Python process(es)");
  for (const job of ["io (sleep 0.1 s)", "cpu, GIL released (hashlib over 4 MiB)", "cpu, GIL held (pure-Python loop)"]) {
    const rates = [...stdout.matchAll(new RegExp(`  ${job.replace(/[()]/g, "\\$&")}: (\\d+\\.\\d) calls/s`, "g"))].map((m) => Number(m[1]));
    expect(rates, job).toHaveLength(2);
    expect(rates.every((r) => r > 0)).toBe(true);
    expect(stdout).toMatch(new RegExp(`  ${job.replace(/[()]/g, "\\$&")}: \\d+\\.\\d\\dx the throughput`));
  }
  const pss = [...stdout.matchAll(/memory: PSS (\d+\.\d) MiB \(RSS (\d+\.\d) MiB\)/g)].map((m) => Number(m[1]));
  expect(pss).toHaveLength(2);
  expect(pss.every((p) => p > 0)).toBe(true);
  expect(stdout).toMatch(/memory: \d+\.\d\dx the PSS/);
});
