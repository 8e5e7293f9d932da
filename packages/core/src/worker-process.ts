/**
 * Spawns one Python worker process and waits for its readiness handshake.
 *
 * The child gets four pipes: stdin is the parent watch (the worker exits when it
 * closes, which the kernel does even after `kill -9` of Node), stdout and stderr
 * are the user's output (logged line by line), and fd 3 carries the one-line
 * JSON handshake, so nothing a tool prints can be mistaken for protocol. The
 * child leads its own process group, so stopping it also stops anything it spawned.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import type { Duplex, Readable } from "node:stream";
import { SnakepitError } from "./errors.js";
import { describeExecutable, type ResolvedExecutable } from "./python-executable.js";
import type { WorkerExit } from "./worker-profile.js";

export interface SpawnWorkerOptions {
  readonly workerId: string;
  readonly poolName: string;
  readonly executable: ResolvedExecutable;
  readonly adapter: string;
  /** gRPC listen address for the worker, e.g. "unix:/tmp/snakepit-x/w1.sock". */
  readonly listen: string;
  readonly threads: number;
  readonly maxMessageBytes: number;
  readonly cwd?: string | undefined;
  readonly env: Record<string, string>;
  readonly interpreterArgs: readonly string[];
  /** Also hand the worker a socketpair for the local data plane (fd 4). */
  readonly dataPlane: boolean;
  readonly startTimeoutMs: number;
  readonly signal: AbortSignal;
  onOutput(stream: "stdout" | "stderr", line: string): void;
}

/** The worker's handshake line, as sent by snakepit_bridge. */
export interface ReadyMessage {
  ready: true;
  pid: number;
  address: string;
  python_version: string;
  implementation: string;
  free_threaded: boolean;
  gil_enabled: boolean;
  threads: number;
  adapter: string;
  adapter_thread_safe: boolean;
  platform?: string;
  tools: string[];
  /** Problems the worker noticed at start-up (e.g. libraries unsafe under threads). */
  warnings?: string[];
}

interface FailedMessage {
  ready: false;
  error: { phase?: string; type?: string; message?: string; traceback?: string };
}

export interface SpawnedWorker {
  readonly child: ChildProcess;
  /** The pool's end of the data-plane socketpair, when asked for. */
  readonly data: Duplex | undefined;
  readonly pid: number;
  readonly ready: ReadyMessage;
  /** Settles when the process has exited and its output is drained. */
  readonly exited: Promise<WorkerExit>;
  /** Mark the coming exit as asked for (not a crash). */
  expectExit(): void;
  /** Signal the whole process group; ignores a group that is already gone. */
  signalGroup(signal: NodeJS.Signals): void;
}

const STDERR_TAIL_LINES = 40;

