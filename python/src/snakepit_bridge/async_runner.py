"""The worker's single asyncio event-loop thread, on which every ``async def`` tool runs."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from .call_context import CallContext, activate
from .errors import CancelledError

T = TypeVar("T")

log = logging.getLogger("snakepit_bridge")


class _Escaped(Exception):
    """Carries a SystemExit or KeyboardInterrupt raised by an async tool off the loop."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(repr(original))
        self.original = original


class _TaskHandle:
    """Lets another thread cancel a task that may not have started yet (loop thread only)."""

    def __init__(self) -> None:
        self.task: asyncio.Task[Any] | None = None
        self.cancel_requested = False

    def cancel(self) -> None:
        self.cancel_requested = True
        if self.task is not None:
            self.task.cancel()


class AsyncRunner:
    """Owns one event loop on a daemon thread; calls block the calling thread until done."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        # Futures threads are waiting on: stop() fails them, since a stopped loop
        # would never finish them and their threads would wait forever.
        self._waiting: set[concurrent.futures.Future[Any]] = set()

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        # Started lazily so adapters without async tools never pay for the thread.
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=_run_loop, args=(loop,), name="snakepit-asyncio", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T], ctx: CallContext, *, cancellable: bool = True) -> T:
        """Run ``coro`` on the loop as the current call ``ctx``; block until it finishes.

        When ``ctx`` is cancelled the task is cancelled (``asyncio.CancelledError`` at its
        next await) and this waits for the coroutine to actually finish, so its cleanup
        has run when the call's outcome is reported. ``cancellable=False`` is for cleanup
        (``aclose()``) that must run even though the call is already cancelled.
        """
        loop = self._ensure_loop()
        handle = _TaskHandle()

        async def wrapper() -> T:
            handle.task = asyncio.current_task()
            if handle.cancel_requested:
                coro.close()
                raise asyncio.CancelledError()
            # Each task runs in its own copy of the context, so this stays local to it.
            with activate(ctx):
                try:
                    return await coro
                except (SystemExit, KeyboardInterrupt) as exc:
                    # asyncio re-raises these two out of run_forever(), which would end
                    # the loop's thread for every later async call: carry them out instead.
                    raise _Escaped(exc) from None

        def request_cancel() -> None:
            with contextlib.suppress(RuntimeError):  # the loop already closed (shutdown)
                loop.call_soon_threadsafe(handle.cancel)

        future = asyncio.run_coroutine_threadsafe(wrapper(), loop)
        with self._lock:
            self._waiting.add(future)
            stopped = self._loop is not loop
        if stopped:
            _fail(future)
        remove: Callable[[], None] = ctx.on_cancel(request_cancel) if cancellable else _nothing
        try:
            return future.result()
        except _Escaped as escaped:
            raise escaped.original from None  # the tool's own SystemExit / KeyboardInterrupt
        except (concurrent.futures.CancelledError, asyncio.CancelledError):
            ctx.check()  # raises our CancelledError with the reason
            raise CancelledError(f"call {ctx.call_id!r} was cancelled") from None
        finally:
            remove()
            with self._lock:
                self._waiting.discard(future)

    def stop(self) -> None:
        with self._lock:
            loop, self._loop = self._loop, None
            waiting = list(self._waiting)
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # closed meanwhile
                loop.call_soon_threadsafe(_cancel_then_stop, loop)
        for future in waiting:
            _fail(future)


def _cancel_then_stop(loop: asyncio.AbstractEventLoop) -> None:
    """On the loop: cancel what still runs (its cleanup runs in the next step), then stop."""
    for task in asyncio.all_tasks(loop):
        task.cancel()
    loop.call_soon(loop.stop)


def _fail(future: concurrent.futures.Future[Any]) -> None:
    """Wake a thread waiting on a coroutine that will never finish (the loop stopped)."""
    with contextlib.suppress(concurrent.futures.InvalidStateError):
        if not future.done():
            future.set_exception(RuntimeError("the worker's event loop stopped before the async tool finished"))


def _nothing() -> None:
    pass


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        while True:
            try:
                loop.run_forever()
                return  # stop() was called
            except BaseException:  # noqa: BLE001 - e.g. a callback a tool scheduled raised SystemExit
                # The loop serves every async tool of this worker: log and keep it running.
                log.exception("a callback on the worker's event loop raised; the loop goes on")
    finally:
        loop.close()
