// Every integration test file ends with no Python worker of ours still alive,
// and nothing of this process's left under /dev/shm (segments, progress pages).
import { existsSync, readdirSync } from "node:fs";
import { afterAll, expect } from "vitest";
import { eventually, liveWorkerPids } from "./helpers.js";

afterAll(async () => {
  // Workers exit within moments of their pool closing; give the OS that moment.
  await eventually(() => liveWorkerPids().length === 0, 5_000, "Python workers to exit").catch(() => {});
  expect(liveWorkerPids(), "Python worker processes left behind").toEqual([]);
});

afterAll(async () => {
  if (!existsSync("/dev/shm")) return;
  const ours = () => readdirSync("/dev/shm").filter((n) => n.startsWith(`snakepit-${process.pid}-`));
  // A worker's page goes once its exit is seen, moments after its pool closed.
  await eventually(() => ours().length === 0, 5_000, "files under /dev/shm to go").catch(() => {});
  expect(ours(), "files left under /dev/shm").toEqual([]);
});
