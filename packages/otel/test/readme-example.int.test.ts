import { readFileSync } from "node:fs";
import { context, propagation, trace } from "@opentelemetry/api";
import { afterAll, expect, it } from "vitest";
import { tracedCall } from "./readme-example.js";

afterAll(() => {
  trace.disable();
  context.disable();
  propagation.disable();
});

it("the README's example runs: the Snakepit span is a child of the request span", async () => {
  expect(await tracedCall()).toEqual(["snakepit.execute add", "handle-request"]);
});

it("the README shows readme-example.ts verbatim", () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const example = readFileSync(new URL("./readme-example.ts", import.meta.url), "utf8").trimEnd();
  expect(readme).toContain(example);
});
