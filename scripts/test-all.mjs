#!/usr/bin/env node
// Runs every test suite (vitest over all packages and examples, pytest for the
// Python worker, the docs' code blocks, the packed packages in a fresh app), checks
// that generated code is current and the types check,
// then runs the Python tests and the thread profile's integration tests again on a
// free-threaded CPython (python/.venv-ft), and prints one closing line:
// `N passed, N failed, N skipped`.
//
// The free-threaded steps need `pnpm run setup:free-threaded`, which this runs: it
// reuses an interpreter from PATH or the cache outside the repository, or builds
// one (about 20 minutes, once per machine). They fail when no free-threaded
// interpreter can be had, unless SNAKEPIT_SKIP_FREE_THREADED=1.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, existsSync, rmSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const results = join(root, "test-results");
mkdirSync(results, { recursive: true });
const totals = { passed: 0, failed: 0, skipped: 0 };
// Named again just above the closing line, so the end of a long log says what failed.
const failures = [];

// A suite that hangs (a process that never exits) fails after this, instead of
// holding CI until its own limit.
const STEP_TIMEOUT_MS = 20 * 60 * 1000;
// Building CPython 3.13t on a fresh machine takes about 20 minutes on 2 cores.
const FREE_THREADED_SETUP_TIMEOUT_MS = 35 * 60 * 1000;

