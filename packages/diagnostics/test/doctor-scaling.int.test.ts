// runDoctor() and diagnoseScaling() as library calls, with real Python: the paths
// the CLI tests do not take (no @snakepit/compat, a failing setup(), an adapter
// that is not thread-safe).
import { diagnoseScaling, runDoctor, type ScalingProgress } from "@snakepit/diagnostics";
import { afterEach, describe, expect, it } from "vitest";
import { setCompatLoader } from "../src/compat-loader.js";
import { fixturesPath, OWNER, OWNER_VAR, venvPython } from "./diag-helpers.js";

const env = { PYTHONPATH: fixturesPath, [OWNER_VAR]: OWNER };

let undo: (() => void) | undefined;
afterEach(() => {
  undo?.();
  undo = undefined;
});

describe("runDoctor", () => {
  it("works without @snakepit/compat (its own probe), and says what compat would add", async () => {
    undo = setCompatLoader(() => Promise.reject(Object.assign(new Error("Cannot find package '@snakepit/compat'"), { code: "ERR_MODULE_NOT_FOUND" })));
    const report = await runDoctor({ python: venvPython, adapter: "snakepit_fixtures.basic:EchoAdapter", env });
    expect(report.ok).toBe(true);
    const byId = new Map(report.checks.map((c) => [c.id, c]));
    expect(byId.get("interpreter")).toMatchObject({ status: "ok" });
    expect(byId.get("package:protobuf")?.summary).toMatch(/^protobuf \d+\.\d+/);
    expect(byId.has("package:grpcio")).toBe(false); // the worker needs no grpcio
    expect(byId.get("gil")?.status).toBe("ok");
    expect(byId.get("adapter")?.summary).toContain("not declared thread-safe");
    expect(report.tools).toEqual(["add", "echo", "noop", "types", "whoami"]);
    expect(byId.get("compat")).toMatchObject({ status: "info", summary: "thread-safety report skipped: @snakepit/compat is not installed" });
  });

  it("explains a failing setup()", async () => {
    const report = await runDoctor({ python: venvPython, adapter: "snakepit_fixtures.failing_setup:FailingSetupAdapter", env });
    expect(report.ok).toBe(false);
    const adapter = report.checks.find((c) => c.id === "adapter")!;
    expect(adapter.summary).toContain("failed to start (setup): RuntimeError: model file not found: /nonexistent/model.bin");
    expect(adapter.fix).toContain("setup() raised");
  });

  it("with compat, tells the thread profile would need a thread-safe adapter", async () => {
    const report = await runDoctor({ python: venvPython, adapter: "snakepit_fixtures.basic:EchoAdapter", env });
    const compat = report.checks.find((c) => c.id === "compat")!;
    expect(compat.status).toBe("ok");
    expect(compat.summary).toContain("(but the adapter is not declared thread-safe)");
    expect(compat.details?.join("\n")).toContain("recommended profile without knowing the workload: process");
  });
});

describe("diagnoseScaling", () => {
  it("skips thread configurations for an adapter that is not thread-safe, and reports progress", async () => {
    const progress: ScalingProgress[] = [];
    const report = await diagnoseScaling({
      python: venvPython,
      env,
      adapter: "snakepit_fixtures.basic:EchoAdapter",
      tool: "add",
      args: { a: 1, b: 2 },
      durationMs: 300,
      configs: [
        { profile: "process", size: 1 },
        { profile: "thread", size: 1, threadsPerWorker: 2 },
      ],
      onProgress: (p) => progress.push(p),
    });
    const [proc, thread] = report.results;
    expect(proc!.calls).toBeGreaterThan(10);
    expect(proc!.errors).toBe(0);
    expect(proc!.latency.count).toBe(proc!.calls);
    expect(proc!.rssBytes).toBeGreaterThan(0);
    expect(thread!.skipped).toContain("not declared thread-safe");
    expect(report.recommended?.label).toBe("process 1");
    expect(progress.map((p) => `${p.label}:${p.phase}`)).toEqual(expect.arrayContaining(["process 1:starting", "process 1:done", "thread 1x2:skipped"]));
  });
});
