import { existsSync, readFileSync } from "node:fs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { chooseProfile } from "./readme-example.js";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const example = readFileSync(new URL("./readme-example.ts", import.meta.url), "utf8");
const python = ["/root/.pyenv/versions/3.12.1/bin/python3", "/usr/bin/python3"].find((p) => existsSync(p)) ?? "python3";

describe("README example", () => {
  afterEach(() => vi.restoreAllMocks());

  it("is the code of test/readme-example.ts, verbatim", () => {
    expect(readme).toContain("```ts\n" + example.trim() + "\n```");
  });

  it("runs against a real interpreter", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const { probe, report, profile } = await chooseProfile(python);
    expect(probe.implementation).toBe("CPython");
    expect(Object.keys(probe.libraries)).toEqual(["numpy", "httpx", "matplotlib"]);
    // The verdict depends on what is installed: matplotlib makes the thread profile unsuitable.
    const hasMatplotlib = probe.libraries["matplotlib"] !== null;
    expect(report.ok).toBe(!hasMatplotlib);
    expect(profile).toBe(hasMatplotlib ? "process" : "thread");
    expect(log).toHaveBeenCalledWith(expect.stringMatching(/^Python 3\.\d+\.\d+, free-threaded: false, GIL on: true$/));
  });
});
