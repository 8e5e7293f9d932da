/**
 * Spawns one Python worker process and waits for its readiness handshake.
 *
 * The child gets its descriptors by number: 0 is the parent watch (the worker
 * exits when it closes, which the kernel does even after `kill -9` of Node), 1
 * and 2 are the user's output (logged line by line), 3 carries the one-line
 * JSON handshake, so nothing a tool prints can be mistaken for protocol, and 4
 * and 5 are the local transport's data and control lanes (socketpairs). A
 * worker for the Connect transport gets `--listen` instead of 4 and 5. The
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
  /**
   * Where the worker's network server listens, e.g. "unix:/tmp/snakepit-x/w1.sock";
   * undefined for the local transport (socketpairs, no listening socket).
   */
  readonly listen: string | undefined;
  readonly threads: number;
  readonly maxMessageBytes: number;
  readonly cwd?: string | undefined;
  readonly env: Record<string, string>;
  readonly interpreterArgs: readonly string[];
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
  /** The worker's memory after its adapter's setup(), before its first call. */
  memory?: { rss_bytes: number; pss_bytes: number; uss_bytes: number };
}

interface FailedMessage {
  ready: false;
  error: {
    phase?: string;
    type?: string;
    message?: string;
    traceback?: string;
    /** For an import failure: the module that was not found, and the worker's sys.path. */
    module?: string;
    sys_path?: string[];
  };
}

export interface SpawnedWorker {
  readonly child: ChildProcess;
  /** The pool's ends of the local transport's lanes; undefined with `listen`. */
  readonly lanes: { readonly data: Duplex; readonly control: Duplex } | undefined;
  readonly pid: number;
  readonly ready: ReadyMessage;
  /**
   * Settles when the process has exited, and its output has drained or a short
   * grace has passed (a process it forked may hold the pipes open: the exit
   * must not wait for that).
   */
  readonly exited: Promise<WorkerExit>;
  /** Mark the coming exit as asked for (not a crash). */
  expectExit(): void;
  /** Signal the whole process group; ignores a group that is already gone. */
  signalGroup(signal: NodeJS.Signals): void;
}

const STDERR_TAIL_LINES = 40;
/** How long an exited worker's output may take to drain before the exit is reported. */
const OUTPUT_DRAIN_GRACE_MS = 200;

