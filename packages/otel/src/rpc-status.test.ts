import { SNAKEPIT_ERROR_CODES, type SnakepitErrorCode } from "@snakepit/core";
import { describe, expect, it } from "vitest";
import { grpcStatusFor } from "./rpc-status.js";

describe("grpcStatusFor", () => {
  it("maps success to OK and each error code to a non-OK gRPC status", () => {
    expect(grpcStatusFor(undefined)).toBe(0);
    for (const code of SNAKEPIT_ERROR_CODES) {
      const status = grpcStatusFor(code);
      expect(status, code).toBeGreaterThan(0);
      expect(status, code).toBeLessThanOrEqual(16);
    }
  });

  it("uses the statuses a gRPC user expects for the common failures", () => {
    expect(grpcStatusFor("deadline_exceeded")).toBe(4);
    expect(grpcStatusFor("aborted")).toBe(1);
    expect(grpcStatusFor("queue_full")).toBe(8);
    expect(grpcStatusFor("worker_crashed")).toBe(14);
    expect(grpcStatusFor("python_error")).toBe(2);
  });

  it("answers UNKNOWN for a code added to core later", () => {
    expect(grpcStatusFor("something_new" as SnakepitErrorCode)).toBe(2);
  });
});
