/**
 * A local worker's progress page: 8 bytes under /dev/shm where the worker keeps,
 * with a plain memory store and no syscall, the number of call frames it may have
 * begun (ADR 10). It survives the worker: after a crash or SIGKILL the pool reads
 * it, and every call sent after that number never started, so it may run
 * elsewhere. This is what lets the worker hold the replies of a burst for one
 * write instead of writing each before it starts the next call.
 *
 * Node creates the page filled with 0xFF ("unknown"): a worker that does not keep
 * one leaves it so, and the pool then falls back to ADR 6's rule. Named after the
 * worker's segment prefix, so the sweeps of shm-segments.ts also remove the pages
 * of pools killed with SIGKILL.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { endianness } from "node:os";
import { join } from "node:path";
import { SHM_DIR, segmentPrefix, sharedMemoryAvailable, unlinkSegment } from "./shm-segments.js";

/** The worker's environment variable naming the page (a file under /dev/shm). */
export const PROGRESS_ENV = "SNAKEPIT_PROGRESS";
const PAGE_BYTES = 8;

export interface ProgressPage {
  /** The file's name under /dev/shm. */
  readonly name: string;
  /** Call frames the worker may have begun; undefined if it never kept the page (or it is gone). */
  read(): number | undefined;
  remove(): void;
}

/** A fresh page for a worker about to start, or undefined where /dev/shm cannot hold one. */
export function createProgressPage(workerId: string): ProgressPage | undefined {
  if (!sharedMemoryAvailable()) return undefined;
  const name = `${segmentPrefix(workerId)}progress`;
  const path = join(SHM_DIR, name);
  try {
    writeFileSync(path, Buffer.alloc(PAGE_BYTES, 0xff), { flag: "wx", mode: 0o600 });
  } catch {
    return undefined; // /dev/shm full or not writable: the worker answers each call before the next
  }
  return {
    name,
    read() {
      let bytes: Buffer;
      try {
        bytes = readFileSync(path);
      } catch {
        return undefined;
      }
      if (bytes.length < PAGE_BYTES) return undefined;
      // The worker stores it in the host's byte order (both sides share the host).
      const begun = endianness() === "LE" ? bytes.readBigUInt64LE(0) : bytes.readBigUInt64BE(0);
      return begun === 0xffff_ffff_ffff_ffffn ? undefined : Number(begun);
    },
    remove() {
      unlinkSegment(name);
    },
  };
}
