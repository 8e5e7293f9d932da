"""The local transport: every WorkerService message as DataFrames on two socketpairs.

A worker the pool spawns gets two socket fds (see the end of worker.proto):

* the data lane (``--data-fd``): execute, stream and credit in; result, chunk and
  end out;
* the control lane (``--control-lane-fd``): cancel, describe, health and drain
  in, each answered with its ``*_reply`` under the frame's call_id. It has a
  reader thread of its own, so it is answered while every tool slot is busy.

Threading on the data lane: one reader thread owns the socket's read side. With
one tool slot (the process profile) it runs a unary call itself, inline, so a
call costs no thread switch. Streams, and every call when there are several
slots, run on a small executor so the reader stays free to take credits.

The progress page (``SNAKEPIT_PROGRESS``, 8 bytes in /dev/shm that the pool
creates and removes): the reader counts the call frames (execute, stream) it reads,
1-based, and stores a call's number there before the call begins (inline) or is
handed to the executor. So at every moment no call numbered above the page's value
has begun: when the worker dies, the pool reads the page (tmpfs outlives a
SIGKILL) and sends those calls elsewhere; the others it has no reply for failed.

Replies: without a page each inline reply leaves in a write of its own before the
next call starts (the pool then knows only the first unanswered call can have
started). With a page, inline replies may be held while more whole frames are
already buffered, and leave together in one write: before the reader would wait
in recv, at 64 replies or 64 KiB or about 500 us after the first one held, and
before anything else is written or run off the reader (a stream, an executor
call, a refusal, a large or shared-memory reply). Nothing is held in front of a
call that may be slow: only when the next call's tool recently ran inline in
under 200 us (a tool not measured yet counts as slow).

EOF on either lane means the pool is gone: the worker stops serving.
"""

from __future__ import annotations

import logging
import mmap
import os
import re
import socket
import stat
import struct
import sys
import threading
import time
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
# An incomplete frame from this size on is read into a buffer of its own (not joined to
# what is buffered at each recv, which would copy it again each time).
_READ_IN_PLACE_BYTES = 64 * 1024
# The most buffers one sendmsg takes (Linux's IOV_MAX).
_IOV_MAX = 1024
# How long close() waits for a control reply being written (e.g. drain's).
_REPLY_GRACE_S = 0.5

# The progress page: its name in /dev/shm, in the environment (the pool's to create and remove).
PROGRESS_ENV = "SNAKEPIT_PROGRESS"
_PROGRESS_NAME = re.compile(r"snakepit-\d+-[\w.-]+-progress", re.ASCII)
_PROGRESS_DIR = "/dev/shm"
# Holding replies (only with a progress page): a tool is fast when its recent inline
# run time (an average that weighs the newest run by 1/4) is under this.
FAST_TOOL_NS = 200_000
# Held replies leave at the latest at this many, this many bytes, or this long after the
# first. The time is short on purpose: the pool reads the first replies of a burst while
# this worker runs the rest, so both processes work at once (in interleaved runs, 500 us
# gave one worker with 32 calls in flight about half the calls/s of 100 us).
HOLD_MAX_REPLIES = 64
HOLD_MAX_BYTES = 64 * 1024
HOLD_MAX_NS = 100_000
# The most tools whose run time is remembered (unknown tool names are the caller's to choose).
_MAX_TIMED_TOOLS = 1024
_NOT_TIMED = 1 << 62  # what a tool not measured yet counts as: slow

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
        chunk = bytearray(256 * 1024)
        view = memoryview(chunk)
        recv = self.sock.recv_into
        unpack = _HEADER.unpack_from
        # What was read and not yet parsed is buf[pos:]: a frame is one slice of it (one
        # copy), and the rest moves only when more is read.
        buf = b""
        pos = 0
        while True:
            end = len(buf)
            # Parse every complete frame already buffered before reading again.
            while end - pos >= 4:
                (length,) = unpack(buf, pos)
                if length > self.max_frame:
                    raise ValueError(f"frame of {length} bytes is over the limit of {self.max_frame}")
                stop = pos + 4 + length
                if stop > end:
                    if length >= _READ_IN_PLACE_BYTES:  # read the rest straight into place
                        large = self._read_large(buf[pos + 4 :], length)
                        buf, pos, end = b"", 0, 0
                        yield large, False
                    break
                data = buf[pos + 4 : stop]
                pos = stop
                yield data, end - pos >= 4 and end - pos >= 4 + unpack(buf, pos)[0]
            n = recv(view)
            if n == 0:
                return  # the pool closed its end
            buf = buf[pos:] + view[:n] if pos < end else bytes(view[:n])
            pos = 0

    def _read_large(self, start: bytes, length: int) -> bytes | bytearray:
        """A frame of ``length`` bytes that begins with ``start``, the rest read into place.

        The socket writes straight into the frame's own buffer: no joining of reads. protobuf
        (upb) parses a bytearray as it is; the hand decoder (pure-Python protobuf) wants bytes.
        """
        out = bytearray(length)
        view = memoryview(out)
        got = len(start)
        view[:got] = start
        while got < length:
            k = self.sock.recv_into(view[got:])
            if k == 0:
                raise EOFError("the pool closed the socket mid-frame")
            got += k
        view.release()
        return bytes(out) if wire.HAND_DECODE else out


