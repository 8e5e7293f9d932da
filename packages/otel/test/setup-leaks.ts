// Every integration test file ends with no Python worker of ours still alive.
import { afterAll, expect } from "vitest";
import { eventually, liveWorkerPids } from "../../core/test/helpers.js";

afterAll(async () => {
  // Workers exit within moments of their pool closing; give the OS that moment.
  await eventually(() => liveWorkerPids().length === 0, 5_000, "Python workers to exit").catch(() => {});
  expect(liveWorkerPids(), "Python worker processes left behind").toEqual([]);
});
