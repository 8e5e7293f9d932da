"""The local data plane: Execute and Stream over a socketpair from the parent.

A spawned worker gets one end of a socketpair (``--data-fd``). Calls arrive as
length-prefixed ``DataFrame`` messages and run through the same servicer code as
the gRPC path, so errors, deadlines, cancellation and limits behave the same.
What it saves is the per-call cost of HTTP/2 and of grpc's thread hand-offs.

Threading: one reader thread owns the socket's read side. With one tool slot
(the process profile) it runs unary calls itself, inline, so a call costs no
thread switch; cancellation still reaches a running call through the gRPC
``Cancel`` RPC, which is served on threads of its own. Streams, and every call
when there are several slots, run on a small executor so the reader stays free
to take credits and cancels.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import call_context
from ._proto import worker_pb2
from .server import WorkerServicer

log = logging.getLogger("snakepit_bridge")

_HEADER = struct.Struct(">I")
# Chunks a stream may have in flight before the pool acknowledges them.
STREAM_WINDOW = 16


class _LocalRpcContext:
    """The two things the servicer asks of a gRPC context, for a local call.

    The deadline travels in the request (``deadline_unix_ms``); cancellation
    comes from a cancel frame or the Cancel RPC, both through the call tracker.
    """

    def add_callback(self, callback: Any) -> bool:
        return True

    def time_remaining(self) -> float | None:
        return None


_LOCAL_CONTEXT = _LocalRpcContext()


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

    def take(self, cancelled: Any) -> bool:
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


class LocalTransport:
    """Serves DataFrames from the socketpair until it closes."""

    def __init__(self, servicer: WorkerServicer, fd: int, threads: int, max_message_bytes: int) -> None:
        self.servicer = servicer
        self.sock = socket.socket(fileno=fd)
        self.sock.setblocking(True)
        self.threads = threads
        self.max_frame = max_message_bytes + 1024 * 1024
        self._write_lock = threading.Lock()
        # Streams always run off the reader; with several slots, unary calls do too.
        self._executor = ThreadPoolExecutor(max_workers=max(threads, 1) + 1, thread_name_prefix="snakepit-local")
        self._credits: dict[str, _Credits] = {}
        self._credits_lock = threading.Lock()
        # Replies of inline calls not yet written (see _serve).
        self._held: list[bytes] = []
        self._thread = threading.Thread(target=self._serve, name="snakepit-local-reader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._executor.shutdown(wait=False, cancel_futures=True)

    # ---- reading ------------------------------------------------------------------

    def _serve(self) -> None:
        try:
            for frame, more in self._frames():
                self._dispatch(frame)
                if not more and self._held:
                    # Replies to pipelined calls leave together, in one write.
                    held, self._held = self._held, []
                    self._send_raw(b"".join(held))
        except Exception:  # a broken frame means a broken peer: stop serving this socket
            log.exception("local transport stopped")

    def _frames(self) -> Any:
        buf = bytearray()
        recv = self.sock.recv_into
        chunk = bytearray(256 * 1024)
        view = memoryview(chunk)
        while True:
            # Parse every complete frame already buffered before reading again.
            while len(buf) >= 4:
                (length,) = _HEADER.unpack_from(buf, 0)
                if length > self.max_frame:
                    raise ValueError(f"frame of {length} bytes is over the limit of {self.max_frame}")
                if len(buf) < 4 + length:
                    if length > len(chunk):  # a large frame: read the rest straight into place
                        buf.extend(self._read_exact(4 + length - len(buf)))
                        continue
                    break
                frame = worker_pb2.DataFrame.FromString(bytes(buf[4 : 4 + length]))
                del buf[: 4 + length]
                yield frame, _complete_frame_in(buf)
            n = recv(view)
            if n == 0:
                return  # the pool closed its end
            buf += view[:n]

    def _read_exact(self, n: int) -> bytearray:
        out = bytearray(n)
        view = memoryview(out)
        got = 0
        while got < n:
            k = self.sock.recv_into(view[got:])
            if k == 0:
                raise EOFError("the pool closed the data socket mid-frame")
            got += k
        return out

    def _dispatch(self, frame: worker_pb2.DataFrame) -> None:
        kind = frame.WhichOneof("kind")
        if kind == "execute":
            if self.threads == 1:
                self._execute_inline(frame.call_id, frame.execute)
            else:
                self._executor.submit(self._execute, frame.call_id, frame.execute)
        elif kind == "stream":
            credits = _Credits(STREAM_WINDOW)
            with self._credits_lock:
                self._credits[frame.call_id] = credits
            self._executor.submit(self._stream, frame.call_id, frame.stream, credits)
        elif kind == "credit":
            with self._credits_lock:
                credits_for = self._credits.get(frame.call_id)
            if credits_for is not None:
                credits_for.add(frame.credit.chunks)
        elif kind == "cancel":
            self.servicer.tracker.cancel(frame.call_id, call_context.CLIENT_CANCELLED)
            with self._credits_lock:
                credits_for = self._credits.get(frame.call_id)
            if credits_for is not None:
                credits_for.close()
        else:
            log.warning("ignoring an unexpected local frame: %s", kind)

    # ---- calls --------------------------------------------------------------------

    def _execute(self, call_id: str, request: worker_pb2.CallRequest) -> None:
        response = self.servicer.Execute(request, _LOCAL_CONTEXT)  # type: ignore[arg-type]
        self._send_raw(_frame(call_id, _FIELD_RESULT, response.SerializeToString()))

    def _execute_inline(self, call_id: str, request: worker_pb2.CallRequest) -> None:
        """On the reader thread: hold the reply while more calls are already buffered."""
        response = self.servicer.Execute(request, _LOCAL_CONTEXT)  # type: ignore[arg-type]
        self._held.append(_frame(call_id, _FIELD_RESULT, response.SerializeToString()))

    def _stream(self, call_id: str, request: worker_pb2.CallRequest, credits: _Credits) -> None:
        messages = self.servicer.Stream(request, _LOCAL_CONTEXT)  # type: ignore[arg-type]
        cancelled = lambda: self.servicer.tracker.is_cancelled(call_id)  # noqa: E731
        try:
            for message in messages:
                if not credits.take(cancelled):
                    break  # the pool stopped reading: closing `messages` closes the tool
                self._send_raw(_frame(call_id, _FIELD_CHUNK, message.SerializeToString()))
        except Exception:
            log.exception("local stream %s failed", call_id)
        finally:
            messages.close()
            with self._credits_lock:
                self._credits.pop(call_id, None)
            self._send_raw(_frame(call_id, _FIELD_END, b""))

    def _send_raw(self, frame: bytes) -> None:
        try:
            with self._write_lock:
                self.sock.sendall(frame)
        except OSError:
            pass  # the pool is gone; the parent watch ends the process


# DataFrame field numbers (worker.proto). Outgoing frames are assembled from the
# already-serialised inner message rather than by building a DataFrame around it,
# which would copy the inner message once more; the bytes are the same.
_FIELD_CALL_ID = 1
_FIELD_RESULT = 6
_FIELD_CHUNK = 7
_FIELD_END = 8


def _complete_frame_in(buf: bytearray) -> bool:
    """True when ``buf`` already holds another whole frame."""
    return len(buf) >= 4 and len(buf) >= 4 + _HEADER.unpack_from(buf, 0)[0]


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(number: int, data: bytes) -> bytes:
    return bytes(((number << 3) | 2,)) + _varint(len(data)) + data


def _frame(call_id: str, number: int, inner: bytes) -> bytes:
    """A length-prefixed DataFrame {call_id, <number>: inner}."""
    body = _field(_FIELD_CALL_ID, call_id.encode()) + _field(number, inner)
    return _HEADER.pack(len(body)) + body
