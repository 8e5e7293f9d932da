"""The progress page and held replies on the data lane (ADR 6's successor rule).

With a progress page the worker stores each call frame's number before the call
begins, so the pool knows which calls cannot have started; that lets it hold the
replies of a burst of fast calls and write them at once.
"""

from __future__ import annotations

import array
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import request, result_of, spawn_worker, wait_until, worker_env
from serving import LanesFactory, LocalServed

from snakepit_bridge import Adapter, codec, shm, tool
from snakepit_bridge import local_transport
from snakepit_bridge._proto import worker_pb2
from snakepit_bridge.local_transport import PROGRESS_ENV

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or not os.path.isdir("/dev/shm"), reason="needs Linux's /dev/shm")

SHM_DIR = "/dev/shm"
TESTS_DIR = Path(__file__).parent


class Timed(Adapter):
    """Fast tools, slow ones, and one that reads the progress page from inside a call."""

    def __init__(self) -> None:
        self.page_path = ""
        self.started = threading.Event()
        self.release = threading.Event()

    @tool
    def fast(self, i: int = 0) -> int:
        return i

    @tool
    def page(self) -> int:
        # A fresh open and read, as the pool would after the worker died.
        with open(self.page_path, "rb") as f:
            return int.from_bytes(f.read(), sys.byteorder)

    @tool
    def nap(self, seconds: float) -> float:
        time.sleep(seconds)
        return seconds

    @tool
    def gate(self) -> str:
        """Runs until released: a call that happens to be slow."""
        self.started.set()
        self.release.wait(10)
        return "released"

    @tool
    def echo_bytes(self, data: bytes) -> bytes:
        return data

    @tool
    def doubles(self, n: int) -> Any:
        return array.array("d", range(n))

    @tool
    def numbers(self, n: int) -> Iterator[int]:
        yield from range(n)


class CountingSocket:
    """The worker's data socket, counting its writes (each the bytes of one sendall or sendmsg)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.writes: list[bytes] = []
        self._lock = threading.Lock()

    def sendall(self, data: Any) -> None:
        with self._lock:
            self.writes.append(bytes(data))
        self._sock.sendall(data)

    def sendmsg(self, buffers: Any) -> int:
        sent = self._sock.sendmsg(buffers)
        with self._lock:
            self.writes.append(b"".join(bytes(b) for b in buffers)[:sent])
        return sent

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def frames_per_write(self) -> list[int]:
        """Frames in each write; the pieces of one frame that a sendmsg wrote in parts count as one write."""
        counts = []
        with self._lock:
            writes = list(self.writes)
        pending = b""
        for data in writes:
            pending += data
            n = pos = 0
            while pos + 4 <= len(pending):
                pos += 4 + int.from_bytes(pending[pos : pos + 4], "big")
                n += 1
            if pos == len(pending):
                counts.append(n)
                pending = b""
        assert pending == b"", "a write ended mid-frame"
        return counts


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A progress page as the pool makes it (8 bytes of 0xFF: "not kept"), named in the environment."""
    name = f"snakepit-{os.getpid()}-pytest.{id(monkeypatch):x}-progress"
    path = os.path.join(SHM_DIR, name)
    with open(path, "wb") as f:
        f.write(b"\xff" * 8)
    monkeypatch.setenv(PROGRESS_ENV, name)
    # Generous limits: these tests are about which replies are held, not about a loaded machine's timing.
    monkeypatch.setattr(local_transport, "HOLD_MAX_NS", 10_000_000_000)
    monkeypatch.setattr(local_transport, "FAST_TOOL_NS", 20_000_000)
    try:
        yield path
    finally:
        os.unlink(path)


def _serve(lanes: LanesFactory, adapter: Timed, page_path: str = "") -> tuple[LocalServed, CountingSocket]:
    adapter.page_path = page_path
    served = lanes(adapter)
    transport = served.worker.local
    assert transport is not None
    counting = CountingSocket(transport.data.sock)
    transport.data.sock = counting  # type: ignore[assignment]
    return served, counting


