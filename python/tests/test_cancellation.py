"""Cancellation and deadlines: transport cancel, Cancel RPC, deadlines, async tools, streams."""

from __future__ import annotations

import time

import grpc
import pytest
from conftest import ServeFactory
from helpers import chunk_value, request, result_of, wait_until
from sample_adapters import Probe
from snakepit_fixtures import cancel as cancel_fixture
from snakepit_fixtures.cancel import CancelAdapter

from snakepit_bridge import CallContext, CancelledError, current_call
from snakepit_bridge._proto import worker_pb2


def active_calls(stub: object) -> int:
    return stub.Health(worker_pb2.HealthRequest()).active_calls  # type: ignore[attr-defined]


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


def test_context_reaches_the_tool(serve: ServeFactory) -> None:
    stub = serve(Probe()).stub
    req = request("context", call_id="abc")
    req.session_id = "sess-1"
    req.headers["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    seen = result_of(stub.Execute(req))
    assert seen["call_id"] == "abc" and seen["tool"] == "context" and seen["session_id"] == "sess-1"
    assert seen["headers"] == {"traceparent": req.headers["traceparent"]}
    assert seen["deadline"] is None and seen["remaining"] is None
    assert result_of(stub.Execute(request("async_context", call_id="async-id"))) == "async-id"


def test_transport_deadline_reaches_current_call(serve: ServeFactory) -> None:
    stub = serve(CancelAdapter()).stub
    before = time.time()
    info = result_of(stub.Execute(request("deadline_info"), timeout=5))
    assert before + 4 < info["deadline"] <= time.time() + 5.1
    assert 4 < info["remaining"] <= 5.1  # grpc rounds the transport deadline


def test_request_deadline_reaches_current_call(serve: ServeFactory) -> None:
    stub = serve(CancelAdapter()).stub
    deadline_ms = int((time.time() + 30) * 1000)
    req = request("deadline_info")
    req.deadline_unix_ms = deadline_ms
    info = result_of(stub.Execute(req, timeout=60))  # the earlier deadline wins
    assert info["deadline"] == pytest.approx(deadline_ms / 1000)
    assert 29 < info["remaining"] <= 30


def test_request_deadline_cancels_a_cooperative_tool(serve: ServeFactory) -> None:
    stub = serve(CancelAdapter()).stub
    req = request("wait_for_cancel", marker="deadline-1", timeout=10)
    req.deadline_unix_ms = int((time.time() + 0.2) * 1000)
    started = time.monotonic()
    error = stub.Execute(req).error
    assert error.code == "deadline_exceeded"
    assert time.monotonic() - started < 2
    assert cancel_fixture.STATE["deadline-1"] == "cancelled"


def test_transport_deadline_cancels_the_tool(serve: ServeFactory) -> None:
    stub = serve(CancelAdapter()).stub
    with pytest.raises(grpc.RpcError) as info:
        stub.Execute(request("wait_for_cancel", marker="deadline-2"), timeout=0.2)
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    wait_until(lambda: cancel_fixture.STATE.get("deadline-2") == "cancelled")
    wait_until(lambda: active_calls(stub) == 0)


def test_client_cancel_reaches_a_sync_tool(serve: ServeFactory) -> None:
    stub = serve(CancelAdapter()).stub
    future = stub.Execute.future(request("wait_for_cancel", marker="client-1"))
    wait_until(lambda: active_calls(stub) == 1)
    future.cancel()
    wait_until(lambda: cancel_fixture.STATE.get("client-1") == "cancelled")
    wait_until(lambda: active_calls(stub) == 0)


def test_cancel_rpc(serve: ServeFactory) -> None:
    stub = serve(CancelAdapter()).stub
    future = stub.Execute.future(request("wait_for_cancel", call_id="victim", marker="rpc-1"))
    wait_until(lambda: active_calls(stub) == 1)
    assert stub.Cancel(worker_pb2.CancelRequest(call_id="victim")).found
    error = future.result(timeout=5).error
    assert error.code == "aborted" and error.python_type == "snakepit_bridge.CancelledError"
    assert cancel_fixture.STATE["rpc-1"] == "cancelled"
    assert not stub.Cancel(worker_pb2.CancelRequest(call_id="victim")).found
    assert not stub.Cancel(worker_pb2.CancelRequest(call_id="never-existed")).found


def test_cancel_rpc_reaches_an_async_tool(serve: ServeFactory) -> None:
    stub = serve(CancelAdapter()).stub
    future = stub.Execute.future(
        request("async_wait_for_cancel", call_id="async-victim", marker="async-1")
    )
    wait_until(lambda: active_calls(stub) == 1)
    # The call may be registered before its task starts; Cancel must work either way.
    assert stub.Cancel(worker_pb2.CancelRequest(call_id="async-victim")).found
    assert future.result(timeout=5).error.code == "aborted"
    # The outcome is reported only after the coroutine handled its CancelledError.
    assert cancel_fixture.STATE.get("async-1") in ("cancelled", None)


def test_cancel_reaches_a_running_coroutine(serve: ServeFactory) -> None:
    probe = Probe()
    stub = serve(probe).stub
    future = stub.Execute.future(request("async_block", call_id="a"))
    assert probe.started.wait(5)
    assert stub.Cancel(worker_pb2.CancelRequest(call_id="a")).found
    assert future.result(timeout=5).error.code == "aborted"
    assert probe.async_cancelled.is_set()


def test_client_cancel_reaches_a_running_coroutine(serve: ServeFactory) -> None:
    probe = Probe()
    stub = serve(probe).stub
    future = stub.Execute.future(request("async_block"))
    assert probe.started.wait(5)
    future.cancel()
    assert probe.async_cancelled.wait(5)


def test_tool_raising_cancelled_without_a_cancel_is_aborted(serve: ServeFactory) -> None:
    stub = serve(Probe()).stub
    assert stub.Execute(request("raise_cancelled")).error.code == "aborted"


def test_stream_cancel_closes_the_generator(serve: ServeFactory) -> None:
    stub = serve(CancelAdapter()).stub
    call = stub.Stream(request("stream_until_closed", marker="stream-1", delay=0.01))
    assert [chunk_value(next(call)) for _ in range(3)] == [0, 1, 2]
    call.cancel()
    wait_until(lambda: cancel_fixture.STATE.get("stream-1") == "closed", timeout=2)
    wait_until(lambda: active_calls(stub) == 0)


def test_stream_cancel_closes_a_fast_generator(serve: ServeFactory) -> None:
    probe = Probe()
    stub = serve(probe).stub
    call = stub.Stream(request("endless"))
    next(call)
    call.cancel()
    assert probe.closed.wait(2)


def test_stream_cancel_closes_an_async_generator(serve: ServeFactory) -> None:
    probe = Probe()
    stub = serve(probe).stub
    call = stub.Stream(request("async_endless"))
    assert chunk_value(next(call)) == 0
    call.cancel()
    assert probe.closed.wait(2)


def test_cancel_rpc_ends_a_stream_with_aborted(serve: ServeFactory) -> None:
    stub = serve(CancelAdapter()).stub
    call = stub.Stream(request("stream_until_closed", call_id="sv", marker="stream-2"))
    next(call)
    assert stub.Cancel(worker_pb2.CancelRequest(call_id="sv")).found
    rest = list(call)
    assert rest[-1].error.code == "aborted"
    assert cancel_fixture.STATE["stream-2"] == "closed"


def test_stream_runs_to_the_end(serve: ServeFactory) -> None:
    stub = serve(CancelAdapter()).stub
    call = stub.Stream(request("stream_until_closed", marker="stream-3", n=3, delay=0))
    assert [chunk_value(m) for m in call] == [0, 1, 2]
    assert cancel_fixture.STATE["stream-3"] == "finished"


def test_deadline_while_waiting_for_a_slot(serve: ServeFactory) -> None:
    probe = Probe()
    stub = serve(probe, threads=1).stub
    busy = stub.Execute.future(request("block", call_id="busy"))
    assert probe.started.wait(5)
    req = request("echo", call_id="late", value=1)
    req.deadline_unix_ms = int((time.time() + 0.1) * 1000)
    assert stub.Execute(req).error.code == "deadline_exceeded"
    probe.release.set()
    assert result_of(busy.result(timeout=5)) == "released"


def test_a_cancel_that_overtakes_its_call_cancels_it_at_start() -> None:
    from snakepit_bridge.call_context import CANCEL_RPC, CallContext
    from snakepit_bridge.calls import CallTracker

    tracker = CallTracker()
    assert tracker.cancel("late-call", CANCEL_RPC) is False  # not running yet
    ctx = CallContext("late-call", "noop")
    tracker.begin(ctx)
    try:
        assert ctx.cancelled
        assert ctx.cancel_reason == CANCEL_RPC
    finally:
        tracker.end(ctx)
    other = CallContext("other-call", "noop")
    tracker.begin(other)
    assert not other.cancelled
    tracker.end(other)


def test_stopping_the_event_loop_wakes_a_thread_waiting_on_an_async_tool() -> None:
    import asyncio
    import threading

    from snakepit_bridge.async_runner import AsyncRunner
    from snakepit_bridge.call_context import CallContext

    runner = AsyncRunner()
    started = threading.Event()
    outcome: list[BaseException] = []

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    def call() -> None:
        try:
            runner.run(forever(), CallContext("stuck", "forever"))
        except BaseException as exc:  # what the waiting thread sees
            outcome.append(exc)

    waiter = threading.Thread(target=call, daemon=True)
    waiter.start()
    assert started.wait(5)
    runner.stop()
    waiter.join(5)
    assert not waiter.is_alive(), "the waiting thread was never woken"
    assert len(outcome) == 1  # woken with an error: the tool was cancelled, or its loop gone
