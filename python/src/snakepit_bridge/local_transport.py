"""The local transport: every WorkerService message as DataFrames on two socketpairs.

A worker the pool spawns gets two socket fds (see the end of worker.proto):

* the data lane (``--data-fd``): execute, stream and credit in; result, chunk and
  end out;
* the control lane (``--control-lane-fd``): cancel, describe, health and drain
  in, each answered with its ``*_reply`` under the frame's call_id. It has a
  reader thread of its own, so it is answered while every tool slot is busy.

Threading on the data lane: one reader thread owns the socket's read side. With
one tool slot (the process profile) it runs a unary call itself, inline, so a
call costs no thread switch. Each reply leaves before the next call starts, so
when a worker dies the pool knows which of the calls it had sent never started
(all after the first unanswered one) and sends them elsewhere. Streams, and every call when there are several slots, run
on a small executor so the reader stays free to take credits.

EOF on either lane means the pool is gone: the worker stops serving.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import call_context, errors, shm, wire
from .frame_parts import frame_parts
from ._proto import worker_pb2
from .engine import Engine

log = logging.getLogger("snakepit_bridge")

_HEADER = struct.Struct(">I")
# Chunks a stream may have in flight before the pool acknowledges them.
STREAM_WINDOW = 16
# Room for the envelope around a maximal payload (framing, the other fields).
FRAME_HEADROOM_BYTES = 1024 * 1024
# Replies from this size on leave as parts of one gather write, their attachments aligned.
GATHER_MIN_BYTES = 64 * 1024
# The most buffers one sendmsg takes (Linux's IOV_MAX).
_IOV_MAX = 1024
# How long close() waits for a control reply being written (e.g. drain's).
_REPLY_GRACE_S = 0.5

# DataFrame field numbers of the replies (worker.proto).
_RESULT = wire.DF_RESULT
_CHUNK = wire.DF_CHUNK
_END = wire.DF_END
_CANCEL_REPLY = 12
_DESCRIBE_REPLY = 13
_HEALTH_REPLY = 14
_DRAIN_REPLY = 15
# The first byte of a CallResponse whose outcome is a result (field 1, length-delimited).
_RESULT_PAYLOAD_TAG = b"\x0a"
# The tag of DataFrame.shared (field 17, length-delimited), which the pool writes first.
_SHARED_FIRST = b"\x8a\x01"


class _Credits:
    """Flow control for one stream: how many more chunks the pool will take."""

    def __init__(self, window: int) -> None:
        self._available = window
        self._cond = threading.Condition()
        self._closed = False

    def add(self, n: int) -> None:
        with self._cond:
            self._available += n
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def take(self, cancelled: Callable[[], bool]) -> bool:
        """Wait for one credit; False if the stream was closed or cancelled meanwhile."""
        with self._cond:
            while self._available <= 0 and not self._closed:
                if cancelled():
                    return False
                self._cond.wait(0.05)
            if self._closed:
                return False
            self._available -= 1
            return True


class _Lane:
    """One socket: frames in (an iterator), frames out (whole writes under a lock)."""

    def __init__(self, fd: int, max_frame: int) -> None:
        self.sock = socket.socket(fileno=fd)
        self.sock.setblocking(True)
        self.max_frame = max_frame
        self._write_lock = threading.Lock()

    def send(self, data: bytes) -> bool:
        """Write one whole frame; False if it could not be written."""
        try:
            with self._write_lock:
                self.sock.sendall(data)
            return True
        except OSError:
            return False  # the pool is gone: the reader sees EOF and stops the worker

    def send_parts(self, parts: list[Any]) -> bool:
        """Write one frame given as parts, without joining them (sendmsg); False if it failed."""
        views = [memoryview(p).cast("B") for p in parts if len(p)]
        i = 0
        try:
            with self._write_lock:
                while i < len(views):
                    sent = self.sock.sendmsg(views[i : i + _IOV_MAX])
                    while sent and i < len(views):
                        if sent >= len(views[i]):
                            sent -= len(views[i])
                            i += 1
                        else:
                            views[i] = views[i][sent:]
                            sent = 0
            return True
        except OSError:
            return False

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def release(self) -> None:
        """Close the fd once no write is under way (a stuck write keeps it, rather than risk reuse)."""
        if self._write_lock.acquire(timeout=1.0):
            try:
                self.sock.close()
            finally:
                self._write_lock.release()

    def frames(self) -> Iterator[tuple[bytes, bool]]:
        """Each frame's bytes, and whether another whole frame is already buffered."""
        buf = bytearray()
        chunk = bytearray(256 * 1024)
        view = memoryview(chunk)
        recv = self.sock.recv_into
        while True:
            # Parse every complete frame already buffered before reading again.
            while len(buf) >= 4:
                (length,) = _HEADER.unpack_from(buf, 0)
                if length > self.max_frame:
                    raise ValueError(f"frame of {length} bytes is over the limit of {self.max_frame}")
                if len(buf) < 4 + length:
                    if length > len(chunk):  # a large frame: read the rest straight into place
                        yield self._read_large(buf, length), False
                        continue
                    break
                data = bytes(buf[4 : 4 + length])
                del buf[: 4 + length]
                yield data, len(buf) >= 4 and len(buf) >= 4 + _HEADER.unpack_from(buf, 0)[0]
            n = recv(view)
            if n == 0:
                return  # the pool closed its end
            buf += view[:n]

    def _read_large(self, buf: bytearray, length: int) -> bytes | bytearray:
        """A frame of ``length`` bytes whose start is in ``buf`` (emptied), the rest read into place.

        The socket writes straight into the frame's own buffer: no joining of reads. protobuf
        (upb) parses a bytearray as it is; the hand decoder (pure-Python protobuf) wants bytes.
        """
        out = bytearray(length)
        view = memoryview(out)
        got = len(buf) - 4
        view[:got] = memoryview(buf)[4:]
        del buf[:]
        while got < length:
            k = self.sock.recv_into(view[got:])
            if k == 0:
                raise EOFError("the pool closed the socket mid-frame")
            got += k
        view.release()
        return bytes(out) if wire.HAND_DECODE else out


