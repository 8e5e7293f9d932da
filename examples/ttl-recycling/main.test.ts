import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect, it } from "vitest";

// Run as a user runs it: `node main.mjs`, against the built packages.
it("workers are replaced by age while every call succeeds", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ["main.mjs"], { cwd: import.meta.dirname, timeout: 60_000 });
  expect(stdout).toMatch(/calls: \d+ ok, 0 failed/);
  const recycled = stdout.match(/recycled \S+ \(ttl\) after (\d+) ms/g) ?? [];
  // 5 s of workers living 1.5-2 s each: at least two replacements.
  expect(recycled.length).toBeGreaterThanOrEqual(2);
  for (const line of recycled) expect(Number(/after (\d+) ms/.exec(line)![1])).toBeGreaterThanOrEqual(1_500);
  expect(Number(/recycled for ttl: (\d+)/.exec(stdout)![1])).toBe(recycled.length);
  expect(Number(/worker processes that served calls: (\d+)/.exec(stdout)![1])).toBeGreaterThan(2);
  expect(stdout).toContain("fewest workers ready or starting at any time: 2 (pool size 2)");
  expect(stdout).toContain("pool closed");
});
