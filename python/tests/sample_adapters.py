"""Adapters defined for the in-process servicer tests (events make them deterministic)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

from snakepit_bridge import Adapter, CancelledError, ThreadSafeAdapter, current_call, tool


class CustomError(Exception):
    pass


class Probe(ThreadSafeAdapter):
    """Tools that signal when they start and block until released or cancelled."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.closed = threading.Event()
        self.async_cancelled = threading.Event()
        self.torn_down = threading.Event()
        self.seen: dict[str, Any] = {}

    def teardown(self) -> None:
        self.torn_down.set()

    @tool
    def block(self) -> str:
        """Block until released or cancelled."""
        self.started.set()
        call = current_call()
        while not self.release.wait(0.01):
            call.check()
        return "released"

    @tool
    def block_on_event(self) -> str:
        """Wait on the call's cancel_event: only the deadline timer can wake it."""
        self.started.set()
        call = current_call()
        call.cancel_event.wait(10)
        call.check()
        return "not cancelled"

    @tool
    def ignore_cancel_until_released(self) -> str:
        self.started.set()
        self.release.wait(10)
        return "done"

    @tool
    def context(self) -> dict[str, Any]:
        ctx = current_call()
        return {
            "call_id": ctx.call_id,
            "tool": ctx.tool,
            "session_id": ctx.session_id,
            "headers": ctx.headers,
            "deadline": ctx.deadline,
            "remaining": ctx.time_remaining(),
        }

    @tool
    def raise_type_error_inside(self, x: int) -> int:
        """A TypeError from inside the tool must be a python_error, not invalid_argument."""
        return x + "nope"  # type: ignore[operator]

    @tool
    def bad_result(self) -> dict[str, Any]:
        return {"items": [1, 2, {3}]}

    @tool
    def echo(self, value: Any) -> Any:
        return value

    @tool
    def numbers(self, n: int) -> Iterator[int]:
        yield from range(n)

    @tool
    def numbers_then_fail(self, n: int) -> Iterator[int]:
        yield from range(n)
        raise KeyError("after the numbers")

    @tool
    def endless(self) -> Iterator[int]:
        """Yields forever; records closing in ``closed``."""
        try:
            i = 0
            while True:
                self.started.set()
                yield i
                i += 1
                current_call().cancel_event.wait(0.01)
        finally:
            self.closed.set()

    @tool
    async def async_block(self) -> str:
        self.started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            self.async_cancelled.set()
            raise
        return "slept"

    @tool
    async def async_context(self) -> str:
        await asyncio.sleep(0)
        return current_call().call_id

    @tool
    async def async_numbers(self, n: int) -> AsyncIterator[int]:
        for i in range(n):
            await asyncio.sleep(0)
            yield i

    @tool
    async def async_endless(self) -> AsyncIterator[int]:
        try:
            i = 0
            while True:
                self.started.set()
                yield i
                i += 1
                await asyncio.sleep(0.01)
        finally:
            self.closed.set()

    @tool
    def raise_custom(self) -> None:
        raise CustomError("custom")

    @tool
    def raise_cancelled(self) -> None:
        raise CancelledError("gave up")


class SingleThreaded(Adapter):
    @tool
    def ping(self) -> str:
        return "pong"
