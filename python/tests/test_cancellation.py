"""Cancellation and deadlines: through the engine and through the local lanes."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from serving import EngineFactory, LanesFactory
from helpers import chunk_value, request, result_of, wait_until
from sample_adapters import Probe
from snakepit_fixtures import cancel as cancel_fixture
from snakepit_fixtures.cancel import CancelAdapter

from snakepit_bridge import CallContext, CancelledError, current_call


def test_current_call_outside_a_call_is_never_cancelled() -> None:
    ctx = current_call()
    assert (ctx.call_id, ctx.cancelled, ctx.deadline) == ("", False, None)
    assert ctx.time_remaining() is None
    ctx.check()


def test_call_context_check_and_deadline() -> None:
    ctx = CallContext("c", "t", deadline=time.time() - 1)
    assert ctx.cancelled and ctx.cancel_reason == "deadline" and ctx.time_remaining() == 0
    with pytest.raises(CancelledError, match="deadline"):
        ctx.check()
    fired: list[int] = []
    live = CallContext("d", "t")
    live.on_cancel(lambda: fired.append(1))
    assert live.cancel("cancel_rpc") and not live.cancel("deadline")
    assert fired == [1] and live.cancel_reason == "cancel_rpc" and live.cancel_event.is_set()


def test_context_reaches_the_tool(make_engine: EngineFactory) -> None:
    engine = make_engine(Probe())
    req = request("context", call_id="abc")
    req.session_id = "sess-1"
    req.headers["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    seen = result_of(engine.execute(req))
    assert seen["call_id"] == "abc" and seen["tool"] == "context" and seen["session_id"] == "sess-1"
    assert seen["headers"] == {"traceparent": req.headers["traceparent"]}
    assert seen["deadline"] is None and seen["remaining"] is None
    assert result_of(engine.execute(request("async_context", call_id="async-id"))) == "async-id"


def test_transport_deadline_reaches_current_call(make_engine: EngineFactory) -> None:
    engine = make_engine(CancelAdapter())
    before = time.time()
    info = result_of(engine.execute(request("deadline_info"), transport_deadline=time.time() + 5))
    assert before + 4.9 < info["deadline"] <= time.time() + 5
    assert 4.9 < info["remaining"] <= 5


def test_the_earlier_deadline_wins(make_engine: EngineFactory) -> None:
    engine = make_engine(CancelAdapter())
    deadline_ms = int((time.time() + 30) * 1000)
    req = request("deadline_info")
    req.deadline_unix_ms = deadline_ms
    info = result_of(engine.execute(req, transport_deadline=time.time() + 60))
    assert info["deadline"] == pytest.approx(deadline_ms / 1000)
    assert 29 < info["remaining"] <= 30
    sooner = time.time() + 10
    info = result_of(engine.execute(req, transport_deadline=sooner))
    assert info["deadline"] == sooner


def test_request_deadline_cancels_a_cooperative_tool(make_engine: EngineFactory) -> None:
    engine = make_engine(CancelAdapter())
    req = request("wait_for_cancel", marker="deadline-1", timeout=10)
    req.deadline_unix_ms = int((time.time() + 0.2) * 1000)
    started = time.monotonic()
    assert engine.execute(req).error.code == "deadline_exceeded"
    assert time.monotonic() - started < 2
    assert cancel_fixture.STATE["deadline-1"] == "cancelled"


def test_a_deadline_wakes_a_tool_waiting_on_cancel_event(make_engine: EngineFactory) -> None:
    engine = make_engine(Probe())
    started = time.monotonic()
    response = engine.execute(request("block_on_event"), transport_deadline=time.time() + 0.2)
    assert response.error.code == "deadline_exceeded"
    assert time.monotonic() - started < 2


def test_transport_deadline_cancels_the_tool(make_engine: EngineFactory) -> None:
    engine = make_engine(CancelAdapter())
    response = engine.execute(request("wait_for_cancel", marker="deadline-2"), transport_deadline=time.time() + 0.2)
    assert response.error.code == "deadline_exceeded"
    assert cancel_fixture.STATE.get("deadline-2") == "cancelled"
    assert engine.health().active_calls == 0


def test_cancel_reaches_a_sync_tool(make_engine: EngineFactory) -> None:
    probe = Probe()
    engine = make_engine(probe)
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(engine.execute, request("block", call_id="victim"))
        assert probe.started.wait(5)  # running inside the tool, not just registered
        reply = engine.cancel("victim", 5.0)
        assert (reply.found, reply.finished) == (True, True)
        error = future.result(5).error
    assert error.code == "aborted" and error.python_type == "snakepit_bridge.CancelledError"
    assert probe.started.is_set() and not probe.release.is_set()  # it was the cancel that ended it
    assert not engine.cancel("victim").found
    assert engine.cancel("never-existed").finished


def test_cancel_reaches_an_async_tool(make_engine: EngineFactory) -> None:
    engine = make_engine(CancelAdapter())
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(engine.execute, request("async_wait_for_cancel", call_id="async-victim", marker="async-1"))
        wait_until(lambda: engine.health().active_calls == 1)
        # The call may be registered before its task starts; cancel must work either way.
        assert engine.cancel("async-victim").found
        assert future.result(5).error.code == "aborted"
    # The outcome is reported only after the coroutine handled its CancelledError.
    assert cancel_fixture.STATE.get("async-1") in ("cancelled", None)


def test_cancel_reaches_a_running_coroutine(make_engine: EngineFactory) -> None:
    probe = Probe()
    engine = make_engine(probe)
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(engine.execute, request("async_block", call_id="a"))
        assert probe.started.wait(5)
        assert engine.cancel("a").found
        assert future.result(5).error.code == "aborted"
    assert probe.async_cancelled.is_set()


def test_tool_raising_cancelled_without_a_cancel_is_aborted(make_engine: EngineFactory) -> None:
    assert make_engine(Probe()).execute(request("raise_cancelled")).error.code == "aborted"


def test_closing_a_stream_closes_the_generator(make_engine: EngineFactory) -> None:
    engine = make_engine(CancelAdapter())
    messages = engine.stream(request("stream_until_closed", marker="stream-1", delay=0.01))
    assert [chunk_value(next(messages)) for _ in range(3)] == [0, 1, 2]
    messages.close()
    assert cancel_fixture.STATE.get("stream-1") == "closed"
    assert engine.health().active_calls == 0


def test_closing_a_stream_closes_an_async_generator(make_engine: EngineFactory) -> None:
    probe = Probe()
    engine = make_engine(probe)
    messages = engine.stream(request("async_endless"))
    assert chunk_value(next(messages)) == 0
    messages.close()
    assert probe.closed.wait(2)


def test_cancel_ends_a_stream_with_aborted(make_engine: EngineFactory) -> None:
    engine = make_engine(CancelAdapter())
    messages = engine.stream(request("stream_until_closed", call_id="sv", marker="stream-2"))
    next(messages)
    assert engine.cancel("sv").found
    rest = list(messages)
    assert rest[-1].error.code == "aborted"
    assert cancel_fixture.STATE["stream-2"] == "closed"


def test_stream_runs_to_the_end(make_engine: EngineFactory) -> None:
    engine = make_engine(CancelAdapter())
    messages = engine.stream(request("stream_until_closed", marker="stream-3", n=3, delay=0))
    assert [chunk_value(m) for m in messages] == [0, 1, 2]
    assert cancel_fixture.STATE["stream-3"] == "finished"


def test_deadline_while_waiting_for_a_slot(make_engine: EngineFactory) -> None:
    probe = Probe()
    engine = make_engine(probe, threads=1)
    with ThreadPoolExecutor(1) as pool:
        busy = pool.submit(engine.execute, request("block", call_id="busy"))
        assert probe.started.wait(5)
        req = request("echo", call_id="late", value=1)
        req.deadline_unix_ms = int((time.time() + 0.1) * 1000)
        assert engine.execute(req).error.code == "deadline_exceeded"
        probe.release.set()
        assert result_of(busy.result(5)) == "released"


def test_a_cancel_that_overtakes_its_call_cancels_it_at_start(make_engine: EngineFactory) -> None:
    engine = make_engine(Probe())
    assert not engine.cancel("late-call").found  # not running yet
    assert engine.execute(request("context", call_id="late-call")).error.code == "aborted"
    assert result_of(engine.execute(request("context", call_id="other-call")))["call_id"] == "other-call"


# ---- over the local lanes ---------------------------------------------------------------


def test_a_cancel_frame_reaches_a_call_running_inline(lanes: LanesFactory) -> None:
    """threads=1: the call runs on the data lane's reader; the cancel comes on the control lane."""
    probe = Probe()
    client = lanes(probe, threads=1).client
    future = client.execute_async(request("block", call_id="inline"))
    assert probe.started.wait(5)
    reply = client.cancel("inline", wait_ms=2000)
    assert (reply.found, reply.finished) == (True, True)
    assert future.result(5).error.code == "aborted"


