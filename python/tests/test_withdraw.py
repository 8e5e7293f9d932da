"""Withdraw: the pool takes back a call the worker has not started (it was pipelined)."""

from __future__ import annotations

import pytest

from snakepit_bridge import errors
from snakepit_bridge.call_context import CallContext
from snakepit_bridge.calls import CallTracker
from snakepit_bridge.errors import ToolError


def ctx(call_id: str) -> CallContext:
    return CallContext(call_id, "noop", session_id="", deadline=None, headers={})


def test_a_call_withdrawn_before_it_began_never_begins() -> None:
    tracker = CallTracker()
    assert tracker.withdraw("c1") is True
    with pytest.raises(ToolError) as raised:
        tracker.begin(ctx("c1"))
    assert raised.value.code == errors.ABORTED
    assert raised.value.python_type == "snakepit_bridge.Withdrawn"
    assert tracker.active_calls == 0 and tracker.requests_started == 0


def test_a_running_call_is_not_withdrawn_and_runs_on() -> None:
    tracker = CallTracker()
    c = ctx("c1")
    tracker.begin(c)
    assert tracker.withdraw("c1") is False
    assert not c.cancelled
    tracker.end(c)


def test_a_call_that_already_ran_is_not_withdrawn() -> None:
    # Its reply may still be on its way: taking it back would run it twice.
    tracker = CallTracker()
    c = ctx("c1")
    tracker.begin(c)
    tracker.end(c)
    assert tracker.withdraw("c1") is False


def test_calls_that_ran_thousands_of_calls_ago_are_still_not_withdrawn() -> None:
    # The tracker remembers at least the last 4096 ids begun.
    tracker = CallTracker()
    for i in range(4096 * 3):
        c = ctx(f"c{i}")
        tracker.begin(c)
        tracker.end(c)
    assert all(tracker.withdraw(f"c{i}") is False for i in range(4096 * 2, 4096 * 3))
    assert tracker.withdraw("never-sent") is True


def test_calls_sharing_an_id_are_tracked_apart() -> None:
    tracker = CallTracker()
    first, second, third = ctx("same"), ctx("same"), ctx("same")
    for c in (first, second, third):
        tracker.begin(c)
    assert tracker.active_calls == 3 and tracker.requests_started == 3
    tracker.end(second)
    assert tracker.cancel("same", "cancel_rpc") is True
    assert first.cancelled and third.cancelled and not second.cancelled
    assert tracker.is_cancelled("same")
    tracker.end(first)
    assert not tracker.wait_finished("same", 0.0)  # the third still runs
    tracker.end(third)
    assert tracker.wait_finished("same", 0.0) and tracker.active_calls == 0
    assert tracker.cancel("same", "cancel_rpc") is False  # remembered as an early cancel instead