class _ProgressPage:
    """The pool's progress page, mapped: ``value[0]`` is the u64 (host byte order) it reads."""

    def __init__(self, mapping: mmap.mmap) -> None:
        self._mapping = mapping
        self.value = memoryview(mapping).cast("Q")
        # The pool fills the page with 0xFF ("not kept"): 0 says this worker keeps it
        # and has begun no call yet, so a death before its first call loses none.
        self.value[0] = 0

    @classmethod
    def from_env(cls, environ: Any = None) -> _ProgressPage | None:
        """The page named by SNAKEPIT_PROGRESS, taken out of the environment; None if unusable."""
        env = os.environ if environ is None else environ
        name = env.pop(PROGRESS_ENV, None)  # not inherited by what tools start
        if name is None:
            return None
        if not _PROGRESS_NAME.fullmatch(name):
            log.warning("ignoring %s=%r: not a progress page's name", PROGRESS_ENV, name)
            return None
        if not sys.platform.startswith("linux"):
            log.debug("no progress page: not on Linux")
            return None
        try:
            fd = os.open(os.path.join(_PROGRESS_DIR, name), os.O_RDWR | os.O_NOFOLLOW)
        except OSError as exc:
            log.warning("no progress page: %s", exc)
            return None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_size != 8:
                log.warning("no progress page: %s is not a file of 8 bytes", name)
                return None
            return cls(mmap.mmap(fd, 8))
        except (OSError, ValueError) as exc:
            log.warning("no progress page: %s", exc)
            return None
        finally:
            os.close(fd)

    def close(self) -> None:
        """Unmap (the file is the pool's: it removes it)."""
        self.value.release()
        self._mapping.close()


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
        # Calls on the executor whose reply is not written yet: close() lets them out (bounded) too.
        self._pending = 0
        self._pending_lock = threading.Lock()
        self._no_pending = threading.Event()
        # The reader's own replies (inline calls, refusals): only the reader writes these two,
        # so the inline path takes no lock per call. ``_unsent``: a call it runs, or replies
        # it holds, are not written yet; it sets ``_caught_up`` once they are if close() waits.
        self._unsent = False
        self._caught_up = threading.Event()
        self._held: list[bytes] = []  # inline reply frames not written yet (only with a page)
        # The pool's offer of shared memory (SNAKEPIT_SHM), if this worker can take it up.
        self.shm = shm.SharedMemory.from_env()
        self._writers = threading.local()  # one ResultSegments per executor thread that runs unary calls
        os.environ.pop(shm.OFFER_ENV, None)  # not inherited by what tools start
        self.progress = _ProgressPage.from_env()
        self._progress_lock = threading.Lock()  # the reader's exit and close() may both unmap it
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
        """Stop serving; replies being written or held (drain's, a finished call's) still go out."""
        started = time.monotonic()
        with self._pending_lock:
            self._closing = True
            if self._pending == 0:
                self._no_pending.set()
        self._no_pending.wait(_REPLY_GRACE_S)
        if self._unsent:  # the reader sets _caught_up once it wrote them, having seen _closing
            self._caught_up.wait(max(0.0, _REPLY_GRACE_S - (time.monotonic() - started)))
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
        if not self._readers[0].is_alive():  # else the reader unmaps the page as it ends
            self._release_progress()

    def _release_progress(self) -> None:
        with self._progress_lock:
            page, self.progress = self.progress, None
        if page is not None:
            page.close()

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
            if lane is self.data:
                self._flush()  # what finished is not dropped while the socket may still take it
                self._release_progress()  # only this thread stores into it
            lane.release()  # here, by the only reader: no other thread is in a recv on it
            if self.shm is not None:
                # Either lane ending means the pool is gone or done with this worker: no
                # segment of this prefix outlives it (mappings in use stay valid).
                self.shm.close(pool_gone=True)
        if not self._closing and self._on_lost is not None:
            self._on_lost(reason)

    def _serve_data(self, lane: _Lane) -> None:
        decode = wire.decode_data_frame
        execute = self.engine.execute_encoded
        clock = time.perf_counter_ns
        inline = self.threads == 1
        held = self._held
        page = self.progress.value if self.progress is not None else None
        run_ns: dict[str, int] = {}  # per tool: recent inline run time (only timed with a page)
        held_bytes = held_since = 0
        seq = 0  # call frames read, the progress page's count
        # Only inline unary calls encode results on this thread, so its writer stays lent
        # for good (empty between calls: handed over or discarded), not lent per call.
        segments = self.shm.writer() if self.shm is not None and inline else None
        shm.lend_to_thread(segments)
        for data, more in lane.frames():
            # A frame naming segments starts with them (worker.proto): protobuf reads it,
            # cheaply, since its large attachments are in the segments.
            frame = decode(data) if data[:2] != _SHARED_FIRST else _decode_with_segments(data)
            kind = frame.kind
            try:
                if kind != "execute" and kind != "stream":
                    if held:
                        self._flush()
                    self._dispatch_other(frame)
                    continue
                seq += 1
                request = frame.body
                # Inline only when no stream runs: a stream holding the one slot would wait
                # for credits that this thread must read.
                if not inline or kind != "execute" or self._credits or type(request) is _Unmapped:
                    if held:
                        self._flush()
                    self._dispatch_call(frame, seq, segments)
                    continue
                if page is None:
                    # No page: the reply leaves before the next call starts, so the pool knows
                    # that of its unanswered calls only the first can have started.
                    self._unsent = True
                    self._run_inline(frame.call_id, execute(request), segments)
                    self._written()
                    continue
                tool = request.tool
                if held and run_ns.get(tool, _NOT_TIMED) >= FAST_TOOL_NS:
                    self._flush()  # this call may be slow: nothing waits behind it
                page[0] = seq  # before the call begins (a plain store: it survives our death)
                self._unsent = True
                began = clock()
                try:
                    response = execute(request)
                finally:
                    ended = clock()
                    took = ended - began
                    last = run_ns.get(tool)
                    if last is not None:
                        run_ns[tool] = last + ((took - last) >> 2)
                    elif len(run_ns) < _MAX_TIMED_TOOLS:
                        run_ns[tool] = took
                reply = self._run_inline(frame.call_id, response, segments, holding=True)
                if reply is None:
                    self._written()  # written (after what was held before it)
                    continue
                if not held:
                    held_since = ended
                    held_bytes = 0
                held.append(reply)
                held_bytes += len(reply)
                if (
                    not more  # the reader would wait in recv next
                    or len(held) >= HOLD_MAX_REPLIES
                    or held_bytes >= HOLD_MAX_BYTES
                    or ended - held_since >= HOLD_MAX_NS
                ):
                    self._flush()
            except BaseException as exc:  # noqa: BLE001 - one bad frame must not stop the lane
                if segments is not None:
                    segments.discard()
                self._flush()  # rare (the engine never raises): what is held must not wait on recv
                log.error("could not serve a %s frame for call %r", kind, frame.call_id, exc_info=exc)
        # (the reader's exit, in _read, writes what is held)

    def _run_inline(self, call_id: str, response: bytes, segments: Any, *, holding: bool = False) -> bytes | None:
        """Write an inline call's reply, or, ``holding``, return its frame to hold.

        A reply naming segments, or large enough to leave as parts, is written at once,
        after the held ones (None then): segments are the pool's only once written.
        """
        if segments is not None and segments.entries:
            self._write_held()
            self._send_result(call_id, response, segments)
        elif len(response) >= GATHER_MIN_BYTES:
            self._write_held()
            self._send_reply(call_id, _RESULT, response)
        elif holding:
            return _frame(call_id, _RESULT, response)
        else:
            self.data.send(_frame(call_id, _RESULT, response))
        return None

    def _flush(self) -> None:
        """Write the held replies: the reader owes none now."""
        self._write_held()
        self._written()

    def _write_held(self) -> None:
        """The held replies in one write (the reader's thread only).

        Joined, then one sendall: for small frames that is about half the cost of a
        sendmsg of the list (the kernel's work per buffer), e.g. 1.3 against 2.9 us for 32.
        """
        held = self._held
        if held:
            data = held[0] if len(held) == 1 else b"".join(held)
            held.clear()
            self.data.send(data)

    def _written(self) -> None:
        """The reader has written every reply it owes."""
        self._unsent = False
        if self._closing:
            self._caught_up.set()

    def _dispatch_call(self, frame: wire.DataFrame, seq: int, segments: Any) -> None:
        """An execute or stream that does not run inline at once (nothing is held now)."""
        kind = frame.kind
        if type(frame.body) is _Unmapped:
            try:
                frame.body = self._map_shared(frame.body)
            except shm.SegmentError as exc:
                self._unsent = True
                self._refuse(frame.call_id, kind, str(exc))
                self._written()
                return
        page = self.progress.value if self.progress is not None else None
        if kind == "execute" and self.threads == 1 and not self._credits:
            if page is not None:
                page[0] = seq
            self._unsent = True
            self._run_inline(frame.call_id, self.engine.execute_encoded(frame.body), segments)
            self._written()
            return
        with self._pending_lock:
            self._pending += 1
        if page is not None:
            page[0] = seq  # before the executor can begin it
        if kind == "execute":
            self._executor.submit(self._execute, frame.call_id, frame.body)
        else:
            credits = _Credits(STREAM_WINDOW)
            with self._credits_lock:
                self._credits[frame.call_id] = credits
            self._executor.submit(self._stream, frame.call_id, frame.body, credits)

    def _dispatch_other(self, frame: wire.DataFrame) -> None:
        kind = frame.kind
        if kind == "credit":
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
        """A unary call on an executor thread."""
        try:
            if self.shm is None:
                self._send_reply(call_id, _RESULT, self.engine.execute_encoded(request))
                return
            # Large result attachments go into segments lent to the codec for this call. Each
            # thread keeps one writer (empty between calls: handed over or discarded).
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
            if segments.entries:
                self._send_result(call_id, response, segments)
            else:
                self._send_reply(call_id, _RESULT, response)
        finally:
            self._replied()

    def _send_reply(self, call_id: str, number: int, response: bytes, extra: bytes = b"") -> bool:
        """One result or chunk frame; a large one as parts (no joined copy, attachments aligned)."""
        if len(response) >= GATHER_MIN_BYTES:
            parts = frame_parts(call_id, number, response, extra)
            if parts is not None:
                return self.data.send_parts(parts)
        return self.data.send(_frame(call_id, number, response, extra))

    def _send_result(self, call_id: str, response: bytes, segments: shm.ResultSegments) -> None:
        """A result whose attachments went into ``segments``: the pool's once the frame is written."""
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
