import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { OWNER, OWNER_VAR } from "./helpers.js";
import { main } from "./readme-example.js";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const example = readFileSync(new URL("./readme-example.ts", import.meta.url), "utf8");

describe("README example", () => {
  afterEach(() => {
    vi.restoreAllMocks();
    delete process.env[OWNER_VAR];
  });

  it("is the code of test/readme-example.ts, verbatim", () => {
    expect(readme).toContain("```ts\n" + example.trim() + "\n```");
  });

  it("runs against real Python workers", async () => {
    // The example's workers inherit this, so the leak check sees them.
    process.env[OWNER_VAR] = OWNER;
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const { recycles, workers } = await main();
    // 1 200 requests over 2 workers whose limits are at most 550.
    expect(recycles["max_requests"]).toBeGreaterThanOrEqual(2);
    for (const w of workers) {
      // A replacement draws its limit in [500, 550]; the first two workers' limits are
      // staggered below 500, and one of them may still be serving when the loop ends (its
      // replacement starting: calls are faster than a start).
      if (w.requests!.limit < 500) expect(["default/w1", "default/w2"]).toContain(w.id);
      expect(w.requests!.limit).toBeGreaterThanOrEqual(250);
      expect(w.requests!.limit).toBeLessThanOrEqual(550);
      // A worker at its limit keeps serving until its replacement is ready (a slow start on a
      // loaded machine): then its replacement is under way, and the stats say by how much.
      if (w.requestsStarted > w.requests!.limit) expect(w.recycling).toBe("max_requests");
      expect(w.servedPastLimit).toBe(Math.max(0, w.requestsStarted - w.requests!.limit));
    }
    expect(log).toHaveBeenCalledWith(expect.stringMatching(/^recycled for max_requests: \d+$/));
  });
});
