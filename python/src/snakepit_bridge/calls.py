"""Book-keeping of the calls a worker is running: counts, lookup by id, draining."""

from __future__ import annotations

import threading
from collections.abc import Callable

from . import errors
from .call_context import CallContext
from .errors import ToolError


_MAX_EARLY_CANCELS = 1024
# Ids of the most recent calls begun (at least this many): a withdraw must never take
# back a call that has already run (its reply may still be on its way), and the calls
# a pool withdraws were sent a moment ago, so a short memory is enough.
_RECENT_BEGUN = 4096
# The python_type of the answer to a withdrawn call: the pool may get it before the
# withdraw's own reply (they travel on different lanes) and must know it for what it is.
WITHDRAWN_TYPE = "snakepit_bridge.Withdrawn"


class CallTracker:
    """Thread-safe registry of running calls; also the worker's draining switch."""

    def __init__(self) -> None:
        # The per-call path takes the plain lock itself (a C call); the condition on
        # it is only for the threads that wait (wait_idle, wait_finished).
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._waiting = 0  # threads in wait_idle/wait_finished: only they need a notify
        # A running call by id; a list only while several calls share an id (rare), so
        # the usual call allocates no list.
        self._calls: dict[str, CallContext | list[CallContext]] = {}
        self.active_calls = 0
        self.requests_started = 0
        self.draining = False
        # Ids cancelled before their call began (a cancel can overtake its call, e.g. a
        # call still in the socket buffer behind another): such a call starts cancelled.
        self._cancelled_early: dict[str, str] = {}
        # Calls taken back before they began (withdraw): they never run.
        self._withdrawn: set[str] = set()
        # Two generations of begun ids: when the newer is full it becomes the older and
        # the oldest is forgotten at once. At least the last _RECENT_BEGUN ids are known,
        # for one set.add per call (an ordered window costs a deque push and pop too).
        self._recent: set[str] = set()
        self._older: set[str] = set()

    def begin(self, ctx: CallContext) -> None:
        """Register a new call; refuse it with ``internal`` once draining."""
        call_id = ctx.call_id
        with self._lock:
            if self.draining:
                raise ToolError(errors.INTERNAL, "worker is draining")
            if self._withdrawn and call_id in self._withdrawn:
                self._withdrawn.discard(call_id)
                raise ToolError(errors.ABORTED, f"call {call_id} was withdrawn before it started", python_type=WITHDRAWN_TYPE)
            recent = self._recent
            recent.add(call_id)
            if len(recent) >= _RECENT_BEGUN:
                self._older, self._recent = recent, set()
            self.active_calls += 1
            self.requests_started += 1
            running = self._calls.setdefault(call_id, ctx)
            if running is not ctx:
                self._calls[call_id] = [*running, ctx] if type(running) is list else [running, ctx]
            early = self._cancelled_early.pop(call_id, None) if self._cancelled_early else None
        if early is not None:
            ctx.cancel(early)

    def end(self, ctx: CallContext) -> None:
        call_id = ctx.call_id
        with self._lock:
            self.active_calls -= 1
            running = self._calls.get(call_id)
            if running is ctx:
                del self._calls[call_id]
            elif type(running) is list and ctx in running:
                others = [other for other in running if other is not ctx]
                self._calls[call_id] = others[0] if len(others) == 1 else others
            if self._waiting:
                self._cond.notify_all()

    def _running(self, call_id: str) -> list[CallContext]:
        """The calls with this id (caller holds the lock)."""
        running = self._calls.get(call_id)
        if running is None:
            return []
        return list(running) if type(running) is list else [running]  # type: ignore[list-item]

    def cancel(self, call_id: str, reason: str) -> bool:
        """Cancel the running call(s) with this id; False when there is none."""
        with self._lock:
            targets = self._running(call_id)
            if not targets:
                self._cancelled_early[call_id] = reason
                while len(self._cancelled_early) > _MAX_EARLY_CANCELS:
                    del self._cancelled_early[next(iter(self._cancelled_early))]
        for ctx in targets:
            ctx.cancel(reason)
        return bool(targets)

    def withdraw(self, call_id: str) -> bool:
        """Take back a call that has not begun: True if it never will; False if it has begun."""
        with self._lock:
            if call_id in self._recent or call_id in self._older or call_id in self._calls:
                return False
            self._withdrawn.add(call_id)
            while len(self._withdrawn) > _MAX_EARLY_CANCELS:
                self._withdrawn.pop()
            return True

    def is_cancelled(self, call_id: str) -> bool:
        """True when no call with this id runs any more, or one with it was cancelled."""
        with self._lock:
            same_id = self._running(call_id)
        return not same_id or any(ctx.cancelled for ctx in same_id)

    def wait_finished(self, call_id: str, timeout: float) -> bool:
        """Wait until no call with this id runs; False if ``timeout`` seconds passed first."""
        return self._wait_until(lambda: call_id not in self._calls, timeout)

    def cancel_all(self, reason: str) -> None:
        with self._lock:
            targets = [ctx for call_id in self._calls for ctx in self._running(call_id)]
        for ctx in targets:
            ctx.cancel(reason)

    def start_draining(self) -> None:
        with self._lock:
            self.draining = True

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no call is running; False if ``timeout`` seconds passed first."""
        return self._wait_until(lambda: self.active_calls == 0, timeout)

    def _wait_until(self, done: Callable[[], bool], timeout: float) -> bool:
        with self._cond:
            self._waiting += 1  # so end() knows to notify
            try:
                return self._cond.wait_for(done, max(0.0, timeout))
            finally:
                self._waiting -= 1
