/**
 * Shared-memory segments (files under /dev/shm) for large attachments between the
 * pool and a worker on the same host: the local transport's way around the socket
 * (worker.proto, "Shared memory").
 *
 * Node cannot map memory without a native addon, so a segment is written with one
 * write(2) (the one copy of an argument on this side) and read with one read(2)
 * into fresh memory (the one copy of a result, which also leaves it aligned).
 *
 * Every name starts with `snakepit-<this pid>-<worker>.<n>-`: the pool removes a
 * worker's leftovers when it exits, and the next pool removes those of pools that
 * died (SIGKILL leaves no chance to clean up), as it does for its socket dirs.
 */
import { closeSync, fstatSync, openSync, readSync, readdirSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { processGone } from "./runtime-dirs.js";

export const SHM_DIR = "/dev/shm";
/** The worker's environment variable that carries the offer: `<prefix>:<min bytes>`. */
export const SHM_OFFER_ENV = "SNAKEPIT_SHM";

let available: boolean | undefined;
let nextPrefix = 0;

/** True where segments work: Linux with a writable /dev/shm (checked once). */
export function sharedMemoryAvailable(): boolean {
  if (available !== undefined) return available;
  available = false;
  if (process.platform !== "linux") return available;
  try {
    available = statSync(SHM_DIR).isDirectory();
    const probe = join(SHM_DIR, `snakepit-probe-${process.pid}`);
    writeFileSync(probe, "", { flag: "w", mode: 0o600 });
    unlinkSync(probe);
  } catch {
    available = false;
  }
  return available;
}

/** A prefix of one worker's segment names, unique in this process. */
export function segmentPrefix(workerId: string): string {
  return `snakepit-${process.pid}-${workerId.replace(/[^\w.-]/g, "_")}.${(nextPrefix++).toString(36)}-`;
}

/** Create segment `name` holding `data` (one copy); throws if it exists or /dev/shm is full. */
export function writeSegment(name: string, data: Uint8Array): void {
  writeFileSync(join(SHM_DIR, name), data, { flag: "wx", mode: 0o600 });
}

/**
 * Read segment `name` (exactly `length` bytes) into fresh memory, then unlink it:
 * the reader owns what it was sent. The memory is a buffer of its own (offset 0),
 * so any typed array can view it without an alignment copy.
 */
export function takeSegment(name: string, length: number): Uint8Array {
  const path = join(SHM_DIR, name);
  try {
    const fd = openSync(path, "r");
    try {
      const size = fstatSync(fd).size;
      if (size !== length) throw new Error(`segment ${name} holds ${size} bytes, the frame says ${length}`);
      const out = new Uint8Array(new ArrayBuffer(length));
      let done = 0;
      while (done < length) {
        const n = readSync(fd, out, done, length - done, done);
        if (n === 0) throw new Error(`segment ${name} ended after ${done} of ${length} bytes`);
        done += n;
      }
      return out;
    } finally {
      closeSync(fd);
    }
  } finally {
    unlinkSegment(name);
  }
}

export function unlinkSegment(name: string): void {
  try {
    unlinkSync(join(SHM_DIR, name));
  } catch {
    /* already gone (or never made): nothing to own */
  }
}

function segmentNames(): string[] {
  try {
    return readdirSync(SHM_DIR).filter((n) => n.startsWith("snakepit-"));
  } catch {
    return [];
  }
}

/** Remove every segment whose name starts with `prefix` (one worker's, after it exited). */
export function sweepSegments(prefix: string): string[] {
  const removed = segmentNames().filter((n) => n.startsWith(prefix));
  for (const name of removed) unlinkSegment(name);
  return removed;
}

/** Remove the segments of Node processes that no longer exist (a pool killed with SIGKILL). */
export function sweepStaleSegments(): string[] {
  const removed: string[] = [];
  const gone = new Map<number, boolean>();
  for (const name of segmentNames()) {
    const m = /^snakepit-(\d+)-/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid) continue;
    let dead = gone.get(pid);
    if (dead === undefined) gone.set(pid, (dead = processGone(pid)));
    if (!dead) continue;
    unlinkSegment(name);
    removed.push(name);
  }
  return removed;
}
