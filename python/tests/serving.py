"""What the fixtures in conftest.py hand out; import types from here, not from conftest.

(Several conftest.py files in one run share the module name ``conftest``.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connect_client import ConnectClient
from lane_client import LaneClient

from snakepit_bridge.engine import Engine
from snakepit_bridge.worker import Worker

EngineFactory = Callable[..., Engine]


class LocalServed:
    """A worker in this process serving its local lanes, and the pool's end of them."""

    def __init__(self, worker: Worker, client: LaneClient) -> None:
        self.worker = worker
        self.client = client
        self.engine = worker.engine


LanesFactory = Callable[..., LocalServed]


class ConnectServed:
    """A worker in this process serving Connect; ``client()`` opens a keep-alive connection."""

    def __init__(self, worker: Worker, address: str, token: str | None) -> None:
        self.worker = worker
        self.address = address
        self.engine = worker.engine
        self._token = token
        self.clients: list[ConnectClient] = []

    def client(self, **options: Any) -> ConnectClient:
        options.setdefault("token", self._token)
        c = ConnectClient(self.address, **options)
        self.clients.append(c)
        return c


ConnectFactory = Callable[..., ConnectServed]
