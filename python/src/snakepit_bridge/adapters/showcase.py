"""A small adapter that exercises every kind of tool; used by demos, docs and tests.

Run it with ``--adapter snakepit_bridge.adapters.showcase:ShowcaseAdapter``.
"""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import os
import threading
from collections.abc import Iterator
from typing import Any, TypedDict

from snakepit_bridge import ThreadSafeAdapter, current_call, tool
from ._workloads import burn, cancellable_sleep


class Step(TypedDict):
    """One update of ``progress``."""

    step: int
    of: int


class RoundTrip(TypedDict):
    """What ``bytes_roundtrip`` returns."""

    data: bytes
    length: int
    sha256: str


class ShowcaseAdapter(ThreadSafeAdapter):
    """Stateless demo tools, safe to run on several threads at once."""

    @tool
    def add(self, a: int, b: int) -> int:
        """Add two integers and return the sum."""
        return a + b

    @tool
    def echo(self, value: Any) -> Any:
        """Return `value` unchanged (any JSON value, bytes and big ints included)."""
        return value

    @tool
    def noop(self) -> None:
        """Do nothing and return None; measures the bare round-trip cost."""
        return None

    @tool
    def sleep(self, seconds: float) -> float:
        """Sleep for `seconds`, ending early with CancelledError if the call is cancelled.

        Returns the number of seconds actually slept.
        """
        return cancellable_sleep(seconds)

    @tool
    def cpu_burn(self, n: int) -> int:
        """Run a pure-Python loop of `n` iterations (holds the GIL); returns a checksum."""
        return burn(n)

    @tool
    def hash_bytes(self, data: bytes, rounds: int = 1) -> str:
        """SHA-256 of `data`, re-hashed `rounds` times; returns the hex digest.

        hashlib releases the GIL for large inputs, so this scales across threads.
        """
        digest = data
        for _ in range(max(1, rounds)):
            digest = hashlib.sha256(digest).digest()
        return digest.hex()

    @tool
    def progress(self, steps: int = 5, delay: float = 0.0) -> Iterator[Step]:
        """Stream `{"step": i, "of": steps}` for i in 1..steps, waiting `delay` s between steps."""
        call = current_call()
        for i in range(1, steps + 1):
            if delay > 0 and i > 1 and call.cancel_event.wait(delay):
                call.check()  # cancelled while waiting: raises CancelledError
            yield {"step": i, "of": steps}

    @tool
    def fail(self, message: str = "boom", kind: str = "ValueError") -> None:
        """Raise the builtin exception type named `kind` with `message` (for error paths)."""
        exc_type = getattr(builtins, kind, None)
        if not (isinstance(exc_type, type) and issubclass(exc_type, BaseException)):
            raise ValueError(f"kind must name a builtin exception type, got {kind!r}")
        raise exc_type(message)

    @tool
    def bytes_roundtrip(self, data: bytes) -> RoundTrip:
        """Return `{"data": data, "length": len(data), "sha256": hex digest}`."""
        return {"data": data, "length": len(data), "sha256": hashlib.sha256(data).hexdigest()}

    @tool
    async def async_add(self, a: int, b: int) -> int:
        """Add two integers in an `async def` tool (runs on the worker's event loop)."""
        await asyncio.sleep(0)
        return a + b

    @tool
    def whoami(self) -> dict[str, Any]:
        """Return `{"pid": ..., "thread": ...}` of the process and thread running the call."""
        return {"pid": os.getpid(), "thread": threading.current_thread().name}

    @tool
    def consume(self, data: bytes | str) -> int:
        """Take bytes or text and return its length (a one-way transfer to Python)."""
        return len(data)

    @tool
    def produce(self, size: int, kind: str = "bytes") -> bytes | str:
        """Return `size` bytes (kind="bytes") or characters (kind="text") (a one-way transfer to Node)."""
        if kind == "text":
            return "x" * size
        return bytes(size)
