import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const run = promisify(execFile);

// The demo runs as a user runs it: `node main.mjs`, against the built package.
it("the quickstart demo runs end to end", async () => {
  const { stdout } = await run(process.execPath, ["main.mjs"], { cwd: import.meta.dirname, timeout: 60_000 });
  expect(stdout).toContain("add(1, 2) = 3");
  expect(stdout).toContain("{ step: 5, of: 5 }");
  expect(stdout).toContain("back as Uint8Array");
  expect(stdout).toContain("code=python_error pythonType=ValueError");
  expect(stdout).toContain("code=deadline_exceeded");
  expect(stdout).toContain("bad arguments never reach Python: code=invalid_argument");
  expect(stdout).toContain('  args.a: expected integer, got string "1"');
  expect(stdout).toContain("  args.c: unexpected argument (did you mean b? add takes a, b)");
  expect(stdout).toMatch(/stats: \d+ completed, 2 failed, 2 workers, 0 queued/);
  expect(stdout).toContain("pool closed");
});

// CI's check that the generated client is current: `snakepit types --check` fails
// when the showcase tools' signatures changed and tools.gen.ts was not regenerated.
it("tools.gen.ts is what `snakepit types` generates from the showcase adapter now", async () => {
  const cli = fileURLToPath(new URL("../../packages/diagnostics/dist/cli.js", import.meta.url));
  const python = process.env["SNAKEPIT_TEST_PYTHON"];
  const args = [cli, "types", "--adapter", "snakepit_bridge.adapters.showcase:ShowcaseAdapter", "-o", "tools.gen.ts", "--check", ...(python ? ["--python", python] : [])];
  const { stdout } = await run(process.execPath, args, { cwd: import.meta.dirname, timeout: 60_000 }).catch((err: { stderr?: string }) => {
    throw new Error(`snakepit types --check failed: ${err.stderr ?? String(err)}\nRegenerate: pnpm --filter @snakepit/example-quickstart run types`);
  });
  expect(stdout).toBe("tools.gen.ts is up to date\n");
});
