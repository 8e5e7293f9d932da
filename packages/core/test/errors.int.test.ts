import { execFileSync } from "node:child_process";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createPool, SNAKEPIT_EVENTS, SnakepitError } from "@snakepit/core";
import { fixtureOptions, fixturePool, fixturesPath, rejectionOf, SHOWCASE, venvPython } from "./helpers.js";

describe("error codes from real workers", () => {
  it("python_error keeps the Python type, message and traceback", async () => {
    await using pool = await fixturePool(SHOWCASE);
    const err = await rejectionOf(pool.execute("fail", { message: "bad input", kind: "KeyError" }));
    expect(err).toBeInstanceOf(SnakepitError);
    expect(err).toMatchObject({ code: "python_error", pythonType: "KeyError", tool: "fail" });
    expect(err.message).toContain("bad input");
    expect(String(err["traceback"])).toContain("Traceback (most recent call last)");
    expect(String(err["traceback"])).toContain("KeyError");
  });

  it("unknown_tool names close matches", async () => {
    await using pool = await fixturePool(SHOWCASE);
    const err = await rejectionOf(pool.execute("ad", { a: 1 }));
    expect(err).toMatchObject({ code: "unknown_tool" });
    expect(err["suggestions"]).toContain("add");
    expect(err.message).toContain("did you mean 'add'");
  });

  it("invalid_argument: unencodable arguments are refused before anything is sent", async () => {
    await using pool = await fixturePool(SHOWCASE);
    const started: unknown[] = [];
    const onStart = (m: unknown) => started.push(m);
    subscribe(SNAKEPIT_EVENTS.requestStarted, onStart);
    try {
      const cyclic: Record<string, unknown> = {};
      cyclic["me"] = cyclic;
      for (const bad of [{ value: () => 1 }, { value: 10n }, cyclic]) {
        const err = await rejectionOf(pool.execute("echo", bad));
        expect(err).toMatchObject({ code: "invalid_argument" });
      }
    } finally {
      unsubscribe(SNAKEPIT_EVENTS.requestStarted, onStart);
    }
    expect(started).toEqual([]);
    expect(pool.stats().completed).toBe(0);
  });

  it("invalid_argument: arguments that do not fit the tool's signature (checked in Python)", async () => {
    await using pool = await fixturePool(SHOWCASE);
    const missing = await rejectionOf(pool.execute("add", { a: 1 }));
    expect(missing).toMatchObject({ code: "invalid_argument" });
    expect(missing.message).toContain("b");
    const extra = await rejectionOf(pool.execute("add", { a: 1, b: 2, c: 3 }));
    expect(extra).toMatchObject({ code: "invalid_argument" });
    expect(extra.message).toContain("c");
  });

  it("invalid_argument: streaming a plain tool, or executing a generator", async () => {
    await using pool = await fixturePool(SHOWCASE);
    const consume = async () => {
      for await (const _ of pool.stream("add", { a: 1, b: 2 })) void _;
    };
    await expect(consume()).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringContaining("pool.execute()") });
    await expect(pool.execute("progress", { steps: 2 })).rejects.toMatchObject({
      code: "invalid_argument",
      message: expect.stringContaining("pool.stream()"),
    });
  });

  it("payload_too_large: arguments over the limit, and a result over the limit", async () => {
    await using pool = await fixturePool(SHOWCASE, { maxPayloadBytes: 64 * 1024 });
    const err = await rejectionOf(pool.execute("echo", { value: new Uint8Array(100 * 1024) }));
    expect(err).toMatchObject({ code: "payload_too_large" });
    expect(err.message).toContain("maxPayloadBytes");
    // The arguments just fit; the result adds a length and a hash to the same bytes: over.
    const res = await rejectionOf(pool.execute("bytes_roundtrip", { data: new Uint8Array(64 * 1024 - 60) }));
    expect(res).toMatchObject({ code: "payload_too_large" });
    // The pool is fine afterwards.
    expect(await pool.execute("add", { a: 2, b: 3 })).toBe(5);
  });

  it("queue_full when maxQueue calls already wait", async () => {
    await using pool = await fixturePool(SHOWCASE, { size: 1, maxQueue: 1 });
    const running = pool.execute("sleep", { seconds: 0.4 });
    const queued = pool.execute("add", { a: 1, b: 1 });
    const err = await rejectionOf(pool.execute("add", { a: 1, b: 1 }));
    expect(err).toMatchObject({ code: "queue_full" });
    expect(await running).toBeGreaterThan(0);
    expect(await queued).toBe(2);
    expect(pool.stats().rejected).toBe(1);
  });

  it("queue_timeout when no worker frees up in time", async () => {
    await using pool = await fixturePool(SHOWCASE, { size: 1, queueTimeoutMs: 150 });
    const running = pool.execute("sleep", { seconds: 0.6 });
    const err = await rejectionOf(pool.execute("add", { a: 1, b: 1 }));
    expect(err).toMatchObject({ code: "queue_timeout" });
    expect(pool.stats().queued).toBe(0);
    await running;
  });

  it("deadline_exceeded, and the deadline reaches Python", async () => {
    await using pool = await fixturePool("snakepit_fixtures.cancel:CancelAdapter");
    const info = (await pool.execute("deadline_info", {}, { timeoutMs: 5_000 })) as { deadline: number; remaining: number };
    expect(info.remaining).toBeGreaterThan(3);
    expect(info.remaining).toBeLessThanOrEqual(5);
    expect(Math.abs(info.deadline * 1000 - (Date.now() + 5_000))).toBeLessThan(1_500);
    const err = await rejectionOf(pool.execute("wait_for_cancel", { marker: "dl", timeout: 10 }, { timeoutMs: 300 }));
    expect(err).toMatchObject({ code: "deadline_exceeded" });
    // The tool saw the deadline pass as a cancellation.
    await expect.poll(() => pool.execute("state", { marker: "dl" }), { timeout: 5_000 }).toBe("cancelled");
  });

  it("pool_closed for calls after close", async () => {
    const pool = await fixturePool(SHOWCASE);
    await pool.close();
    await expect(pool.execute("noop")).rejects.toMatchObject({ code: "pool_closed" });
  });
});