export function spawnWorker(o: SpawnWorkerOptions): Promise<SpawnedWorker> {
  const args = [
    ...o.interpreterArgs,
    "-m",
    "snakepit_bridge",
    "--adapter",
    o.adapter,
    "--threads",
    String(o.threads),
    "--handshake-fd",
    "3",
    "--max-message-bytes",
    String(o.maxMessageBytes),
    "--worker-id",
    o.workerId,
    ...(o.listen === undefined ? ["--data-fd", "4", "--control-lane-fd", "5"] : ["--listen", o.listen]),
  ];
  const local = o.listen === undefined;
  let child: ChildProcess;
  try {
    child = spawn(o.executable.path, args, {
      cwd: o.cwd,
      env: { ...process.env, ...o.env, PYTHONUNBUFFERED: "1" },
      // 0: parent watch, 1/2: output, 3: handshake, 4/5: data and control lanes
      // ("pipe" beyond fd 2 is a Unix socketpair in Node).
      stdio: local ? ["pipe", "pipe", "pipe", "pipe", "pipe", "pipe"] : ["pipe", "pipe", "pipe", "pipe"],
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
    // "exit", not "close": "close" waits until every copy of the pipes is closed,
    // which a process the worker forked can delay without end.
    let exitSeen = false;
    child.once("exit", (exitCode, signal) => {
      exitSeen = true;
      signalGroup("SIGKILL"); // what it started goes with it, and lets go of the pipes
      let grace: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(grace);
        resolve({ exitCode, signal, stderrTail: [...stderrTail], expected });
      };
      grace = setTimeout(done, OUTPUT_DRAIN_GRACE_MS);
      void outputDone.then(done);
    });
    // A spawn that failed (ENOENT) emits "error" and "close" but no "exit".
    child.once("close", (exitCode, signal) => {
      if (!exitSeen) resolve({ exitCode, signal, stderrTail: [...stderrTail], expected });
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
        const stdio = child.stdio as unknown as Array<Duplex>;
        const lanes = local ? { data: stdio[4]!, control: stdio[5]! } : undefined;
        resolve({ child, lanes, pid: msg.pid, ready: msg, exited, expectExit: () => void (expected = true), signalGroup });
        return;
      }
      const e = msg.error ?? {};
      const where = e.phase ? ` (${e.phase.replace(/_/g, " ")})` : "";
      const details: { pythonType?: string; traceback?: string } = {};
      if (e.type) details.pythonType = e.type;
      if (e.traceback) details.traceback = e.traceback;
      fail(`failed to start${where}: ${e.type ?? "Error"}: ${e.message ?? "(no message)"}${moduleNotFoundHint(o, e)}`, details);
    });

    void exited.then((exit) => {
      if (settled) return;
      settled = true;
      cleanup();
      if (spawnError && (spawnError as NodeJS.ErrnoException).code === "ENOENT") {
        reject(
          startFailed(
            o,
            `could not start: Python interpreter not found: ${describeExecutable(o.executable)}. ` +
              "Make a venv with snakepit_bridge next to the app (`npx -p @snakepit/diagnostics snakepit python setup`), " +
              "or set python.executable or SNAKEPIT_PYTHON to a Python 3.10+ that has it " +
              "(in the Snakepit repository, `pnpm run setup` creates python/.venv).",
            { cause: spawnError },
          ),
        );
        return;
      }
      const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.exitCode}`;
      const hint = exit.stderrTail.some((l) => l.includes("No module named snakepit_bridge"))
        ? ` — snakepit_bridge is not installed for ${describeExecutable(o.executable)}. ` +
          `Install it there with \`npx -p @snakepit/diagnostics snakepit python setup --python ${o.executable.path}\` ` +
          "(the bridge ships inside @snakepit/core), or make a venv that has it with " +
          "`npx -p @snakepit/diagnostics snakepit python setup --venv .venv` and point python.executable (or SNAKEPIT_PYTHON) at it"
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

/**
 * For a module the adapter import did not find: where the worker looked. A missing
 * adapter module is a path problem (python.cwd, PYTHONPATH); a missing module the
 * adapter imports is a package to install for the interpreter. On a line of its
 * own, so the first line stays the Python error.
 */
function moduleNotFoundHint(o: SpawnWorkerOptions, e: FailedMessage["error"]): string {
  if (e.type !== "ModuleNotFoundError" || e.phase !== "import_adapter") return "";
  const adapterModule = o.adapter.split(":")[0] ?? o.adapter;
  const missing = e.module ?? /No module named '([^']+)'/.exec(e.message ?? "")?.[1];
  const isAdapterPath = missing !== undefined && (adapterModule === missing || adapterModule.startsWith(`${missing}.`));
  const cwd = o.cwd === undefined ? `${process.cwd()} (Node's working directory; python.cwd is not set)` : o.cwd;
  const pythonPath = o.env["PYTHONPATH"] ?? process.env["PYTHONPATH"];
  const searched = e.sys_path?.length ? `; the worker searched ${e.sys_path.map((p) => p || "(cwd)").join(", ")}` : "";
  if (!isAdapterPath) {
    return (
      `\nThe adapter imports '${missing ?? "a module"}', which is not installed for ${describeExecutable(o.executable)}: ` +
      `install it there${searched}`
    );
  }
  return (
    `\nAdapter modules are imported from the worker's working directory, python.cwd = ${cwd}, ` +
    `then PYTHONPATH (${pythonPath ? pythonPath : "not set"}) and the interpreter's own paths${searched}. ` +
    "Set python.cwd to the directory that holds the module, or add that directory to python.env.PYTHONPATH"
  );
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
