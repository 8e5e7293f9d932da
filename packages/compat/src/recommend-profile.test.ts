import { describe, expect, it } from "vitest";
import { probe } from "../test/probe-fixture.js";
import { recommendProfile } from "./recommend-profile.js";


describe("recommendProfile", () => {
  it("chooses process when a library is unsafe on threads, whatever the workload", () => {
    for (const workload of ["io", "cpu", "mixed", "unknown"] as const) {
      const rec = recommendProfile({ libraries: ["httpx", "matplotlib"], workload });
      expect(rec.profile).toBe("process");
      expect(rec.reasons).toEqual([expect.stringContaining("matplotlib is not safe to use from concurrent threads")]);
    }
  });

  it("chooses process when a library is older than its minVersion", () => {
    const rec = recommendProfile({ libraries: { numexpr: "2.4" }, workload: "io" });
    expect(rec.profile).toBe("process");
    expect(rec.reasons[0]).toContain("older than 2.5");
  });

  it("chooses thread for I/O-bound work", () => {
    const rec = recommendProfile({ libraries: ["httpx"], workload: "io" });
    expect(rec.profile).toBe("thread");
    expect(rec.reasons[0]).toContain("I/O-bound");
    expect(rec.reasons).toHaveLength(1);
  });

  it("mentions the workarounds of conditional libraries when choosing thread", () => {
    const rec = recommendProfile({ libraries: ["requests", "sqlalchemy"], workload: "io" });
    expect(rec.profile).toBe("thread");
    expect(rec.reasons).toContain("Follow the thread-profile workarounds for requests and sqlalchemy (see checkCompatibility).");
  });

  it("chooses process for CPU-bound pure Python on a GIL build", () => {
    const rec = recommendProfile({ workload: "cpu", probe: probe() });
    expect(rec.profile).toBe("process");
    expect(rec.reasons[0]).toContain("holds the GIL");
  });

  it("chooses process for mixed work when the CPU part is pure Python", () => {
    const rec = recommendProfile({ workload: "mixed", libraries: ["plotly"] });
    expect(rec.profile).toBe("process");
    expect(rec.reasons[0]).toContain("serialise on the GIL");
  });

  it("chooses thread for CPU work in libraries that release the GIL", () => {
    const rec = recommendProfile({ workload: "cpu", libraries: { numpy: "2.0.0", torch: "2.3.0" } });
    expect(rec.profile).toBe("thread");
    expect(rec.reasons[0]).toContain("numpy and torch release the GIL");
  });

  it("does not count libraries that release the GIL only partly", () => {
    expect(recommendProfile({ workload: "cpu", libraries: ["pandas"] }).profile).toBe("process");
  });

  it("chooses thread for CPU work on a free-threaded interpreter with the GIL disabled", () => {
    const rec = recommendProfile({ workload: "cpu", probe: probe({ freeThreaded: true, gilEnabled: false }) });
    expect(rec.profile).toBe("thread");
    expect(rec.reasons[0]).toContain("GIL disabled");
  });

  it("does not count a free-threaded build whose GIL is enabled at run time", () => {
    const rec = recommendProfile({ workload: "cpu", probe: probe({ freeThreaded: true, gilEnabled: true }) });
    expect(rec.profile).toBe("process");
    expect(rec.reasons.join(" ")).toContain("runs with the GIL enabled");
  });

  it("defaults to process for an unknown workload and says how to choose thread", () => {
    for (const input of [{}, { workload: "unknown" as const }, { libraries: ["numpy"] }]) {
      const rec = recommendProfile(input);
      expect(rec.profile).toBe("process");
      expect(rec.reasons.join(" ")).toContain('workload: "io"');
    }
    expect(recommendProfile().profile).toBe("process");
  });

  it("uses the probe's installed libraries when none are given", () => {
    const rec = recommendProfile({ probe: probe({ libraries: { spacy: "3.7.2", numpy: "2.0.0" } }), workload: "io" });
    expect(rec.profile).toBe("process");
    expect(rec.reasons[0]).toContain("spacy");
  });
});