describe("worker_start_failed says why", () => {
  it("an adapter that fails to import reads as the ImportError, with its traceback", async () => {
    const err = await rejectionOf(createPool(fixtureOptions("snakepit_fixtures.broken_import:BrokenAdapter", { size: 2 })));
    expect(err).toMatchObject({ code: "worker_start_failed", pythonType: "ModuleNotFoundError" });
    expect(err.message).toContain("snakepit_definitely_missing_module");
    expect(String(err["traceback"])).toContain("broken_import.py");
    // A module the adapter imports: install it for the interpreter the worker ran.
    expect(err.message).toMatch(/\nThe adapter imports 'snakepit_definitely_missing_module', which is not installed for '.*python'/);
  });

  it("an adapter module not found names python.cwd, PYTHONPATH and the directories searched", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "adapter-cwd-"));
    try {
      const err = await rejectionOf(
        createPool(fixtureOptions(SHOWCASE, { python: { executable: venvPython, adapter: "no_such_app.tools:Tools", cwd, env: { PYTHONPATH: fixturesPath } } })),
      );
      expect(err).toMatchObject({ code: "worker_start_failed", pythonType: "ModuleNotFoundError" });
      expect(err.message.split("\n")[0]).toMatch(/ModuleNotFoundError: No module named 'no_such_app'$/);
      expect(err.message).toContain(`python.cwd = ${cwd}`);
      expect(err.message).toContain(`PYTHONPATH (${fixturesPath})`);
      expect(err.message).toMatch(/the worker searched .*snakepit_fixtures|the worker searched .*tests\/fixtures/);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it("a missing bridge names the setup command", async () => {
    // An interpreter without snakepit_bridge: the base interpreter behind the venv.
    const base = execFileSync(venvPython, ["-c", "import sys; print(sys._base_executable)"], { encoding: "utf8" }).trim();
    const err = await rejectionOf(
      createPool(fixtureOptions(SHOWCASE, { python: { executable: base, adapter: SHOWCASE, env: { PYTHONPATH: "", PYTHONNOUSERSITE: "1" } } })),
    );
    expect(err).toMatchObject({ code: "worker_start_failed" });
    expect(err.message).toContain("snakepit_bridge is not installed for");
    expect(err.message).toContain(`npx -p @snakepit/diagnostics snakepit python setup --python ${base}`);
  });

  it("an adapter whose setup raises", async () => {
    const err = await rejectionOf(createPool(fixtureOptions("snakepit_fixtures.failing_setup:FailingSetupAdapter")));
    expect(err).toMatchObject({ code: "worker_start_failed", pythonType: "RuntimeError" });
    expect(err.message).toContain("model file not found");
  });

  it("a class that is not an Adapter", async () => {
    const err = await rejectionOf(createPool(fixtureOptions("snakepit_fixtures.not_adapter:NotAnAdapter")));
    expect(err).toMatchObject({ code: "worker_start_failed" });
    expect(err.message).toMatch(/Adapter/);
  });

  it("a missing interpreter names the path and what to do", async () => {
    const err = await rejectionOf(createPool(fixtureOptions(SHOWCASE, { python: { executable: "/nonexistent/python3.99", adapter: SHOWCASE } })));
    expect(err).toMatchObject({ code: "worker_start_failed" });
    expect(err.message).toContain("/nonexistent/python3.99");
    expect(err.message).toContain("python.executable");
  });

  it("a worker that is not ready in time", async () => {
    const err = await rejectionOf(
      createPool(
        fixtureOptions("snakepit_fixtures.slow_start:SlowStartAdapter", {
          startTimeoutMs: 500,
          python: { adapter: "snakepit_fixtures.slow_start:SlowStartAdapter", env: { SNAKEPIT_FIXTURE_START_DELAY: "5" } },
        }),
      ),
    );
    expect(err).toMatchObject({ code: "worker_start_failed" });
    expect(err.message).toContain("startTimeoutMs");
  });

  it("an interpreter without snakepit_bridge", async () => {
    const err = await rejectionOf(createPool(fixtureOptions(SHOWCASE, { python: { executable: "/usr/bin/python3", adapter: SHOWCASE } })));
    expect(err).toMatchObject({ code: "worker_start_failed" });
    expect(err.message).toContain("snakepit_bridge");
  });

  it("invalid options throw synchronously, naming every problem", () => {
    expect(() => createPool({ size: -1, python: { adapter: "x" }, bogus: true } as never)).toThrowError(
      expect.objectContaining({ code: "invalid_config", issues: expect.arrayContaining([expect.objectContaining({ path: "bogus" })]) }),
    );
  });
});

