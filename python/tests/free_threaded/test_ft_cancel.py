"""Cancellation and deadlines reach a pure-Python loop, also while another thread burns CPU.

The tools are driven the way the worker drives them: a ``CallContext`` made current on
the tool's thread (``call_context.activate``), cancelled from another thread, or given a
deadline the tool notices through ``cancelled`` / ``check()``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from snakepit_fixtures import free_threaded as fx

from snakepit_bridge import CancelledError, call_context
from snakepit_bridge.call_context import CallContext


def tools() -> fx.FreeThreadedTools:
    adapter = fx.FreeThreadedTools()
    adapter.setup()
    return adapter


def run_in_call(ctx: CallContext, fn: Any, *args: Any) -> tuple[threading.Thread, list[Any]]:
    outcome: list[Any] = []

    def body() -> None:
        with call_context.activate(ctx):
            try:
                outcome.append(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - handed back to the test
                outcome.append(exc)

    thread = threading.Thread(target=body, name=f"tool-{ctx.call_id}")
    thread.start()
    return thread, outcome


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "condition not met"
        time.sleep(0.002)


@pytest.mark.parametrize("tool", ["loop_until_cancelled", "loop_with_check"])
def test_cancel_stops_a_pure_python_loop_while_a_neighbour_spins(tool: str) -> None:
    adapter = tools()
    neighbour, spun = run_in_call(CallContext("n", "spin"), adapter.spin, 3_000_000)
    ctx = CallContext("c1", tool)
    thread, outcome = run_in_call(ctx, getattr(adapter, tool), "m1", 20.0)
    wait_for(lambda: thread.is_alive() and ctx.cancel_reason is None)
    time.sleep(0.05)  # let the loop run some rounds next to the spinning neighbour
    cancelled_at = time.monotonic()
    assert ctx.cancel(call_context.CANCEL_RPC)
    thread.join(10)
    took = time.monotonic() - cancelled_at
    assert not thread.is_alive()
    assert isinstance(outcome[0], CancelledError)
    assert "cancelled (cancel_rpc)" in str(outcome[0])
    state = adapter.state("m1")
    assert state["outcome"] == "cancelled" and state["reason"] == "cancel_rpc" and state["rounds"] > 0
    # A slice of the loop is 2 000 iterations (well under a millisecond): the cancel is
    # seen long before the 20 s the loop would run. (Generous: not a timing test.)
    assert took < 5.0
    neighbour.join(60)
    assert isinstance(spun[0], dict)


@pytest.mark.parametrize("tool", ["loop_until_cancelled", "loop_with_check"])
def test_a_deadline_stops_a_pure_python_loop(tool: str) -> None:
    adapter = tools()
    ctx = CallContext("d1", tool, deadline=time.time() + 0.3)
    thread, outcome = run_in_call(ctx, getattr(adapter, tool), "m2", 20.0)
    thread.join(10)
    assert not thread.is_alive()
    assert isinstance(outcome[0], CancelledError)
    assert "deadline exceeded for call 'd1'" in str(outcome[0])
    assert adapter.state("m2")["reason"] == call_context.DEADLINE
