// Demo: two workers started outside the pool, attached through a custom profile.
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { createPool } from "@snakepit/core";
import { attachProfile } from "./attach-profile.mjs";
import { startStandaloneWorker } from "./start-worker.mjs";

const python = process.env.SNAKEPIT_PYTHON ?? fileURLToPath(new URL("../../python/.venv/bin/python", import.meta.url));
const adapter = "snakepit_bridge.adapters.showcase:ShowcaseAdapter";
const token = randomBytes(16).toString("hex");
const workers = await Promise.all([1, 2].map(() => startStandaloneWorker({ python, adapter, token })));
try {
  const pool = await createPool({
    profile: attachProfile({ addresses: workers.map((w) => w.address), token }),
    size: 2,
    python: { adapter },
  });
  try {
    console.log(`attached to ${workers.map((w) => w.address).join(" and ")}`);
    const answers = await Promise.all([1, 2, 3, 4].map(() => pool.execute("whoami")));
    console.log("calls served by pids:", [...new Set(answers.map((a) => a.pid))].sort().join(", "));
    console.log("add(40, 2) =", await pool.execute("add", { a: 40, b: 2 }));
  } finally {
    await pool.close();
  }
  console.log(`pool closed; the standalone workers still run: ${workers.map((w) => w.child.exitCode === null).join(", ")}`);
} finally {
  for (const w of workers) w.child.kill();
}
