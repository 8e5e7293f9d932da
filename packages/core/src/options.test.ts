import { describe, expect, it } from "vitest";
import { SnakepitError } from "./errors.js";
import { resolvePoolOptions } from "./options.js";

function configError(input: unknown): SnakepitError {
  try {
    resolvePoolOptions(input);
  } catch (err) {
    if (err instanceof SnakepitError) return err;
    throw err;
  }
  throw new Error("expected invalid_config");
}

describe("pool options", () => {
  it("fills documented defaults", () => {
    const o = resolvePoolOptions({ python: { adapter: "pkg.mod:Cls" } });
    expect(o).toMatchObject({
      name: "default",
      profile: "process",
      threadsPerWorker: 1,
      maxQueue: 1000,
      queueTimeoutMs: 10_000,
      startTimeoutMs: 30_000,
      defaultTimeoutMs: 60_000,
      maxPayloadBytes: 64 * 1024 * 1024,
    });
    expect(o.size).toBeGreaterThan(0);
  });

  it("thread profile defaults to 1 worker x 4 threads", () => {
    const o = resolvePoolOptions({ profile: "thread", python: { adapter: "m:C" } });
    expect(o.size).toBe(1);
    expect(o.threadsPerWorker).toBe(4);
  });

  it("reports every problem at once, with paths", () => {
    const err = configError({ sizee: 2, size: 0, maxQueue: -1, queueTimeoutMs: "5s", python: { adapter: "nocolon", extra: 1 } });
    expect(err.code).toBe("invalid_config");
    const paths = err.issues!.map((i) => i.path).sort();
    expect(paths).toEqual(["maxQueue", "python.adapter", "python.extra", "queueTimeoutMs", "size", "sizee"]);
    expect(err.message).toContain("unknown option 'sizee' (did you mean 'size'?)");
    expect(err.message).toContain("python.adapter must look like 'package.module:ClassName'");
    expect(err.message).toContain("size must be a positive integer");
  });

  it("requires python.adapter", () => {
    const err = configError({ size: 1 });
    expect(err.issues?.[0]?.path).toBe("python");
  });

  it("accepts Infinity for timeouts that allow it", () => {
    expect(resolvePoolOptions({ python: { adapter: "m:C" }, defaultTimeoutMs: Infinity }).defaultTimeoutMs).toBe(Infinity);
    expect(configError({ python: { adapter: "m:C" }, startTimeoutMs: Infinity }).issues?.[0]?.path).toBe("startTimeoutMs");
  });

  it("rejects threadsPerWorker on the process profile", () => {
    expect(configError({ python: { adapter: "m:C" }, threadsPerWorker: 4 }).issues?.[0]?.path).toBe("threadsPerWorker");
  });

  it("accepts a custom profile object and rejects a malformed one", () => {
    const profile = { name: "mine", startWorker: async () => ({}) as never };
    expect(resolvePoolOptions({ python: { adapter: "m:C" }, profile }).profileName).toBe("mine");
    expect(configError({ python: { adapter: "m:C" }, profile: { name: "x" } }).issues?.[0]?.path).toBe("profile");
  });
});