def test_a_cancel_frame_that_overtakes_its_call(lanes: LanesFactory) -> None:
    served = lanes(CancelAdapter(), threads=1)
    reply = served.client.cancel("not-yet")
    assert (reply.found, reply.finished) == (False, True)
    response = served.client.execute(request("wait_for_cancel", call_id="not-yet", marker="lane-2"))
    assert response.error.code == "aborted"


def test_a_cancel_that_waits_does_not_hold_up_the_control_lane(lanes: LanesFactory) -> None:
    probe = Probe()
    served = lanes(probe, threads=1)
    client = served.client
    future = client.execute_async(request("ignore_cancel_until_released", call_id="stubborn"))
    assert probe.started.wait(5)
    pending = client.cancel_async("stubborn", wait_ms=5000)
    started = time.monotonic()
    assert client.health(timeout=2).active_calls == 1  # answered while the cancel waits
    assert time.monotonic() - started < 1
    assert not pending.done()
    probe.release.set()
    reply = pending.result(5).cancel_reply
    assert (reply.found, reply.finished) == (True, True)
    assert result_of(future.result(5)) == "done"


def test_a_cancel_wait_that_runs_out_says_not_finished(lanes: LanesFactory) -> None:
    probe = Probe()
    served = lanes(probe, threads=1)
    future = served.client.execute_async(request("ignore_cancel_until_released", call_id="slow"))
    assert probe.started.wait(5)
    reply = served.client.cancel("slow", wait_ms=50)
    assert (reply.found, reply.finished) == (True, False)
    probe.release.set()
    future.result(5)


