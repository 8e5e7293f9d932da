/**
 * The pools' private socket directories, created only when a worker needs one (a
 * Connect-transport worker listening on a Unix socket; local-transport workers use
 * socketpairs and never ask, so their pools create no directory at all).
 *
 * A pool removes its own at close; an exit hook also removes them when Node exits
 * without closing its pools (process.exit, an uncaught exception). Nothing in a
 * process killed with SIGKILL runs, so a directory can outlive such a process: its
 * name carries the pid of the Node process that made it, and the next directory
 * this user creates removes those whose process is gone.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const PREFIX = "snakepit-";
const live = new Set<string>();
let hooked = false;

function removeAllNow(): void {
  for (const dir of live) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      /* best effort while exiting */
    }
  }
  live.clear();
}

/** True when no process has this pid (it may be another user's: that counts as alive). */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/**
 * Removes `snakepit-<pid>-*` directories of this user whose Node process no longer
 * exists (left by a SIGKILL). Best effort: anything unexpected is left alone.
 */
export function sweepStaleRuntimeDirs(base: string = tmpdir()): string[] {
  const removed: string[] = [];
  const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = /^snakepit-(\d+)-[A-Za-z0-9]{6}$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || !processGone(pid)) continue;
    const dir = join(base, name);
    try {
      const st = statSync(dir);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      /* raced with another sweep, or not ours: leave it */
    }
  }
  return removed;
}

/** A new private (0700) directory for one pool's sockets. */
export function createRuntimeDirSync(): string {
  sweepStaleRuntimeDirs();
  const dir = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`));
  live.add(dir);
  if (!hooked) {
    hooked = true;
    process.once("exit", removeAllNow);
  }
  return dir;
}

/** A new private (0700) directory for one pool's sockets. */
export async function createRuntimeDir(): Promise<string> {
  return createRuntimeDirSync();
}

export async function removeRuntimeDir(dir: string): Promise<void> {
  live.delete(dir);
  await rm(dir, { recursive: true, force: true });
}

/** One pool's directory, made on first use of `path`. */
export interface LazyRuntimeDir {
  /** The directory; created (mode 0700) the first time this is read. */
  readonly path: string;
  /** The directory if it has been created, else undefined. */
  readonly created: string | undefined;
  /** Removes it if it was created; a later read of `path` makes a new one. */
  remove(): Promise<void>;
}

export function lazyRuntimeDir(): LazyRuntimeDir {
  let dir: string | undefined;
  return {
    get path() {
      dir ??= createRuntimeDirSync();
      return dir;
    },
    get created() {
      return dir;
    },
    async remove() {
      const d = dir;
      dir = undefined;
      if (d) await removeRuntimeDir(d);
    },
  };
}
