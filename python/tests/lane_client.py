"""A test client for the local transport: the pool's side of the data and control lanes."""

from __future__ import annotations

import itertools
import queue
import socket
import struct
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

from snakepit_bridge._proto import worker_pb2

_HEADER = struct.Struct(">I")


def encode_frame(frame: worker_pb2.DataFrame) -> bytes:
    body = frame.SerializeToString()
    return _HEADER.pack(len(body)) + body


class _Reader:
    """Reads one lane's frames on a thread and hands them to whoever waits for that call_id."""

    def __init__(self, sock: socket.socket, name: str) -> None:
        self.sock = sock
        self.eof = threading.Event()
        self._lock = threading.Lock()
        self._futures: dict[str, Future[worker_pb2.DataFrame]] = {}
        self._queues: dict[str, queue.Queue[worker_pb2.DataFrame | None]] = {}
        self.recv_sizes: list[int] = []  # bytes per recv(), to see coalesced writes
        self.unexpected: list[worker_pb2.DataFrame] = []
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def expect_one(self, call_id: str) -> Future[worker_pb2.DataFrame]:
        future: Future[worker_pb2.DataFrame] = Future()
        with self._lock:
            self._futures[call_id] = future
        return future

    def expect_many(self, call_id: str) -> queue.Queue[worker_pb2.DataFrame | None]:
        q: queue.Queue[worker_pb2.DataFrame | None] = queue.Queue()
        with self._lock:
            self._queues[call_id] = q
        return q

    def _run(self) -> None:
        buf = b""
        try:
            while True:
                data = self.sock.recv(1 << 20)
                if not data:
                    break
                self.recv_sizes.append(len(data))
                buf += data
                while len(buf) >= 4 and len(buf) >= 4 + _HEADER.unpack_from(buf)[0]:
                    (n,) = _HEADER.unpack_from(buf)
                    frame = worker_pb2.DataFrame.FromString(buf[4 : 4 + n])
                    buf = buf[4 + n :]
                    self._deliver(frame)
        except OSError:
            pass
        finally:
            self.eof.set()
            with self._lock:
                futures, queues = list(self._futures.values()), list(self._queues.values())
            for f in futures:
                if not f.done():
                    f.set_exception(EOFError("lane closed"))
            for q in queues:
                q.put(None)

    def _deliver(self, frame: worker_pb2.DataFrame) -> None:
        with self._lock:
            q = self._queues.get(frame.call_id)
            future = None if q is not None else self._futures.pop(frame.call_id, None)
        if q is not None:
            q.put(frame)
        elif future is not None:
            future.set_result(frame)
        else:
            self.unexpected.append(frame)


class LaneClient:
    """Speaks DataFrames to a worker over its two lanes; safe to use from several threads."""

    def __init__(self, data: socket.socket, control: socket.socket) -> None:
        self.data = data
        self.control = control
        self._write = threading.Lock()
        self._ids = itertools.count(1)
        self.data_reader = _Reader(data, "test-data-reader")
        self.control_reader = _Reader(control, "test-control-reader")

    def close(self) -> None:
        for sock in (self.data, self.control):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def send(self, sock: socket.socket, *frames: worker_pb2.DataFrame) -> None:
        """Send frames in one write (as a pool pipelining calls would)."""
        with self._write:
            sock.sendall(b"".join(encode_frame(f) for f in frames))

    # ---- data lane ----------------------------------------------------------------

    def execute_async(self, request: worker_pb2.CallRequest) -> Future[worker_pb2.CallResponse]:
        inner = self.data_reader.expect_one(request.call_id)
        self.send(self.data, worker_pb2.DataFrame(call_id=request.call_id, execute=request))
        outer: Future[worker_pb2.CallResponse] = Future()

        def done(f: Future[worker_pb2.DataFrame]) -> None:
            exc = f.exception()
            if exc is not None:
                outer.set_exception(exc)
            else:
                frame = f.result()
                assert frame.WhichOneof("kind") == "result", frame
                outer.set_result(frame.result)

        inner.add_done_callback(done)
        return outer

    def execute(self, request: worker_pb2.CallRequest, timeout: float = 10) -> worker_pb2.CallResponse:
        return self.execute_async(request).result(timeout)

    def stream(self, request: worker_pb2.CallRequest, *, auto_credit: bool = True, timeout: float = 10) -> Iterator[worker_pb2.StreamMessage]:
        """StreamMessages until the end frame; grants a credit per chunk unless told not to."""
        q = self.data_reader.expect_many(request.call_id)
        self.send(self.data, worker_pb2.DataFrame(call_id=request.call_id, stream=request))
        while True:
            frame = q.get(timeout=timeout)
            if frame is None:
                raise EOFError("lane closed mid-stream")
            kind = frame.WhichOneof("kind")
            if kind == "end":
                return
            assert kind == "chunk", frame
            if auto_credit:
                self.credit(request.call_id, 1)
            yield frame.chunk

    def credit(self, call_id: str, chunks: int) -> None:
        self.send(self.data, worker_pb2.DataFrame(call_id=call_id, credit=worker_pb2.StreamCredit(chunks=chunks)))

    # ---- control lane -------------------------------------------------------------

    def _control(self, field: str, message: Any, call_id: str | None = None, timeout: float = 10) -> Any:
        call_id = call_id if call_id is not None else f"ctl-{next(self._ids)}"
        future = self.control_reader.expect_one(call_id)
        self.send(self.control, worker_pb2.DataFrame(call_id=call_id, **{field: message}))
        frame = future.result(timeout)
        assert frame.call_id == call_id
        return getattr(frame, frame.WhichOneof("kind"))

    def cancel_async(self, call_id: str, wait_ms: int = 0) -> Future[worker_pb2.DataFrame]:
        future = self.control_reader.expect_one(call_id)
        self.send(self.control, worker_pb2.DataFrame(call_id=call_id, cancel=worker_pb2.CancelRequest(call_id=call_id, wait_ms=wait_ms)))
        return future

    def cancel(self, call_id: str, wait_ms: int = 0, timeout: float = 10) -> worker_pb2.CancelResponse:
        frame = self.cancel_async(call_id, wait_ms).result(timeout)
        assert frame.WhichOneof("kind") == "cancel_reply", frame
        return frame.cancel_reply

    def health(self, timeout: float = 10) -> worker_pb2.HealthResponse:
        return self._control("health", worker_pb2.HealthRequest(), timeout=timeout)

    def describe(self) -> worker_pb2.DescribeResponse:
        return self._control("describe", worker_pb2.DescribeRequest())

    def drain(self, timeout_ms: int = 0) -> worker_pb2.DrainResponse:
        return self._control("drain", worker_pb2.DrainRequest(timeout_ms=timeout_ms))