class LocalTransport:
    """Serves the data and control lanes until either closes (then calls ``on_lost``)."""

    def __init__(
        self,
        engine: Engine,
        data_fd: int,
        control_fd: int,
        *,
        on_lost: Callable[[str], None] | None = None,
    ) -> None:
        self.engine = engine
        max_frame = engine.max_message_bytes + FRAME_HEADROOM_BYTES
        self.data = _Lane(data_fd, max_frame)
        self.control = _Lane(control_fd, max_frame)
        self.threads = engine.threads
        self._on_lost = on_lost
        self._closing = False
        # Streams always run off the reader; with several slots, unary calls do too.
        self._executor = ThreadPoolExecutor(max_workers=self.threads + 1, thread_name_prefix="snakepit-local")
        self._credits: dict[str, _Credits] = {}
        self._credits_lock = threading.Lock()
        # Held while the control reader handles a frame, so close() lets its reply out.
        self._control_busy = threading.Lock()
        # Calls whose reply is not written yet: close() lets them out (bounded) too.
        self._pending = 0
        self._pending_lock = threading.Lock()
        self._no_pending = threading.Event()
        # The pool's offer of shared memory (SNAKEPIT_SHM), if this worker can take it up.
        self.shm = shm.SharedMemory.from_env()
        self._writers = threading.local()  # one ResultSegments per thread that runs unary calls
        os.environ.pop(shm.OFFER_ENV, None)  # not inherited by what tools start
        self._readers = [
            threading.Thread(target=self._read, args=(self.data, self._serve_data), name="snakepit-data-lane", daemon=True),
            threading.Thread(target=self._read, args=(self.control, self._serve_control), name="snakepit-control-lane", daemon=True),
        ]

    def start(self) -> None:
        if self.shm is not None:
            # The first frame on the data lane: the pool may send segments from now on.
            ready = worker_pb2.DataFrame(
                shared_memory_ready=worker_pb2.SharedMemoryReady(prefix=self.shm.prefix, min_bytes=self.shm.min_bytes)
            ).SerializeToString()
            self.data.send(_HEADER.pack(len(ready)) + ready)
        for reader in self._readers:
            reader.start()

    def close(self) -> None:
        """Stop serving; a control reply being written (drain's) still goes out."""
        with self._pending_lock:
            self._closing = True
            if self._pending == 0:
                self._no_pending.set()
        self._no_pending.wait(_REPLY_GRACE_S)
        if self._control_busy.acquire(timeout=_REPLY_GRACE_S):
            self._control_busy.release()
        with self._credits_lock:
            streams = list(self._credits.values())
        for credits in streams:
            credits.close()
        self.data.close()
        self.control.close()
        self._executor.shutdown(wait=False, cancel_futures=True)
        if self.shm is not None:
            self.shm.close()

    # ---- reading ------------------------------------------------------------------

    def _read(self, lane: _Lane, serve: Callable[[_Lane], None]) -> None:
        """A lane's reader thread: nothing may escape it unnoticed."""
        reason = "eof"
        try:
            serve(lane)
        except BaseException as exc:  # noqa: BLE001 - a broken frame means a broken peer
            if not self._closing:
                log.error("local transport stopped: %r", exc, exc_info=exc)
            reason = f"broken frame: {exc!r}"
        finally:
            lane.release()  # here, by the only reader: no other thread is in a recv on it
            if self.shm is not None:
                # Either lane ending means the pool is gone or done with this worker: no
                # segment of this prefix outlives it (mappings in use stay valid).
                self.shm.close(pool_gone=True)
        if not self._closing and self._on_lost is not None:
            self._on_lost(reason)

    def _serve_data(self, lane: _Lane) -> None:
        decode = wire.decode_data_frame
        for data, _more in lane.frames():
            # A frame naming segments starts with them (worker.proto): protobuf reads it,
            # cheaply, since its large attachments are in the segments.
            frame = decode(data) if data[:2] != _SHARED_FIRST else _decode_with_segments(data)
            try:
                self._dispatch_data(frame)
            except BaseException as exc:  # noqa: BLE001 - one bad frame must not stop the lane
                log.error("could not serve a %s frame for call %r", frame.kind, frame.call_id, exc_info=exc)

    def _dispatch_data(self, frame: wire.DataFrame) -> None:
        kind = frame.kind
        if kind == "execute" or kind == "stream":
            with self._pending_lock:
                self._pending += 1
            if type(frame.body) is _Unmapped:
                try:
                    frame.body = self._map_shared(frame.body)
                except shm.SegmentError as exc:
                    self._refuse(frame.call_id, kind, str(exc))
                    return
        if kind == "execute":
            # Inline on the reader only when no stream runs: a stream holding the one
            # slot would wait for credits that this thread must read.
            if self.threads == 1 and not self._credits:
                # The reply leaves before the next call starts (no holding of replies):
                # if this worker dies, the pool knows exactly which calls never started
                # (all but the first unanswered one) and sends those elsewhere.
                self._run_unary(frame.call_id, frame.body)
                self._replied()
            else:
                self._executor.submit(self._execute, frame.call_id, frame.body)
        elif kind == "stream":
            credits = _Credits(STREAM_WINDOW)
            with self._credits_lock:
                self._credits[frame.call_id] = credits
            self._executor.submit(self._stream, frame.call_id, frame.body, credits)
        elif kind == "credit":
            credits_for = self._credits.get(frame.call_id)
            if credits_for is not None:
                credits_for.add(frame.body.chunks)
        elif kind == "cancel":  # also accepted here; the control lane is where it belongs
            self._cancel_quietly(frame.call_id, call_context.CLIENT_CANCELLED)
        else:
            log.warning("ignoring a %s frame on the data lane", kind)

    def _serve_control(self, lane: _Lane) -> None:
        for data, _more in lane.frames():
            frame = worker_pb2.DataFrame.FromString(data)
            with self._control_busy:
                try:
                    self._dispatch_control(frame)
                except BaseException as exc:  # noqa: BLE001 - one bad frame must not stop the lane
                    log.error("could not serve a control frame for %r", frame.call_id, exc_info=exc)

    def _dispatch_control(self, frame: worker_pb2.DataFrame) -> None:
        kind = frame.WhichOneof("kind")
        call_id = frame.call_id
        if kind == "health":
            self.control.send(_frame(call_id, _HEALTH_REPLY, self.engine.health().SerializeToString()))
        elif kind == "cancel" and frame.cancel.withdraw:
            withdrawn = self.engine.tracker.withdraw(call_id)
            reply = worker_pb2.CancelResponse(found=not withdrawn, finished=withdrawn, withdrawn=withdrawn)
            self.control.send(_frame(call_id, _CANCEL_REPLY, reply.SerializeToString()))
        elif kind == "cancel":
            self._cancel(call_id, frame.cancel.wait_ms)
        elif kind == "describe":
            self.control.send(_frame(call_id, _DESCRIBE_REPLY, self.engine.describe().SerializeToString()))
        elif kind == "drain":
            reply = self.engine.drain(frame.drain.timeout_ms)
            self.control.send(_frame(call_id, _DRAIN_REPLY, reply.SerializeToString()))
        else:
            log.warning("ignoring a %s frame on the control lane", kind)

    def _replied(self, n: int = 1) -> None:
        with self._pending_lock:
            self._pending -= n
            if self._closing and self._pending == 0:
                self._no_pending.set()

    # ---- cancellation -------------------------------------------------------------

    def _cancel(self, call_id: str, wait_ms: int) -> None:
        """Cancel, then answer once the call ended or ``wait_ms`` passed, off this thread."""
        reply = self.engine.cancel(call_id, 0.0)
        self._close_credits(call_id)
        if reply.finished or wait_ms == 0:
            self.control.send(_frame(call_id, _CANCEL_REPLY, reply.SerializeToString()))
            return

        def wait_then_reply() -> None:
            finished = self.engine.wait_finished(call_id, wait_ms / 1000.0)
            done = worker_pb2.CancelResponse(found=True, finished=finished)
            self.control.send(_frame(call_id, _CANCEL_REPLY, done.SerializeToString()))

        # Rare (a call that does not stop at once), so a thread of its own is cheap enough.
        threading.Thread(target=wait_then_reply, name="snakepit-cancel-wait", daemon=True).start()

    def _cancel_quietly(self, call_id: str, reason: str) -> None:
        self.engine.tracker.cancel(call_id, reason)
        self._close_credits(call_id)

    def _close_credits(self, call_id: str) -> None:
        # A cancelled stream must not leave its thread waiting for credit.
        with self._credits_lock:
            credits = self._credits.get(call_id)
        if credits is not None:
            credits.close()

    # ---- calls --------------------------------------------------------------------

    def _execute(self, call_id: str, request: Any) -> None:
        try:
            self._run_unary(call_id, request)
        finally:
            self._replied()

    def _send_reply(self, call_id: str, number: int, response: bytes, extra: bytes = b"") -> bool:
        """One result or chunk frame; a large one as parts (no joined copy, attachments aligned)."""
        if len(response) >= GATHER_MIN_BYTES:
            parts = frame_parts(call_id, number, response, extra)
            if parts is not None:
                return self.data.send_parts(parts)
        return self.data.send(_frame(call_id, number, response, extra))

    def _run_unary(self, call_id: str, request: Any) -> None:
        if self.shm is None:
            self._send_reply(call_id, _RESULT, self.engine.execute_encoded(request))
            return
        # Large result attachments go into segments lent to the codec for this call. Each
        # thread keeps one writer (empty between calls: handed over or discarded below).
        segments = getattr(self._writers, "segments", None)
        if segments is None:
            segments = self._writers.segments = self.shm.writer()
        shm.lend_to_thread(segments)
        try:
            response = self.engine.execute_encoded(request)
        except BaseException:
            segments.discard()
            raise
        finally:
            shm.lend_to_thread(None)
        if not segments.entries:
            self._send_reply(call_id, _RESULT, response)
            return
        if response[:1] != _RESULT_PAYLOAD_TAG:  # an error took the result's place
            segments.discard()
            self._send_reply(call_id, _RESULT, response)
            return
        shared = worker_pb2.DataFrame(
            shared=[worker_pb2.SharedAttachment(index=i, name=n, length=k) for i, n, k in segments.entries]
        ).SerializeToString()
        if self._send_reply(call_id, _RESULT, response, shared):
            segments.handed_over()
        else:
            segments.discard()

    def _map_shared(self, unmapped: _Unmapped) -> Any:
        """The request with its shared attachments mapped in (read-only views, no copy)."""
        if self.shm is None:
            raise shm.SegmentError("the call names shared-memory segments, but none were offered to this worker")
        request = unmapped.request
        attachments: list[Any] = list(request.args.attachments)
        for ref in unmapped.shared:
            if not ref.index < len(attachments) or len(attachments[ref.index]) != 0:
                raise shm.SegmentError(f"segment {ref.name} names attachment {ref.index}, which is not an empty slot")
            attachments[ref.index] = self.shm.open(ref.name, ref.length)
        return _WithArgs(request, wire.Payload(request.args.json, attachments))

    def _refuse(self, call_id: str, kind: str, message: str) -> None:
        """Answer a call whose segments cannot be used, without running it."""
        error = worker_pb2.ToolError(code=errors.INVALID_ARGUMENT, message=f"arguments: {message}")
        if kind == "execute":
            self.data.send(_frame(call_id, _RESULT, worker_pb2.CallResponse(error=error).SerializeToString()))
        else:
            self.data.send(_frame(call_id, _CHUNK, worker_pb2.StreamMessage(error=error).SerializeToString()))
            self.data.send(_frame(call_id, _END, b""))
        self._replied()

    def _stream(self, call_id: str, request: Any, credits: _Credits) -> None:
        messages = self.engine.stream_encoded(request)
        tracker = self.engine.tracker
        try:
            for message in messages:
                if not credits.take(lambda: tracker.is_cancelled(call_id)):
                    break  # cancelled, or the pool stopped reading: closing `messages` closes the tool
                self._send_reply(call_id, _CHUNK, message)
        except BaseException as exc:  # noqa: BLE001 - the engine never raises; be sure of it
            log.error("local stream %s failed", call_id, exc_info=exc)
        finally:
            messages.close()
            with self._credits_lock:
                if self._credits.get(call_id) is credits:
                    del self._credits[call_id]
            self.data.send(_frame(call_id, _END, b""))
            self._replied()


