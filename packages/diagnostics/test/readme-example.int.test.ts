import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { watchPool } from "./readme-example.js";

it("the README's example runs against a real pool", async () => {
  const { busyOrIdle, metrics } = await watchPool();
  expect(busyOrIdle).toEqual(["idle", "idle"]);
  expect(metrics).toMatch(/^snakepit_requests_completed_total\{pool="default",profile="process"\} 1$/m);
});

it("the README shows readme-example.ts verbatim", () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const example = readFileSync(new URL("./readme-example.ts", import.meta.url), "utf8").trimEnd();
  expect(readme).toContain(example);
});
