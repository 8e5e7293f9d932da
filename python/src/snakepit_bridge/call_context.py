"""Per-call state (cancellation, deadline, headers) reachable from inside a tool."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from .errors import CancelledError

# Guards cancellation state of every CallContext: cancelling is rare, so one
# shared lock is cheaper than a lock per call.
_STATE_LOCK = threading.Lock()

# Why a call stopped early; the first reason wins.
CLIENT_CANCELLED = "client_cancelled"
CANCEL_RPC = "cancel_rpc"
DEADLINE = "deadline"
SHUTDOWN = "shutdown"


class CallContext:
    """What a running tool can learn about, and how it can cooperate with, its call.

    Sync tools are cancelled cooperatively: they should look at ``cancelled``, call
    ``check()`` or wait on ``cancel_event`` now and then. ``async def`` tools also
    receive ``asyncio.CancelledError`` at their next ``await``.
    """

    def __init__(
        self,
        call_id: str = "",
        tool: str = "",
        session_id: str = "",
        deadline: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.call_id = call_id
        self.tool = tool
        self.session_id = session_id
        #: Absolute Unix time in seconds, or None when the call has no deadline.
        self.deadline = deadline
        self.headers: dict[str, str] = dict(headers) if headers else {}
        self.cancel_reason: str | None = None
        # Created on first use: most calls finish without anyone waiting on them,
        # and an Event (a Condition and two locks) costs more than a no-op call.
        self._event: threading.Event | None = None
        # Also made on first use (on_cancel): most calls register no callback.
        self._callbacks: list[Callable[[], None]] | None = None
        # Set by the worker: arms a timer that cancels the call at its deadline. Only
        # something that waits to be woken (cancel_event, on_cancel) needs that timer;
        # ``cancelled`` and ``check()`` read the clock. So it is armed on first such use.
        self.arm_deadline: Callable[[CallContext], None] | None = None
        # Set by arm_deadline: unschedules that timer when the call ends.
        self.disarm_deadline: Callable[[], None] | None = None

    def _need_deadline_timer(self) -> None:
        arm, self.arm_deadline = self.arm_deadline, None
        if arm is not None and self.deadline is not None:
            arm(self)

    @property
    def cancel_event(self) -> threading.Event:
        """Set once the call is cancelled; tools may ``wait()`` on it instead of sleeping."""
        if self._event is None:
            self._need_deadline_timer()
            with _STATE_LOCK:
                if self._event is None:
                    event = threading.Event()
                    if self.cancel_reason is not None:
                        event.set()
                    self._event = event
        return self._event

    def __repr__(self) -> str:
        return (
            f"CallContext(call_id={self.call_id!r}, tool={self.tool!r}, "
            f"cancelled={self.cancelled}, deadline={self.deadline!r})"
        )

    @property
    def cancelled(self) -> bool:
        if self.cancel_reason is not None:
            return True
        # The deadline timer may lag a little; never report a passed deadline as live.
        if self.deadline is not None and time.time() >= self.deadline:
            self.cancel(DEADLINE)
            return True
        return False

    def time_remaining(self) -> float | None:
        """Seconds until the deadline (never negative), or None without a deadline."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - time.time())

    def check(self) -> None:
        """Raise :class:`CancelledError` if the call was cancelled or its deadline passed."""
        if self.cancelled:
            if self.cancel_reason == DEADLINE:
                raise CancelledError(f"deadline exceeded for call {self.call_id!r}")
            raise CancelledError(f"call {self.call_id!r} was cancelled ({self.cancel_reason})")

    def cancel(self, reason: str = CANCEL_RPC) -> bool:
        """Mark the call cancelled; returns False if it already was. Used by the worker."""
        with _STATE_LOCK:
            if self.cancel_reason is not None:
                return False
            self.cancel_reason = reason
            callbacks, self._callbacks = self._callbacks, None
            event = self._event
        if event is not None:
            event.set()
        for callback in callbacks or ():
            callback()
        return True

    def on_cancel(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Run ``callback`` once when cancelled (now, if already); returns an unregister hook."""
        self._need_deadline_timer()
        with _STATE_LOCK:
            if self.cancel_reason is None:
                if self._callbacks is None:
                    self._callbacks = []
                self._callbacks.append(callback)

                def remove() -> None:
                    with _STATE_LOCK:
                        if self._callbacks is not None and callback in self._callbacks:
                            self._callbacks.remove(callback)

                return remove
        callback()
        return lambda: None


_current: contextvars.ContextVar[CallContext | None] = contextvars.ContextVar(
    "snakepit_current_call", default=None
)


def current_call() -> CallContext:
    """The context of the tool call running in this thread or task.

    Outside a call (e.g. a tool method called directly in a unit test) this returns a
    fresh context that is never cancelled, so tools stay callable as plain methods.
    """
    ctx = _current.get()
    return ctx if ctx is not None else CallContext()


#: ``token = set_current(ctx)`` ... ``reset_current(token)``: what ``activate`` does, as
#: two C calls for the per-call hot path (a context manager costs more than a no-op tool).
set_current = _current.set
reset_current = _current.reset


@contextmanager
def activate(ctx: CallContext) -> Iterator[None]:
    """Make ``ctx`` the current call for the duration of the block."""
    token = _current.set(ctx)
    try:
        yield
    finally:
        _current.reset(token)
