import { describe, expect, it } from "vitest";
import { classifyExit } from "./classify-exit.js";

describe("classifyExit", () => {
  it.each([
    [{ exitCode: null, signal: "SIGSEGV" }, "segfault", "SIGSEGV"],
    [{ exitCode: null, signal: "SIGABRT" }, "abort", "SIGABRT"],
    [{ exitCode: null, signal: "SIGKILL" }, "killed", "SIGKILL"],
    [{ exitCode: null, signal: "SIGTERM" }, "signal", "SIGTERM"],
    [{ exitCode: 7, signal: null }, "exit_code", null],
    [{ exitCode: 0, signal: null }, "clean", null],
  ] as const)("%o is %s", (exit, kind, signal) => {
    const c = classifyExit(exit);
    expect(c.kind).toBe(kind);
    expect(c.signal).toBe(signal);
    expect(c.exitCode).toBe(exit.exitCode);
    expect(c.description.length).toBeGreaterThan(10);
  });

  it("reads 128 + N from a wrapper script as signal N", () => {
    expect(classifyExit({ exitCode: 139, signal: null })).toMatchObject({ kind: "segfault", signal: "SIGSEGV" });
    expect(classifyExit({ exitCode: 137, signal: null })).toMatchObject({ kind: "killed", signal: "SIGKILL" });
    expect(classifyExit({ exitCode: 137, signal: null }).description).toContain("exit code 137");
  });

  it("says the OOM killer is the usual cause of SIGKILL", () => {
    expect(classifyExit({ exitCode: null, signal: "SIGKILL" }).description).toMatch(/out-of-memory/);
  });

  it("keeps an ordinary non-zero code as an exit code", () => {
    expect(classifyExit({ exitCode: 1, signal: null })).toMatchObject({ kind: "exit_code", signal: null, description: "exited with code 1" });
  });
});
