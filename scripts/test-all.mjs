#!/usr/bin/env node
// Runs every test suite (vitest over all packages and examples, pytest for the
// Python worker), checks that generated code is current and the types check,
// then prints one closing line: `N passed, N failed, N skipped`.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, existsSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const results = join(root, "test-results");
mkdirSync(results, { recursive: true });
const totals = { passed: 0, failed: 0, skipped: 0 };

// A suite that hangs (a process that never exits) fails after this, instead of
// holding CI until its own limit.
const STEP_TIMEOUT_MS = 20 * 60 * 1000;

function run(label, cmd, args, opts = {}) {
  console.log(`\n=== ${label}: ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", timeout: STEP_TIMEOUT_MS, killSignal: "SIGKILL", ...opts });
  if (r.error?.code === "ETIMEDOUT") {
    console.log(`FAIL ${label} did not finish within ${STEP_TIMEOUT_MS / 60000} minutes and was killed`);
    totals.failed++;
  }
  return r.status ?? 1;
}

function check(label, ok) {
  console.log(`${ok ? "ok  " : "FAIL"} ${label}`);
  if (ok) totals.passed++;
  else totals.failed++;
}

// 1. Generated code must match the proto: regenerate and look for a diff.
run("generate", "pnpm", ["run", "generate"]);
const diff = spawnSync("git", ["status", "--porcelain", "--", "packages/core/src/gen", "python/src/snakepit_bridge/_proto", "python/src/snakepit_bridge/compat_matrix.json"], {
  cwd: root,
  encoding: "utf8",
});
check("generated code is up to date with proto/ (regenerating changed nothing)", diff.status === 0 && diff.stdout.trim() === "");
if (diff.stdout.trim()) console.log(diff.stdout);

// 2. Types.
check("typecheck (every package, tests included)", run("typecheck", "pnpm", ["run", "typecheck"]) === 0);

// 3. vitest: unit and integration tests of every package and example (local
//    transport, the default), then core's suite again over the Connect transport:
//    both transports must keep the same semantics.
function vitest(label, reportName, args, env = {}) {
  const report = join(results, reportName);
  run(label, "pnpm", ["exec", "vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...args], {
    env: { ...process.env, ...env },
  });
  if (!existsSync(report)) {
    check(`${label} produced a report`, false);
    return;
  }
  const v = JSON.parse(readFileSync(report, "utf8"));
  totals.passed += v.numPassedTests;
  totals.failed += v.numFailedTests + (v.numFailedTestSuites ?? 0) - countSuitesWithFailedTests(v);
  totals.skipped += (v.numPendingTests ?? 0) + (v.numTodoTests ?? 0);
}
vitest("vitest (all packages and examples)", "vitest.json", []);
vitest("vitest (core over the Connect transport)", "vitest-connect.json", ["--project", "core"], { SNAKEPIT_TEST_TRANSPORT: "connect" });

// 4. pytest: the Python worker package.
const junit = join(results, "pytest.xml");
const py = join(root, "python", ".venv", "bin", "python");
const pyStatus = run("pytest", py, ["-m", "pytest", "-q", "-p", "no:cacheprovider", `--junitxml=${junit}`], { cwd: join(root, "python") });
if (existsSync(junit)) {
  const xml = readFileSync(junit, "utf8");
  const attr = (name) => Number((xml.match(new RegExp(`<testsuite [^>]*\\b${name}="(\\d+)"`)) ?? [])[1] ?? 0);
  const tests = attr("tests");
  const failed = attr("failures") + attr("errors");
  const skipped = attr("skipped");
  totals.passed += tests - failed - skipped;
  totals.failed += failed;
  totals.skipped += skipped;
  if (pyStatus !== 0 && failed === 0) check("pytest exited cleanly", false);
} else {
  check("pytest produced a report", false);
}

// A suite that failed to load (syntax error, missing import) has no failed test
// inside it, but it is a failure all the same.
function countSuitesWithFailedTests(v) {
  return (v.testResults ?? []).filter((s) => s.status === "failed" && (s.assertionResults ?? []).some((a) => a.status === "failed")).length;
}

console.log(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(totals.failed === 0 ? 0 : 1);