function run(label, cmd, args, opts = {}) {
  console.log(`\n=== ${label}: ${cmd} ${args.join(" ")}`);
  const started = Date.now();
  const timeout = opts.timeout ?? STEP_TIMEOUT_MS;
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", killSignal: "SIGKILL", ...opts, timeout });
  console.log(`=== ${label}: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (r.error?.code === "ETIMEDOUT") {
    console.log(`FAIL ${label} did not finish within ${timeout / 60000} minutes and was killed`);
    totals.failed++;
    failures.push(`${label}: killed after ${timeout / 60000} minutes`);
  }
  return r.status ?? 1;
}

function check(label, ok) {
  console.log(`${ok ? "ok  " : "FAIL"} ${label}`);
  if (ok) totals.passed++;
  else {
    totals.failed++;
    failures.push(label);
  }
}

// 1. Generated code must match the proto: regenerate and look for a diff.
run("generate", "pnpm", ["run", "generate"]);
const diff = spawnSync("git", ["status", "--porcelain", "--", "packages/core/src/gen", "python/src/snakepit_bridge/_proto", "python/src/snakepit_bridge/compat_matrix.json", "docs/errors.md", "packages/compat/README.md"], {
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
  rmSync(report, { force: true });
  run(label, "pnpm", ["exec", "vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...args], {
    env: { ...process.env, ...env },
  });
  if (!existsSync(report)) {
    check(`${label} produced a report`, false);
    return;
  }
  const v = JSON.parse(readFileSync(report, "utf8"));
  totals.passed += v.numPassedTests;
  // A test file that failed with no failed test in it (it did not load, or a hook threw) is a failure too.
  totals.failed += v.numFailedTests + countFilesFailedWithoutFailedTests(v);
  totals.skipped += (v.numPendingTests ?? 0) + (v.numTodoTests ?? 0);
  for (const suite of v.testResults ?? []) {
    const file = suite.name.startsWith(root) ? suite.name.slice(root.length + 1) : suite.name;
    const failed = (suite.assertionResults ?? []).filter((a) => a.status === "failed");
    for (const a of failed) failures.push(`${label}: ${file} > ${a.fullName}`);
    if (suite.status === "failed" && failed.length === 0) failures.push(`${label}: ${file} failed to run: ${String(suite.message ?? "").split("\n")[0]}`);
  }
}
// The free-threaded test files run in step 5, on python/.venv-ft.
const FREE_THREADED_TESTS = ["packages/core/test/free-threaded.int.test.ts", "packages/compat/test/free-threaded.int.test.ts"];
const notFreeThreaded = ["--exclude", "**/free-threaded.int.test.ts"];
vitest("vitest (all packages and examples)", "vitest.json", notFreeThreaded);
vitest("vitest (core over the Connect transport)", "vitest-connect.json", ["--project", "core", ...notFreeThreaded], { SNAKEPIT_TEST_TRANSPORT: "connect" });

// 4. pytest: the Python worker package.
function pytest(label, python, reportName) {
  const junit = join(results, reportName);
  rmSync(junit, { force: true });
  const status = run(label, python, ["-m", "pytest", "-q", "-p", "no:cacheprovider", `--junitxml=${junit}`], { cwd: join(root, "python") });
  if (!existsSync(junit)) {
    check(`${label} produced a report`, false);
    return;
  }
  const xml = readFileSync(junit, "utf8");
  const attr = (name) => Number((xml.match(new RegExp(`<testsuite [^>]*\\b${name}="(\\d+)"`)) ?? [])[1] ?? 0);
  const tests = attr("tests");
  const failed = attr("failures") + attr("errors");
  const skipped = attr("skipped");
  totals.passed += tests - failed - skipped;
  totals.failed += failed;
  totals.skipped += skipped;
  for (const m of xml.matchAll(/<testcase [^>]*classname="([^"]*)" name="([^"]*)"[^>]*>\s*<(failure|error)/g)) failures.push(`${label}: ${m[1]}::${m[2]}`);
  if (status !== 0 && failed === 0) check(`${label} exited cleanly`, false);
}
pytest("pytest", join(root, "python", ".venv", "bin", "python"), "pytest.xml");

// 4b. What users see: every code block of the READMEs and docs (type-checked, and run
//     where its adapter exists), and the packages as an npm install of the tarballs
//     in a fresh app outside the workspace (scripts/consumer-test.mjs). Each script
//     writes its own counts.
function scriptSuite(label, script, reportName, timeout) {
  const report = join(results, reportName);
  rmSync(report, { force: true });
  const status = run(label, "node", [join(root, "scripts", script)], timeout ? { timeout } : {});
  if (!existsSync(report)) {
    check(`${label} produced a report`, false);
    return;
  }
  const r = JSON.parse(readFileSync(report, "utf8"));
  totals.passed += r.passed;
  totals.failed += r.failed;
  totals.skipped += r.skipped ?? 0;
  for (const name of r.failures ?? []) failures.push(`${label}: ${name}`);
  if (r.failed > (r.failures ?? []).length) failures.push(`${label}: ${r.failed} failed (see its output above)`);
  if (status !== 0 && r.failed === 0) check(`${label} exited cleanly`, false);
}
scriptSuite("doc snippets", "test-doc-snippets.mjs", "doc-snippets.json");
scriptSuite("consumer test (packed packages in a fresh app)", "consumer-test.mjs", "consumer.json", 10 * 60 * 1000);

// 5. The free-threaded build: the whole pytest suite (python/tests/free_threaded
//    included), compat's probe, and core's thread-profile and free-threaded
//    integration tests with the workers on python/.venv-ft.
if (process.env.SNAKEPIT_SKIP_FREE_THREADED === "1") {
  console.log("\n=== free-threaded suites: SKIPPED (SNAKEPIT_SKIP_FREE_THREADED=1)");
  totals.skipped++;
} else {
  const setup = run("setup:free-threaded", "node", [join(root, "scripts", "setup-free-threaded.mjs")], { timeout: FREE_THREADED_SETUP_TIMEOUT_MS });
  check(
    "a free-threaded CPython and python/.venv-ft are ready (pnpm run setup:free-threaded; set SNAKEPIT_SKIP_FREE_THREADED=1 to skip on a machine that cannot have one)",
    setup === 0,
  );
  if (setup === 0) {
    const ftPython = join(root, "python", ".venv-ft", "bin", "python");
    pytest("pytest (free-threaded build)", ftPython, "pytest-ft.xml");
    vitest(
      "vitest (thread profile and free-threaded tests on python/.venv-ft)",
      "vitest-ft.json",
      ["--project", "core", "--project", "compat", "packages/core/test/thread-profile.int.test.ts", ...FREE_THREADED_TESTS],
      { SNAKEPIT_TEST_PYTHON: ftPython },
    );
  }
}

// A file that failed to load (syntax error, missing import) or whose hooks threw has no
// failed test inside it, but it is a failure all the same. (vitest's numFailedTestSuites
// counts describe blocks as well as files, so it cannot be used for this.)
function countFilesFailedWithoutFailedTests(v) {
  return (v.testResults ?? []).filter((s) => s.status === "failed" && !(s.assertionResults ?? []).some((a) => a.status === "failed")).length;
}

if (failures.length) console.log(`\nFailed:\n${failures.map((f) => `  - ${f}`).join("\n")}`);
console.log(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(totals.failed === 0 ? 0 : 1);
