import { describe, expect, it } from "vitest";
import { formatBytes, formatDuration, formatMs } from "./format.js";

describe("format", () => {
  it("bytes", () => {
    expect(formatBytes(null)).toBe("-");
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(300 * 1024 * 1024)).toBe("300 MiB");
    expect(formatBytes(3 * 1024 ** 3)).toBe("3.0 GiB");
  });
  it("milliseconds", () => {
    expect(formatMs(0)).toBe("0");
    expect(formatMs(0.25)).toBe("250 µs");
    expect(formatMs(2.345)).toBe("2.35 ms");
    expect(formatMs(123.45)).toBe("123.5 ms");
    expect(formatMs(2500)).toBe("2.50 s");
  });
  it("durations", () => {
    expect(formatDuration(5_400)).toBe("5s");
    expect(formatDuration(125_000)).toBe("2m05s");
    expect(formatDuration(3 * 3600_000 + 7 * 60_000)).toBe("3h07m");
    expect(formatDuration(50 * 3600_000)).toBe("2d02h");
  });
});