def _execute(call_id: str, tool_name: str, **kwargs: Any) -> worker_pb2.DataFrame:
    return worker_pb2.DataFrame(call_id=call_id, execute=request(tool_name, call_id=call_id, **kwargs))


def _burst(served: LocalServed, *frames: worker_pb2.DataFrame) -> list[Any]:
    """Send frames in one write; the futures of their result frames."""
    client = served.client
    futures = [client.data_reader.expect_one(f.call_id) for f in frames]
    client.send(client.data, *frames)
    return futures


def _measure(served: LocalServed, tool_name: str, **kwargs: Any) -> None:
    """Run a tool alone once, so the transport knows its run time."""
    assert served.client.execute(request(tool_name, call_id=f"m-{tool_name}-{time.monotonic_ns()}", **kwargs)).WhichOneof("outcome") == "result"


def test_the_page_holds_the_number_of_the_call_being_run(lanes: LanesFactory, page: str) -> None:
    served, _ = _serve(lanes, Timed(), page)
    frames = [_execute("f1", "fast"), _execute("f2", "fast"), _execute("p3", "page"), _execute("f4", "fast"), _execute("p5", "page")]
    got = [f.result(5) for f in _burst(served, *frames)]
    assert [result_of(g.result) for g in got] == [0, 0, 3, 0, 5]
    # A stream counts too, and so does a call refused for its segments (none were offered).
    assert [m.WhichOneof("kind") for m in served.client.stream(request("numbers", call_id="s6", n=2))] == ["chunk", "chunk"]
    req = request("fast", call_id="r7")
    body = worker_pb2.DataFrame(shared=[worker_pb2.SharedAttachment(index=0, name="x", length=1)]).SerializeToString()
    body += worker_pb2.DataFrame(call_id="r7", execute=req).SerializeToString()
    refused = served.client.data_reader.expect_one("r7")
    served.client.data.sendall(len(body).to_bytes(4, "big") + body)
    assert refused.result(5).result.error.code == "invalid_argument"
    assert result_of(served.client.execute(request("page", call_id="p8"))) == 8


def test_replies_of_fast_calls_sent_together_leave_in_one_write(lanes: LanesFactory, page: str) -> None:
    served, counting = _serve(lanes, Timed(), page)
    _measure(served, "fast")
    assert counting.frames_per_write() == [1]
    futures = _burst(served, *(_execute(f"c{i}", "fast", i=i) for i in range(10)))
    assert [result_of(f.result(5).result) for f in futures] == list(range(10))
    assert counting.frames_per_write() == [1, 10]


def test_at_most_64_replies_are_held(lanes: LanesFactory, page: str) -> None:
    served, counting = _serve(lanes, Timed(), page)
    _measure(served, "fast")
    futures = _burst(served, *(_execute(f"c{i}", "fast", i=i) for i in range(100)))
    assert [result_of(f.result(5).result) for f in futures] == list(range(100))
    assert counting.frames_per_write() == [1, 64, 36]


def test_replies_are_held_no_longer_than_the_time_limit(lanes: LanesFactory, page: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_transport, "HOLD_MAX_NS", 0)
    served, counting = _serve(lanes, Timed(), page)
    _measure(served, "fast")
    futures = _burst(served, *(_execute(f"c{i}", "fast", i=i) for i in range(5)))
    assert [result_of(f.result(5).result) for f in futures] == list(range(5))
    assert counting.frames_per_write() == [1] * 6


def test_no_reply_waits_behind_a_call_not_measured_yet(lanes: LanesFactory, page: str) -> None:
    adapter = Timed()
    served, counting = _serve(lanes, adapter, page)
    _measure(served, "fast")
    futures = _burst(served, *(_execute(f"c{i}", "fast", i=i) for i in range(5)), _execute("g", "gate"))
    try:
        assert adapter.started.wait(5)
        # The gate runs now; the fast calls' replies are out already.
        assert [result_of(f.result(2).result) for f in futures[:5]] == list(range(5))
        assert not futures[5].done()
    finally:
        adapter.release.set()
    assert result_of(futures[5].result(5).result) == "released"
    assert counting.frames_per_write() == [1, 5, 1]


