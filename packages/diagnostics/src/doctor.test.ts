import { describe, expect, it } from "vitest";
import { adapterFailure } from "./doctor.js";

const py = "/venv/bin/python";
const startFailed = (headline: string) => Object.assign(new Error(`${headline}\n--- last lines of stderr ---\nTraceback ...\nline two`), { code: "worker_start_failed" });

describe("adapterFailure", () => {
  it("tells a missing dependency of the adapter from a missing adapter module", () => {
    const dep = adapterFailure("app.tools:Tools", py, startFailed("worker w1 (adapter app.tools:Tools) failed to start (import adapter): ModuleNotFoundError: No module named 'torch'"));
    expect(dep.status).toBe("fail");
    expect(dep.summary).toBe("app.tools:Tools failed to start (import adapter): ModuleNotFoundError: No module named 'torch'");
    expect(dep.fix).toContain(`${py} -m pip install torch`);
    const own = adapterFailure("app.tools:Tools", py, startFailed("worker w1 failed to start (import adapter): ModuleNotFoundError: No module named 'app'"));
    expect(own.fix).toContain("Python cannot find the adapter's module 'app': add the directory that contains it to PYTHONPATH");
  });

  it("explains a wrong class name, a non-Adapter class and a failing setup()", () => {
    const noClass = adapterFailure("app.tools:Nope", py, startFailed("w failed to start (import adapter): AttributeError: module 'app.tools' has no attribute 'Nope'"));
    expect(noClass.fix).toBe("Module 'app.tools' has no class 'Nope': check the name after ':' in --adapter.");
    const notAdapter = adapterFailure("app.tools:Plain", py, startFailed("w failed to start (import adapter): TypeError: app.tools:Plain is not a subclass of snakepit_bridge.Adapter"));
    expect(notAdapter.fix).toContain("class Plain(Adapter)");
    const setup = adapterFailure("app.tools:Tools", py, startFailed("w failed to start (setup): RuntimeError: model file not found"));
    expect(setup.summary).toContain("(setup): RuntimeError: model file not found");
    expect(setup.fix).toContain("setup() raised");
    expect(setup.details).toEqual(["Traceback ...", "line two"]);
  });
});
