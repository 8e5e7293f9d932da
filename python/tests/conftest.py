"""Shared fixtures: the engine alone, a worker on in-process local lanes or Connect, fixture adapters on sys.path."""

from __future__ import annotations

import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

FIXTURES_DIR = Path(__file__).parent / "fixtures"
if str(FIXTURES_DIR) not in sys.path:
    sys.path.insert(0, str(FIXTURES_DIR))

from lane_client import LaneClient  # noqa: E402
from serving import ConnectFactory, ConnectServed, EngineFactory, LanesFactory, LocalServed  # noqa: E402

from snakepit_bridge import Adapter  # noqa: E402
from snakepit_bridge.engine import Engine  # noqa: E402
from snakepit_bridge.worker import Worker  # noqa: E402


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A short directory for unix sockets (their paths are limited to ~107 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="sp-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)




@pytest.fixture
def make_engine() -> Iterator[EngineFactory]:
    """``make_engine(adapter, threads=1, ...)``: an Engine, closed afterwards."""
    engines: list[Engine] = []

    def make(adapter: Adapter, *, spec: str = "tests:Adapter", **options: Any) -> Engine:
        engine = Engine(adapter, adapter_spec=spec, **options)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.close()





@pytest.fixture
def lanes() -> Iterator[LanesFactory]:
    started: list[LocalServed] = []

    def start(adapter: Adapter, *, spec: str = "tests:Adapter", **options: Any) -> LocalServed:
        worker = Worker(adapter, adapter_spec=spec, **options)
        data_worker, data_pool = socket.socketpair()
        control_worker, control_pool = socket.socketpair()
        worker.serve_local(data_worker.detach(), control_worker.detach())
        served = LocalServed(worker, LaneClient(data_pool, control_pool))
        started.append(served)
        return served

    try:
        yield start
    finally:
        for served in started:
            served.worker.shutdown(0)
            served.client.close()





@pytest.fixture
def connect(short_tmp: Path) -> Iterator[ConnectFactory]:
    started: list[ConnectServed] = []

    def start(
        adapter: Adapter,
        *,
        spec: str = "tests:Adapter",
        listen: str | None = None,
        token: str | None = None,
        tls: Any = None,
        **options: Any,
    ) -> ConnectServed:
        worker = Worker(adapter, adapter_spec=spec, **options)
        address = worker.listen(listen or f"unix:{short_tmp}/w{len(started)}.sock", token=token, tls=tls)
        served = ConnectServed(worker, address, token)
        started.append(served)
        return served

    try:
        yield start
    finally:
        for served in started:
            for c in served.clients:
                c.close()
            served.worker.shutdown(0)