def test_no_reply_waits_behind_a_tool_measured_slow(lanes: LanesFactory, page: str) -> None:
    served, counting = _serve(lanes, Timed(), page)
    _measure(served, "fast")
    _measure(served, "nap", seconds=0.05)  # 50 ms: over FAST_TOOL_NS (20 ms here)
    sent = time.monotonic()
    futures = _burst(served, *(_execute(f"c{i}", "fast", i=i) for i in range(5)), _execute("n", "nap", seconds=0.5))
    for f in futures[:5]:
        f.result(5)
    fast_done = time.monotonic() - sent
    futures[5].result(5)
    slow_done = time.monotonic() - sent
    assert fast_done < 0.4 <= slow_done
    assert counting.frames_per_write() == [1, 1, 5, 1]


def test_without_a_page_each_reply_has_a_write_of_its_own(lanes: LanesFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    served, counting = _serve(lanes, Timed())
    assert served.worker.local is not None and served.worker.local.progress is None
    _measure(served, "fast")
    futures = _burst(served, *(_execute(f"c{i}", "fast", i=i) for i in range(10)))
    assert [result_of(f.result(5).result) for f in futures] == list(range(10))
    assert counting.frames_per_write() == [1] * 11


@pytest.mark.parametrize(
    "name",
    [
        "snakepit-1-../../tmp/x-progress",  # a path out of /dev/shm
        "snakepit-1-a/b-progress",
        "snakepit-x-w1-progress",
        "snakepit-1-w1-progress\n",
        "other-1-w1-progress",
        "snakepit-1-w1",
    ],
)
def test_a_bad_page_name_is_refused_and_replies_are_not_held(lanes: LanesFactory, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(PROGRESS_ENV, name)
    served, counting = _serve(lanes, Timed())
    assert PROGRESS_ENV not in os.environ
    assert served.worker.local is not None and served.worker.local.progress is None
    _measure(served, "fast")
    futures = _burst(served, *(_execute(f"c{i}", "fast", i=i) for i in range(4)))
    assert [result_of(f.result(5).result) for f in futures] == list(range(4))
    assert counting.frames_per_write() == [1] * 5


def test_a_page_that_is_missing_or_of_the_wrong_size_is_not_used(lanes: LanesFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"snakepit-{os.getpid()}-pytest-short-progress"
    monkeypatch.setenv(PROGRESS_ENV, name)  # no such file
    assert _serve(lanes, Timed())[0].worker.local.progress is None  # type: ignore[union-attr]
    path = os.path.join(SHM_DIR, name)
    with open(path, "wb") as f:
        f.write(bytes(4))
    try:
        monkeypatch.setenv(PROGRESS_ENV, name)
        assert _serve(lanes, Timed())[0].worker.local.progress is None  # type: ignore[union-attr]
    finally:
        os.unlink(path)


def test_the_page_is_taken_out_of_the_environment_and_unmapped_at_close(lanes: LanesFactory, page: str) -> None:
    served, _ = _serve(lanes, Timed(), page)
    transport = served.worker.local
    assert transport is not None and transport.progress is not None
    assert PROGRESS_ENV not in os.environ
    # Kept from the start: no call begun yet reads 0, not the pool's "not kept".
    with open(page, "rb") as f:
        assert int.from_bytes(f.read(), sys.byteorder) == 0
    assert result_of(served.client.execute(request("page", call_id="p1"))) == 1
    served.worker.shutdown(0)
    wait_until(lambda: transport.progress is None)
    assert os.path.exists(page)  # the pool's to remove


def test_a_result_in_segments_is_handed_over_once_written_after_the_held_replies(
    lanes: LanesFactory, page: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"snakepit-{os.getpid()}-pytest.{id(page):x}-"
    monkeypatch.setenv(shm.OFFER_ENV, f"{prefix}:4096")
    try:
        served, counting = _serve(lanes, Timed(), page)
        transport = served.worker.local
        assert transport is not None and transport.shm is not None
        wait_until(lambda: bool(served.client.data_reader.unexpected))  # shared_memory_ready
        _measure(served, "fast")
        _measure(served, "doubles", n=8)
        counting.writes.clear()
        frames = [_execute("a", "fast", i=1), _execute("b", "fast", i=2), _execute("d", "doubles", n=4096), _execute("c", "fast", i=3)]
        a, b, d, c = (f.result(5) for f in _burst(served, *frames))
        assert [result_of(x.result) for x in (a, b, c)] == [1, 2, 3]
        (ref,) = d.shared
        assert ref.name.startswith(prefix) and ref.length == 4096 * 8
        with open(os.path.join(SHM_DIR, ref.name), "rb") as f:
            assert f.read() == array.array("d", range(4096)).tobytes()
        wait_until(lambda: transport.shm is not None and transport.shm.unreported == set())
        # The two held replies, then the one naming the segment, then the last.
        assert counting.frames_per_write() == [2, 1, 1]
        small = served.client.execute(request("doubles", call_id="s", n=8))
        assert codec.decode(small.result.json, small.result.attachments).tolist() == list(range(8))
    finally:
        for leftover in [n for n in os.listdir(SHM_DIR) if n.startswith(prefix)]:
            os.unlink(os.path.join(SHM_DIR, leftover))


@pytest.mark.parametrize("size", [100 * 1024, 600 * 1024])  # under and over the reader's buffer
@pytest.mark.parametrize("with_page", [True, False])
def test_a_large_reply_leaves_as_parts_after_the_held_ones(
    lanes: LanesFactory, page: str, monkeypatch: pytest.MonkeyPatch, with_page: bool, size: int
) -> None:
    if not with_page:
        monkeypatch.delenv(PROGRESS_ENV)
    served, counting = _serve(lanes, Timed(), page)
    _measure(served, "fast")
    big = os.urandom(size)  # large both ways: read into place, written as parts
    _measure(served, "echo_bytes", data=b"x")
    counting.writes.clear()
    frames = [_execute("a", "fast", i=1), _execute("b", "fast", i=2), _execute("big", "echo_bytes", data=big), _execute("c", "fast", i=3)]
    a, b, big_reply, c = (f.result(10) for f in _burst(served, *frames))
    assert [result_of(x.result) for x in (a, b, c)] == [1, 2, 3]
    assert result_of(big_reply.result) == big
    assert counting.frames_per_write() == ([2, 1, 1] if with_page else [1, 1, 1, 1])


def test_after_a_kill_the_page_says_which_calls_never_began(page: str) -> None:
    name = os.path.basename(page)
    env = worker_env(**{PROGRESS_ENV: name})
    env["PYTHONPATH"] = os.pathsep.join((str(TESTS_DIR), env["PYTHONPATH"]))
    with spawn_worker(["--adapter", "sample_adapters:Probe"], env=env, lanes=True) as worker:
        client = worker.client
        assert client is not None
        for i in range(3):  # the echo tool measured, as fast
            client.execute(request("echo", call_id=f"m{i}", value=i))
        first = client.data_reader.expect_one("e4")
        frames = [
            worker_pb2.DataFrame(call_id="e4", execute=request("echo", call_id="e4", value=4)),
            worker_pb2.DataFrame(call_id="b5", execute=request("ignore_cancel_until_released", call_id="b5")),
            worker_pb2.DataFrame(call_id="e6", execute=request("echo", call_id="e6", value=6)),
        ]
        client.send(client.data, *frames)
        assert result_of(first.result(5).result) == 4  # not held behind a tool never measured
        wait_until(lambda: _read_page(page) == 5)
        worker.proc.send_signal(signal.SIGKILL)
        worker.proc.wait(5)
        assert _read_page(page) == 5  # e6 (call 6) never began: the pool may send it elsewhere


def _read_page(path: str) -> int:
    with open(path, "rb") as f:
        return int.from_bytes(f.read(), sys.byteorder)
