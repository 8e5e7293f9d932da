#!/usr/bin/env node
// The Node `http` front of bench/http-service.mjs: POST /predict {"rows": [[64 floats], ...]}
// answers the predicted digit of each row, as JSON. The same front for every back end:
//
//   node bench/http/front.mjs --backend pool                 # the pool, 2 process workers
//   node bench/http/front.mjs --backend pipe                 # one python-shell-style JSON-lines process
//   node bench/http/front.mjs --backend fastapi --url URL    # FastAPI + uvicorn at URL, undici keep-alive
//
// Listens on 127.0.0.1 (port 0 unless --port), prints {"port", "pythonPids"} as one JSON line
// when ready, and stops its back end and exits on SIGTERM or SIGINT (so --cpu-prof is written).
import { writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { Session } from "node:inspector/promises";
import { parseArgs } from "node:util";
import { Agent, request } from "undici";
import { poolPids, startPipe, startPool } from "./backends.mjs";

const { values: flags } = parseArgs({
  options: { backend: { type: "string" }, url: { type: "string" }, port: { type: "string", default: "0" }, workers: { type: "string", default: "2" }, "exit-with-stdin": { type: "boolean", default: false }, "profile-out": { type: "string" } },
});

let predict;
let close;
let pythonPids = [];
if (flags.backend === "pool") {
  const pool = await startPool(Number(flags.workers));
  predict = (rows) => pool.execute("predict", { rows });
  close = () => pool.close();
  pythonPids = poolPids(pool);
} else if (flags.backend === "pipe") {
  const pipe = await startPipe();
  predict = (rows) => pipe.call("predict", { rows });
  close = () => pipe.close();
  pythonPids = pipe.pids;
} else if (flags.backend === "fastapi") {
  const dispatcher = new Agent({ keepAliveTimeout: 60_000 });
  const url = `${flags.url}/predict`;
  predict = async (rows) => {
    const res = await request(url, { method: "POST", dispatcher, headers: { "content-type": "application/json" }, body: JSON.stringify({ rows }) });
    if (res.statusCode !== 200) throw new Error(`FastAPI answered ${res.statusCode}: ${await res.body.text()}`);
    return res.body.json();
  };
  close = () => dispatcher.close();
} else {
  console.error("--backend pool | pipe | fastapi (with --url)");
  process.exit(2);
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", async () => {
    try {
      const { rows } = JSON.parse(Buffer.concat(chunks).toString());
      if (!Array.isArray(rows)) throw new Error("rows must be an array");
      const body = JSON.stringify(await predict(rows));
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
    } catch (e) {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(e?.message ?? e));
    }
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(flags.port), "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port, pythonPids })}\n`);
});

// --profile-out FILE: SIGUSR2 starts V8's CPU profiler (what node --cpu-prof records), the next
// SIGUSR2 stops it and writes FILE (a .cpuprofile), then prints "profiled" on stdout.
if (flags["profile-out"]) {
  const session = new Session();
  session.connect();
  let on = false;
  process.on("SIGUSR2", async () => {
    if (!on) {
      on = true;
      await session.post("Profiler.enable");
      await session.post("Profiler.start");
    } else {
      on = false;
      const { profile } = await session.post("Profiler.stop");
      writeFileSync(flags["profile-out"], JSON.stringify(profile));
      process.stdout.write("profiled\n");
    }
  });
}

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  server.close();
  server.closeAllConnections?.();
  try {
    await close();
  } finally {
    process.exit(0);
  }
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
// --exit-with-stdin: the bench that started this front holds a pipe to it; go when it goes
if (flags["exit-with-stdin"]) process.stdin.on("end", stop).resume();
