import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect, it } from "vitest";

// Run as a user runs it: `node main.mjs`, against the built packages.
it("the leaking worker is replaced on memory, and no call fails", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ["main.mjs"], { cwd: import.meta.dirname, timeout: 60_000 });
  expect(stdout).toContain("calls: 30 ok, 0 failed");
  const recycled = stdout.match(/recycled \S+ \(memory\) after \d+ calls: (pss|rss) \d+ MiB, (\d+) MiB over/g) ?? [];
  // 30 calls of 8 MiB each, a 64 MiB limit: a replacement every 8 or 9 calls.
  expect(recycled.length).toBeGreaterThanOrEqual(2);
  for (const line of recycled) expect(Number(/, (\d+) MiB over/.exec(line)![1])).toBeGreaterThanOrEqual(64);
  expect(stdout).toMatch(/: pss \d+ MiB/);
  expect(Number(/recycled for memory: (\d+)/.exec(stdout)![1])).toBe(recycled.length);
  // Without lifecycle one worker would hold 240 MiB by the end.
  expect(Number(/largest cache any worker reached: (\d+) MiB/.exec(stdout)![1])).toBeLessThan(160);
  expect(stdout).toContain("pool closed");
});
