"""Shared fixtures: an in-process worker on a unix socket, and fixture adapters on sys.path."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

FIXTURES_DIR = Path(__file__).parent / "fixtures"
if str(FIXTURES_DIR) not in sys.path:
    sys.path.insert(0, str(FIXTURES_DIR))

from snakepit_bridge import Adapter  # noqa: E402
from snakepit_bridge._proto import worker_pb2_grpc  # noqa: E402
from snakepit_bridge.worker import Worker  # noqa: E402


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A short directory for unix sockets (their paths are limited to ~107 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="sp-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class Served:
    """A worker serving in this process plus a connected client stub."""

    def __init__(self, worker: Worker, channel: grpc.Channel) -> None:
        self.worker = worker
        self.channel = channel
        self.stub = worker_pb2_grpc.WorkerServiceStub(channel)


ServeFactory = Callable[..., Served]


@pytest.fixture
def serve(short_tmp: Path) -> Iterator[ServeFactory]:
    """``serve(adapter, threads=1, ...)`` starts a worker; everything is stopped afterwards."""
    started: list[Served] = []

    def start(adapter: Adapter, *, spec: str = "tests:Adapter", **options: object) -> Served:
        worker = Worker(adapter, adapter_spec=spec, **options)  # type: ignore[arg-type]
        address = worker.start(f"unix:{short_tmp}/w{len(started)}.sock")
        channel = grpc.insecure_channel(address)
        served = Served(worker, channel)
        started.append(served)
        return served

    try:
        yield start
    finally:
        for served in started:
            served.channel.close()
            served.worker.shutdown(0)
