/**
 * One lane of the local transport: length-prefixed frames (4 bytes, big-endian)
 * on a stream socket, in both directions.
 *
 * Frames written in one tick leave in one write: the first write of a tick corks
 * the socket and a microtask uncorks it, so a burst of calls costs one syscall
 * and wakes the worker once.
 */
import type { Duplex } from "node:stream";

export interface FrameLane {
  /** Queue one frame (already length-prefixed; or as parts, written in order, not joined) for this tick's write. */
  send(frame: Uint8Array | readonly Uint8Array[]): void;
  /** True once the socket closed or failed; send() is then a no-op. */
  readonly closed: boolean;
  destroy(): void;
}

export interface FrameLaneOptions {
  socket: Duplex;
  /** Largest frame body accepted from the worker, in bytes. */
  maxFrameBytes: number;
  /** One frame body, without its length prefix (a view: copy it to keep it past this call). */
  onFrame(body: Uint8Array): void;
  /**
   * The lane ended: the socket closed, failed, or the worker broke the protocol.
   * `byPeer`: the worker's end closed or failed (not this side's destroy or refusal).
   */
  onClose(reason: string, byPeer: boolean): void;
}

export function createFrameLane(o: FrameLaneOptions): FrameLane {
  const { socket } = o;
  let closed = false;
  let corked = false;
  let chunks: Buffer[] = [];
  let buffered = 0;
  let bodyLength = -1; // -1 while waiting for a header

  const end = (reason: string, byPeer: boolean) => {
    if (closed) return;
    closed = true;
    o.onClose(reason, byPeer);
  };

  function take(n: number): Buffer {
    // Usually the whole frame sits in the first chunk: no copy then.
    const first = chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) chunks.shift();
      else chunks[0] = first.subarray(n);
      buffered -= n;
      return out;
    }
    const all = Buffer.concat(chunks, buffered);
    chunks = all.length > n ? [all.subarray(n)] : [];
    buffered -= n;
    return all.subarray(0, n);
  }

  socket.on("data", (data: Buffer) => {
    chunks.push(data);
    buffered += data.length;
    for (;;) {
      if (bodyLength < 0) {
        if (buffered < 4) return;
        bodyLength = take(4).readUInt32BE(0);
        if (bodyLength > o.maxFrameBytes) {
          end(`the worker sent a frame of ${bodyLength} bytes, over the limit of ${o.maxFrameBytes}`, false);
          socket.destroy();
          return;
        }
      }
      if (buffered < bodyLength) return;
      const body = take(bodyLength);
      bodyLength = -1;
      // A plain Uint8Array view, so bytes fields decode as Uint8Array, not Buffer.
      o.onFrame(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
      if (closed) return;
    }
  });
  socket.on("close", () => end("the worker's socket closed", true));
  socket.on("error", (err) => end(`the worker's socket failed: ${err.message}`, true));

  const uncork = () => {
    corked = false;
    socket.uncork();
  };

  return {
    send(frame) {
      if (closed) return;
      if (!corked) {
        corked = true;
        socket.cork();
        queueMicrotask(uncork);
      }
      if (frame instanceof Uint8Array) socket.write(frame);
      else for (const part of frame) if (part.byteLength) socket.write(part);
    },
    get closed() {
      return closed;
    },
    destroy() {
      end("the channel was closed", false);
      socket.destroy();
    },
  };
}
