// Start a snakepit_bridge worker by hand on loopback with a shared token, the
// way a worker outside the pool's control would run. Resolves with its address.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

export function startStandaloneWorker({ python, adapter, token, env = {} }) {
  const child = spawn(python, ["-m", "snakepit_bridge", "--adapter", adapter, "--listen", "127.0.0.1:0", "--token-env", "WORKER_TOKEN"], {
    env: { ...process.env, ...env, WORKER_TOKEN: token },
    stdio: ["pipe", "ignore", "pipe"],
  });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stderr }).on("line", (line) => {
      if (!line.startsWith("SNAKEPIT_READY ")) return;
      const ready = JSON.parse(line.slice("SNAKEPIT_READY ".length));
      if (ready.ready) resolve({ child, address: ready.address, pid: ready.pid });
      else reject(new Error(`worker failed: ${ready.error?.message}`));
    });
    child.once("exit", (code) => reject(new Error(`worker exited with ${code} before it was ready`)));
  });
}
