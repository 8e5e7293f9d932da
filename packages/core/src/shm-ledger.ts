/**
 * One local channel's use of shared memory: which attachments go into segments,
 * the segments its calls own, and taking over the segments a worker's result
 * names. Inert until the worker accepts the offer (its shared_memory_ready frame).
 */
import { countSharedSegment } from "./ndarray.js";
import type { Outcome, SharedRef } from "./local-frames.js";
import { takeSegment, unlinkSegment, writeSegment } from "./shm-segments.js";

/** What the pool offers a worker: its segment-name prefix and the smallest attachment worth a segment. */
export interface SharedMemoryOffer {
  readonly prefix: string;
  readonly minBytes: number;
}

export interface PlacedAttachments {
  /** The attachments to put in the frame (empty where a segment holds the bytes). */
  readonly attachments: readonly Uint8Array[];
  readonly shared: readonly SharedRef[];
  /** The segments made: the call's to unlink when it settles. */
  readonly names: string[];
}

export interface SegmentLedger {
  /** The worker accepted: segments are used from now on (if the prefix is the one offered; returns whether). */
  accept(prefix: string, minBytes: number): boolean;
  /** Move attachments of at least minBytes into new segments (inline if a segment cannot be made). */
  place(attachments: readonly Uint8Array[]): PlacedAttachments;
  /** Unlink segments made by place(). */
  release(names: readonly string[]): void;
  /**
   * Read the segments a worker's payload names into its attachments and unlink
   * them. Every named segment is unlinked even when one does not fit (then it throws).
   */
  take(shared: readonly SharedRef[], outcome: Outcome): void;
}

const EMPTY = new Uint8Array(0);

export function createSegmentLedger(offer: SharedMemoryOffer | undefined): SegmentLedger {
  let minBytes = Infinity; // nothing goes into a segment before the worker accepts
  let next = 0;
  return {
    accept(prefix, workerMin) {
      if (!offer || prefix !== offer.prefix) return false;
      minBytes = Math.max(offer.minBytes, workerMin, 1);
      return true;
    },
    place(attachments) {
      let out: Uint8Array[] | undefined;
      const shared: SharedRef[] = [];
      const names: string[] = [];
      for (let i = 0; i < attachments.length; i++) {
        const a = attachments[i]!;
        if (a.byteLength < minBytes) continue;
        const name = `${offer!.prefix}a${(next++).toString(36)}`;
        try {
          writeSegment(name, a);
        } catch {
          unlinkSegment(name); // a partial write (e.g. /dev/shm full): this one travels inline
          continue;
        }
        out ??= [...attachments];
        out[i] = EMPTY;
        shared.push({ index: i, name, length: a.byteLength });
        names.push(name);
        countSharedSegment("sent", a.byteLength);
      }
      return { attachments: out ?? attachments, shared, names };
    },
    release(names) {
      for (const name of names) unlinkSegment(name);
    },
    take(shared, outcome) {
      let problem: string | undefined = outcome.case === "payload" ? undefined : "segments came with an error, not a payload";
      const attachments = outcome.case === "payload" ? outcome.attachments : [];
      for (const ref of shared) {
        const okName = offer !== undefined && ref.name.startsWith(offer.prefix) && !ref.name.includes("/");
        if (!okName) {
          problem ??= `segment name ${JSON.stringify(ref.name)} is not one of this worker's`;
          continue; // never touch a file that is not ours
        }
        if (problem !== undefined || attachments[ref.index]?.byteLength !== 0) {
          problem ??= `segment ${ref.name} names attachment ${ref.index}, which is not an empty slot`;
          unlinkSegment(ref.name);
          continue;
        }
        try {
          attachments[ref.index] = takeSegment(ref.name, ref.length);
          countSharedSegment("received", ref.length);
        } catch (err) {
          problem ??= (err as Error).message;
        }
      }
      if (problem !== undefined) throw new Error(problem);
    },
  };
}
