/**
 * The built-in local profiles. "process": one call per Python process. "thread":
 * each Python process runs `threadsPerWorker` calls at once on its own threads.
 * Both spawn `python -m snakepit_bridge` and talk to it over two socketpairs
 * (the local transport), or, with `transport: "connect"`, over Connect-RPC on a
 * Unix socket in the pool's private directory.
 */
import { rmSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { createConnectChannel } from "./connect-channel.js";
import { createLocalChannel } from "./local-channel.js";
import { SnakepitError } from "./errors.js";
import { resolvePythonExecutable } from "./python-executable.js";
import { spawnWorker, type ReadyMessage } from "./worker-process.js";
import type { SharedMemoryOffer } from "./shm-ledger.js";
import { PROGRESS_ENV, createProgressPage } from "./progress-page.js";
import { SHM_OFFER_ENV, segmentPrefix, sharedMemoryAvailable, sweepSegments, sweepStaleSegments } from "./shm-segments.js";
import type { WorkerHandle, WorkerProfile, WorkerRuntimeInfo, WorkerStartContext } from "./worker-profile.js";

/**
 * Calls a local-transport worker may hold beyond its capacity under load (fast tools
 * only). Deep enough that the worker never runs dry between the pool's writes (8 gave
 * one worker half the calls/s of 32 with 32 in flight); calls that would wait behind a
 * call running long are withdrawn and sent to a free worker (ADR 6).
 */
const PIPELINE_DEPTH = 32;
/**
 * How long a new worker's acceptance of shared memory may take to be read. It is
 * written before the worker's handshake, so it is already in the socket: only a
 * worker that does not know the offer makes start-up wait this long.
 */
const SHM_ACCEPT_WAIT_MS = 1000;
/** How long an exited worker's lanes may take to deliver its last frames. */
const LANE_DRAIN_GRACE_MS = 500;

/** Native thread pools inside each worker default to this many threads per tool thread. */
const NATIVE_THREAD_VARS = ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"];

/** Attachments (array data, bytes) of at least this many bytes go through shared memory by default. */
export const DEFAULT_SHARED_MEMORY_MIN_BYTES = 1024 * 1024;

export interface LocalProfileOptions {
  /** Extra environment for this profile's workers (merged over python.env). */
  env?: Record<string, string>;
  /**
   * With the local transport on Linux, an attachment (an array's data, bytes) of at
   * least this many bytes travels through a shared-memory segment under /dev/shm
   * instead of the socket, both ways (results of unary calls only). `false` keeps
   * everything on the socket. Default 1 MiB.
   */
  sharedMemoryMinBytes?: number | false;
  /**
   * With the local transport on Linux, a worker given a burst of fast calls writes
   * their replies together, one write for many (ADR 10): it keeps a progress page
   * under /dev/shm so that, if it dies, the pool still knows which calls it never
   * began. `false`: no page, and each reply leaves before the next call starts.
   * Default true.
   */
  coalesceReplies?: boolean;
}

function checkProfileOptions(o: LocalProfileOptions): void {
  if (o.coalesceReplies !== undefined && typeof o.coalesceReplies !== "boolean") {
    throw new SnakepitError("invalid_config", `coalesceReplies must be true or false, got ${typeof o.coalesceReplies}`);
  }
  const min = o.sharedMemoryMinBytes;
  if (min !== undefined && min !== false && !(Number.isSafeInteger(min) && min >= 1)) {
    throw new SnakepitError(
      "invalid_config",
      `sharedMemoryMinBytes must be a positive integer (bytes) or false, got ${typeof min === "number" ? String(min) : typeof min}`,
    );
  }
}

function runtimeInfo(r: ReadyMessage): WorkerRuntimeInfo {
  return {
    pid: r.pid,
    pythonVersion: r.python_version,
    implementation: r.implementation,
    freeThreaded: r.free_threaded,
    gilEnabled: r.gil_enabled,
    threads: r.threads,
    adapter: r.adapter,
    adapterThreadSafe: r.adapter_thread_safe,
    platform: r.platform ?? process.platform,
    ...(r.memory
      ? { memoryBaseline: { rssBytes: r.memory.rss_bytes, pssBytes: r.memory.pss_bytes, ussBytes: r.memory.uss_bytes } }
      : {}),
  };
}

/** The offer for a new worker, or undefined where segments are off or cannot work. */
function sharedMemoryOffer(ctx: WorkerStartContext, minBytes: number | false | undefined): SharedMemoryOffer | undefined {
  if (ctx.options.transport !== "local" || minBytes === false || !sharedMemoryAvailable()) return undefined;
  sweepStaleSegments(); // what pools killed with SIGKILL left behind
  return { prefix: segmentPrefix(ctx.workerId), minBytes: minBytes ?? DEFAULT_SHARED_MEMORY_MIN_BYTES };
}

async function startLocalWorker(
  ctx: WorkerStartContext,
  threads: number,
  extraEnv: Record<string, string>,
  profileOptions: LocalProfileOptions,
): Promise<WorkerHandle> {
  const { options } = ctx;
  const shm = sharedMemoryOffer(ctx, profileOptions.sharedMemoryMinBytes);
  // Lets the worker hold a burst's replies for one write and still say, if it dies, which calls it never began.
  const progress = options.transport === "local" && profileOptions.coalesceReplies !== false ? createProgressPage(ctx.workerId) : undefined;
  const socketName = `${ctx.workerId.replace(/[^\w.-]/g, "_")}.sock`;
  const executable = resolvePythonExecutable(options.python.executable, options.python.cwd);
  const socketPath = options.transport === "local" ? undefined : join(ctx.runtimeDir, socketName);
  const spawned = await spawnWorker({
    workerId: ctx.workerId,
    poolName: ctx.poolName,
    executable,
    adapter: options.python.adapter,
    listen: socketPath === undefined ? undefined : `unix:${socketPath}`,
    threads,
    maxMessageBytes: options.maxPayloadBytes,
    cwd: options.python.cwd,
    env: {
      ...extraEnv,
      ...(options.python.env ?? {}),
      ...(shm ? { [SHM_OFFER_ENV]: `${shm.prefix}:${shm.minBytes}` } : {}),
      ...(progress ? { [PROGRESS_ENV]: progress.name } : {}),
    },
    interpreterArgs: options.python.args ?? [],
    startTimeoutMs: options.startTimeoutMs,
    signal: ctx.signal,
    onOutput: (stream, line) => ctx.onOutput(stream, line),
  }).catch((err: unknown) => {
    progress?.remove();
    throw err;
  });
  const info = runtimeInfo(spawned.ready);
  for (const warning of spawned.ready.warnings ?? []) ctx.logger.warn(warning, { workerId: ctx.workerId, pool: ctx.poolName });
  const local = spawned.lanes
    ? createLocalChannel({
        ...spawned.lanes,
        maxMessageBytes: options.maxPayloadBytes,
        ...(shm ? { sharedMemory: shm } : {}),
        ...(progress ? { progress } : {}),
      })
    : undefined;
  const channel = local ?? createConnectChannel({ address: spawned.ready.address, maxMessageBytes: options.maxPayloadBytes });
  // The exit is reported once the lanes have delivered what the worker wrote before
  // it ended (bounded): only then can the pool tell which calls it never started.
  // Its segments go with it (a crash, kill -9 or recycle leaves none), before the pool hears of the exit.
  const exited = local
    ? spawned.exited.then(async (exit) => {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([local.drained, new Promise<void>((r) => (timer = setTimeout(r, LANE_DRAIN_GRACE_MS)))]);
        clearTimeout(timer);
        if (shm) sweepSegments(shm.prefix);
        progress?.remove();
        return exit;
      })
    : spawned.exited;
  if (local && shm) {
    // So the first call can use segments already.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([local.sharedMemoryAccepted, new Promise<void>((r) => (timer = setTimeout(r, SHM_ACCEPT_WAIT_MS)))]);
    clearTimeout(timer);
  }
  let killed = false;
  const kill = () => {
    if (killed) return;
    killed = true;
    spawned.expectExit();
    spawned.signalGroup("SIGKILL");
    channel.close();
  };
  // (spawnWorker also ends what the worker left behind in its process group.)
  // A worker killed with SIGKILL cannot remove its socket: the pool does, so a live
  // pool does not gather the sockets of crashed workers.
  void exited.then(() => {
    channel.close();
    if (socketPath !== undefined) rmSync(socketPath, { force: true });
  });
  return {
    id: ctx.workerId,
    pid: spawned.pid,
    capacity: threads,
    // One tool slot on in-order lanes: calls sent beyond it wait in the worker, in
    // order, and can be withdrawn until they start (ADR 6). Not with several threads,
    // where the order in which waiting calls start is not the order they were sent.
    pipelineDepth: local && threads === 1 ? PIPELINE_DEPTH : 0,
    ...(local ? { neverStarted: (callId: string) => local.neverStarted(callId) } : {}),
    info,
    channel,
    exited,
    async stop({ timeoutMs }) {
      spawned.expectExit();
      // SIGTERM: the worker stops taking calls, lets running ones finish, exits.
      spawned.signalGroup("SIGTERM");
      const timer = setTimeout(kill, timeoutMs);
      try {
        await exited; // as the pool sees it: lanes drained too
      } finally {
        clearTimeout(timer);
        channel.close();
      }
    },
    kill,
  };
}

/** One Python process per concurrent call: for code that is not thread-safe, and pure-Python CPU work. */
export function processProfile(profileOptions: LocalProfileOptions = {}): WorkerProfile {
  checkProfileOptions(profileOptions);
  return {
    name: "process",
    startWorker(ctx) {
      // Each worker's native thread pools get its share of the cores (size workers each
      // starting one thread per core would oversubscribe them: with 32 calls in flight a
      // 1-row sklearn predict cost 0.36 ms of worker CPU with them, 0.25 ms at 1 thread).
      const share = String(Math.max(1, Math.floor(availableParallelism() / ctx.options.size)));
      return startLocalWorker(ctx, 1, { ...nativeThreadCaps(share), ...(profileOptions.env ?? {}) }, profileOptions);
    },
  };
}

/** The native thread pool variables, at `value` each unless this process's environment sets them. */
function nativeThreadCaps(value: string): Record<string, string> {
  return Object.fromEntries(NATIVE_THREAD_VARS.map((k) => [k, process.env[k] ?? value]));
}

/** Few Python processes, each running threadsPerWorker calls at once. */
export function threadProfile(profileOptions: LocalProfileOptions = {}): WorkerProfile {
  checkProfileOptions(profileOptions);
  return {
    name: "thread",
    async startWorker(ctx) {
      const threads = ctx.options.threadsPerWorker;
      // Each tool thread gets one native thread, so threads x BLAS threads cannot
      // oversubscribe the cores; python.env or the profile's env override this.
      const handle = await startLocalWorker(ctx, threads, { ...nativeThreadCaps("1"), ...(profileOptions.env ?? {}) }, profileOptions);
      if (!handle.info.adapterThreadSafe && !ctx.options.allowUnsafeAdapters) {
        handle.kill();
        await handle.exited;
        throw new SnakepitError(
          "worker_start_failed",
          `adapter ${ctx.options.python.adapter} does not declare itself thread-safe, so the thread profile will not run it. ` +
            "Make it a ThreadSafeAdapter (or set thread_safe = True) once its tools are safe to run concurrently, " +
            "use the process profile, or create the pool with allowUnsafeAdapters: true.",
          { workerId: ctx.workerId, pool: ctx.poolName },
        );
      }
      return handle;
    },
  };
}
