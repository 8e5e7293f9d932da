"""Small helpers shared by the test modules."""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lane_client import LaneClient

from snakepit_bridge import codec
from snakepit_bridge._proto import worker_pb2


def request(tool: str, call_id: str = "c1", **kwargs: Any) -> worker_pb2.CallRequest:
    json_bytes, attachments = codec.encode(kwargs)
    return worker_pb2.CallRequest(
        call_id=call_id,
        tool=tool,
        args=worker_pb2.Payload(json=json_bytes, attachments=attachments),
    )


def result_of(response: worker_pb2.CallResponse) -> Any:
    assert response.WhichOneof("outcome") == "result", response
    return codec.decode(response.result.json, response.result.attachments)


def chunk_value(message: worker_pb2.StreamMessage) -> Any:
    assert message.WhichOneof("kind") == "chunk", message
    return codec.decode(message.chunk.json, message.chunk.attachments)


def details(error: worker_pb2.ToolError) -> Any:
    return json.loads(error.details_json) if error.details_json else None


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0, step: float = 0.005) -> None:
    """Poll ``predicate`` until true; fail the test after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(step)


# ---- worker subprocesses ----------------------------------------------------------------

FIXTURES_DIR = Path(__file__).parent / "fixtures"


def worker_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(FIXTURES_DIR), env.get("PYTHONPATH", "")) if p
    )
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def read_until_eof(fd: int, timeout: float) -> bytes:
    """Read ``fd`` until EOF or ``timeout`` seconds (then fail)."""
    data = b""
    end = time.monotonic() + timeout
    while True:
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no EOF on fd {fd} within {timeout}s; got {data!r}")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                return data
            data += chunk


@dataclass
class WorkerProcess:
    proc: subprocess.Popen[bytes]
    control: bytes
    handshake: dict[str, Any] | None
    outputs: dict[str, bytes] = field(default_factory=dict)
    #: The pool's end of the local lanes (``spawn_worker(..., lanes=True)``).
    client: LaneClient | None = None

    def finish(self, timeout: float = 5.0) -> int:
        """Wait for exit and collect stdout/stderr.

        Not communicate(): that closes stdin, which the parent watch sees as the parent's
        death, racing the exit code under test. (Outputs here are far below pipe size.)
        """
        self.proc.wait(timeout=timeout)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.outputs = {"stdout": self.proc.stdout.read(), "stderr": self.proc.stderr.read()}
        return self.proc.returncode


@contextmanager
def spawn_worker(
    args: Sequence[str],
    *,
    control_fd: bool = True,
    env: dict[str, str] | None = None,
    handshake_timeout: float = 20.0,
    lanes: bool = False,
) -> Iterator[WorkerProcess]:
    """Start ``python -m snakepit_bridge ARGS`` with stdin as its parent-watch pipe.

    Yields once the handshake line arrived (or the handshake fd closed). With
    ``lanes=True`` the worker gets two socketpairs as its local lanes and the result's
    ``client`` speaks to them. The process is always killed and reaped afterwards.
    """
    read_fd, write_fd = os.pipe() if control_fd else (-1, -1)
    cmd = [sys.executable, "-m", "snakepit_bridge", *args]
    pass_fds: list[int] = []
    if control_fd:
        cmd += ["--handshake-fd", str(write_fd)]
        pass_fds.append(write_fd)
    worker_ends: list[socket.socket] = []
    client: LaneClient | None = None
    if lanes:
        data_worker, data_pool = socket.socketpair()
        control_worker, control_pool = socket.socketpair()
        worker_ends = [data_worker, control_worker]
        for sock in worker_ends:
            sock.set_inheritable(True)
        cmd += ["--data-fd", str(data_worker.fileno()), "--control-lane-fd", str(control_worker.fileno())]
        pass_fds += [data_worker.fileno(), control_worker.fileno()]
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        pass_fds=pass_fds,
        env=env or worker_env(),
    )
    try:
        for sock in worker_ends:
            sock.close()
        if lanes:
            client = LaneClient(data_pool, control_pool)
        control = b""
        handshake = None
        if control_fd:
            os.close(write_fd)
            write_fd = -1
            control = read_until_eof(read_fd, handshake_timeout)
            handshake = json.loads(control) if control.strip() else None
        yield WorkerProcess(proc, control, handshake, client=client)
    finally:
        if proc.poll() is None:
            proc.kill()
        with contextlib.suppress(ValueError, subprocess.TimeoutExpired):
            proc.communicate(timeout=5)  # ValueError: already collected by finish()
        proc.wait(timeout=5)
        if client is not None:
            client.close()
        for fd in (read_fd, write_fd):
            if fd >= 0:
                os.close(fd)