def test_a_cancelled_stream_ends_and_closes_its_generator(lanes: LanesFactory) -> None:
    served = lanes(CancelAdapter(), threads=1)
    stream = served.client.stream(request("stream_until_closed", call_id="st", marker="lane-3", delay=0.01))
    assert chunk_value(next(stream)) == 0
    assert served.client.cancel("st", wait_ms=2000).finished
    rest = list(stream)  # ends with the end frame (perhaps after an aborted error)
    assert all(m.WhichOneof("kind") == "chunk" for m in rest[:-1])
    assert not rest or rest[-1].WhichOneof("kind") == "chunk" or rest[-1].error.code == "aborted"
    assert cancel_fixture.STATE["lane-3"] == "closed"


def test_a_cancel_frees_a_stream_waiting_for_credit(lanes: LanesFactory) -> None:
    probe = Probe()
    served = lanes(probe, threads=1)
    client = served.client
    chunks = list(_take(client.stream(request("endless", call_id="greedy"), auto_credit=False), 16))
    assert len(chunks) == 16  # the window; then the worker waits for credit
    wait_until(lambda: client.health().active_calls == 1)
    assert client.cancel("greedy", wait_ms=2000).finished
    assert probe.closed.wait(2)
    assert served.engine.health().active_calls == 0


def _take(it, n):  # type: ignore[no-untyped-def]
    for _ in range(n):
        yield next(it)