class _WithArgs:
    """A request read through, with other args (the shared attachments mapped in)."""

    __slots__ = ("_request", "args")

    def __init__(self, request: Any, args: wire.Payload) -> None:
        self._request = request
        self.args = args

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)


class _Unmapped:
    """A call whose shared attachments are still to be mapped."""

    __slots__ = ("request", "shared")

    def __init__(self, request: Any, shared: list[Any]) -> None:
        self.request = request
        self.shared = shared


def _decode_with_segments(data: bytes) -> wire.DataFrame:
    frame = worker_pb2.DataFrame.FromString(data)
    kind = frame.WhichOneof("kind")
    body = getattr(frame, kind) if kind else None
    if kind in ("execute", "stream"):
        body = _Unmapped(body, list(frame.shared))
    return wire.DataFrame(frame.call_id, kind, body)


def _frame(call_id: str, number: int, inner: bytes, extra: bytes = b"") -> bytes:
    """A length-prefixed DataFrame {call_id, <number>: inner}, built around serialised bytes.

    Building a DataFrame object around the inner message would copy it once more;
    the bytes are the same. ``extra``: more serialised DataFrame fields (``shared``).
    """
    cid = call_id.encode()
    nc = len(cid)
    ni = len(inner)
    if 0 < nc < 128 and ni < 128 and not extra and number < 16:
        # The everyday small reply: one-byte tags and lengths, joined once.
        return b"".join((_HEADER.pack(4 + nc + ni), bytes((0x0A, nc)), cid, bytes(((number << 3) | 2, ni)), inner))
    body = wire.field_bytes(wire.DF_CALL_ID, cid) if call_id else b""
    body += wire.field_bytes(number, inner) + extra
    return _HEADER.pack(len(body)) + body
