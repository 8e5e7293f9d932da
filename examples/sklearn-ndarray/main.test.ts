import { execFile, execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const python = process.env["SNAKEPIT_TEST_PYTHON"] || fileURLToPath(new URL("../../python/.venv/bin/python", import.meta.url));
let hasSklearn = true;
try {
  execFileSync(python, ["-c", "import sklearn, numpy"], { stdio: "ignore" });
} catch {
  hasSklearn = false; // the free-threaded venv has neither; `pnpm run setup` installs both in python/.venv
}

// Runs as a user runs it: `node main.mjs`, against the built @snakepit/core.
it.skipIf(!hasSklearn)("the scikit-learn example serves predictions on NDArray inputs", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ["main.mjs"], {
    cwd: import.meta.dirname,
    timeout: 120_000,
    env: { ...process.env, SNAKEPIT_PYTHON: python },
  });
  expect(stdout).toContain("held out: x <f4 [400,64] as Float32Array, y <i8 [400]");
  expect(stdout).toContain("predict: label <i8 [400], proba <f4 [400,10]");
  const accuracy = Number(/accuracy on 400 held-out digits: ([\d.]+)%/.exec(stdout)?.[1]);
  expect(accuracy).toBeGreaterThan(90);
  expect(stdout).toMatch(/first row: digit \d with p=0\.\d{3}/);
  expect(stdout).toContain("wrong shape: code=python_error pythonType=ValueError");
  expect(stdout).toContain("expected an (n, 64) array of pixels, got shape (2, 5)");
  expect(stdout).toMatch(/200 single-row predictions in \d+ ms/);
});