export function spawnWorker(o: SpawnWorkerOptions): Promise<SpawnedWorker> {
  const args = [
    ...o.interpreterArgs,
    "-m",
    "snakepit_bridge",
    "--adapter",
    o.adapter,
    "--listen",
    o.listen,
    "--threads",
    String(o.threads),
    "--control-fd",
    "3",
    "--max-message-bytes",
    String(o.maxMessageBytes),
    "--worker-id",
    o.workerId,
    ...(o.dataPlane ? ["--data-fd", "4"] : []),
  ];
  let child: ChildProcess;
  try {
    child = spawn(o.executable.path, args, {
      cwd: o.cwd,
      env: { ...process.env, ...o.env, PYTHONUNBUFFERED: "1" },
      // 0: parent watch, 1/2: output, 3: handshake, 4: data plane (a socketpair).
      stdio: o.dataPlane ? ["pipe", "pipe", "pipe", "pipe", "pipe"] : ["pipe", "pipe", "pipe", "pipe"],
      detached: true, // own process group: one signal reaches the worker and its children
      windowsHide: true,
    });
  } catch (err) {
    return Promise.reject(startFailed(o, `could not spawn ${describeExecutable(o.executable)}: ${String(err)}`, { cause: err }));
  }

  const stderrTail: string[] = [];
  let expected = false;
  let spawnError: Error | undefined;
  const lines = (stream: Readable | null, name: "stdout" | "stderr"): Promise<void> => {
    if (!stream) return Promise.resolve();
    const rl = createInterface({ input: stream, crlfDelay: Infinity });
    rl.on("line", (line) => {
      if (name === "stderr") {
        stderrTail.push(line);
        if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
      }
      o.onOutput(name, line);
    });
    return new Promise((resolve) => rl.once("close", resolve));
  };
  const outputDone = Promise.all([lines(child.stdout, "stdout"), lines(child.stderr, "stderr")]);
  child.on("error", (err) => {
    spawnError = err;
  });
  // The parent-watch pipe must not keep failing loudly if the worker is gone.
  child.stdin?.on("error", () => {});
  const exited: Promise<WorkerExit> = new Promise((resolve) => {
    child.once("close", (exitCode, signal) => {
      void outputDone.then(() => resolve({ exitCode, signal, stderrTail: [...stderrTail], expected }));
    });
  });

  const signalGroup = (signal: NodeJS.Signals) => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      /* ESRCH: the group is gone already */
    }
  };

  return new Promise<SpawnedWorker>((resolve, reject) => {
    let settled = false;
    const control = child.stdio[3] as Readable | null;
    const timer = setTimeout(
      () => fail(`did not become ready within startTimeoutMs (${o.startTimeoutMs} ms)`),
      o.startTimeoutMs,
    );
    const onAbort = () => fail("start was aborted: the pool is closing");
    o.signal.addEventListener("abort", onAbort, { once: true });

    function cleanup() {
      clearTimeout(timer);
      o.signal.removeEventListener("abort", onAbort);
    }
    function fail(message: string, details: Partial<ConstructorParameters<typeof SnakepitError>[2]> = {}) {
      if (settled) return;
      settled = true;
      cleanup();
      expected = true;
      signalGroup("SIGKILL");
      // Report once the process is gone, with whatever it wrote to stderr.
      void exited.then((exit) =>
        reject(startFailed(o, message, { exitCode: exit.exitCode, signal: exit.signal, stderrTail: exit.stderrTail, ...details })),
      );
    }

    const rl = control ? createInterface({ input: control, crlfDelay: Infinity }) : undefined;
    rl?.once("line", (line) => {
      let msg: ReadyMessage | FailedMessage;
      try {
        msg = JSON.parse(line) as ReadyMessage | FailedMessage;
      } catch {
        fail(`sent an unreadable handshake: ${line.slice(0, 200)}`);
        return;
      }
      if (msg.ready) {
        if (settled) return;
        settled = true;
        cleanup();
        rl.close();
        const data = o.dataPlane ? (child.stdio[4] as Duplex | null) ?? undefined : undefined;
        resolve({ child, data, pid: msg.pid, ready: msg, exited, expectExit: () => void (expected = true), signalGroup });
        return;
      }
      const e = msg.error ?? {};
      const where = e.phase ? ` (${e.phase.replace(/_/g, " ")})` : "";
      const details: { pythonType?: string; traceback?: string } = {};
      if (e.type) details.pythonType = e.type;
      if (e.traceback) details.traceback = e.traceback;
      fail(`failed to start${where}: ${e.type ?? "Error"}: ${e.message ?? "(no message)"}`, details);
    });

    void exited.then((exit) => {
      if (settled) return;
      settled = true;
      cleanup();
      if (spawnError && (spawnError as NodeJS.ErrnoException).code === "ENOENT") {
        reject(
          startFailed(
            o,
            `Python interpreter not found: ${describeExecutable(o.executable)}. ` +
              "Set python.executable or SNAKEPIT_PYTHON to a Python 3.10+ with snakepit_bridge installed " +
              "(in this repository, `pnpm run setup` creates python/.venv).",
            { cause: spawnError },
          ),
        );
        return;
      }
      const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.exitCode}`;
      const hint = exit.stderrTail.some((l) => l.includes("No module named snakepit_bridge"))
        ? ` — snakepit_bridge is not installed for ${describeExecutable(o.executable)}; install it there (pip install snakepit-bridge) or point python.executable at an interpreter that has it`
        : "";
      reject(
        startFailed(o, `${how} before it was ready${hint}`, {
          exitCode: exit.exitCode,
          signal: exit.signal,
          stderrTail: exit.stderrTail,
          ...(spawnError ? { cause: spawnError } : {}),
        }),
      );
    });
  });
}

function startFailed(
  o: SpawnWorkerOptions,
  message: string,
  details: ConstructorParameters<typeof SnakepitError>[2] = {},
): SnakepitError {
  const tail = details?.stderrTail?.length ? `\n--- last lines of stderr ---\n${details.stderrTail.slice(-10).join("\n")}` : "";
  return new SnakepitError("worker_start_failed", `worker ${o.workerId} (adapter ${o.adapter}) ${message}${tail}`, {
    ...details,
    workerId: o.workerId,
    pool: o.poolName,
  });
}
