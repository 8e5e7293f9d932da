// The JSON-lines-over-a-pipe baseline client: one Python process, calls tagged by id.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

export function startPipeBaseline(python) {
  const child = spawn(python, [new URL("./pipe_server.py", import.meta.url).pathname], { stdio: ["pipe", "pipe", "inherit"] });
  const pending = new Map();
  let next = 1;
  createInterface({ input: child.stdout }).on("line", (line) => {
    const msg = JSON.parse(line);
    pending.get(msg.id)?.(msg.result);
    pending.delete(msg.id);
  });
  return {
    pid: child.pid,
    call(tool, args) {
      const id = next++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        child.stdin.write(`${JSON.stringify({ id, tool, args })}\n`);
      });
    },
    close() {
      child.stdin.end();
      return new Promise((resolve) => child.once("exit", resolve));
    },
  };
}
