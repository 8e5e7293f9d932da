"""The two local lanes, in this process: calls, pipelining, streams and credits, control frames."""

from __future__ import annotations

import time

from serving import LanesFactory
from helpers import chunk_value, request, result_of, wait_until
from sample_adapters import Probe
from snakepit_fixtures.cancel import CancelAdapter

from snakepit_bridge._proto import worker_pb2
from snakepit_bridge.adapters.showcase import ShowcaseAdapter
from snakepit_bridge.local_transport import STREAM_WINDOW

SHOWCASE = "snakepit_bridge.adapters.showcase:ShowcaseAdapter"


def test_execute_and_errors(lanes: LanesFactory) -> None:
    client = lanes(ShowcaseAdapter(), spec=SHOWCASE).client
    assert result_of(client.execute(request("add", call_id="a", a=2, b=3))) == 5
    value = {"raw": b"\x00\xff", "big": 2**60, "s": "🐍"}
    assert result_of(client.execute(request("echo", call_id="e", value=value))) == value
    assert client.execute(request("ad", call_id="u")).error.code == "unknown_tool"
    assert result_of(client.execute(request("async_add", call_id="as", a=1, b=2))) == 3


def test_pipelined_calls_are_answered_in_order(lanes: LanesFactory) -> None:
    served = lanes(ShowcaseAdapter(), spec=SHOWCASE, threads=1)
    client = served.client
    futures = [client.data_reader.expect_one(f"p{i}") for i in range(5)]
    client.send(client.data, *(worker_pb2.DataFrame(call_id=f"p{i}", execute=request("add", call_id=f"p{i}", a=i, b=1)) for i in range(5)))
    frames = [f.result(5) for f in futures]
    assert [result_of(f.result) for f in frames] == [1, 2, 3, 4, 5]


def test_a_reply_leaves_before_the_next_pipelined_call_starts(lanes: LanesFactory) -> None:
    # What lets the pool send a dead worker's unstarted calls elsewhere: every call
    # it has no answer for, after the first, never started.
    probe = Probe()
    client = lanes(probe, threads=1).client
    first = client.data_reader.expect_one("first")
    second = client.data_reader.expect_one("second")
    client.send(
        client.data,
        worker_pb2.DataFrame(call_id="first", execute=request("context", call_id="first")),
        worker_pb2.DataFrame(call_id="second", execute=request("ignore_cancel_until_released", call_id="second")),
    )
    try:
        assert probe.started.wait(5)  # the second call runs now...
        assert first.result(2).WhichOneof("kind") == "result"  # ...and the first one's answer is already out
    finally:
        probe.release.set()
    assert result_of(second.result(5).result) == "done"


def test_health_and_describe_are_answered_while_the_only_slot_is_busy(lanes: LanesFactory) -> None:
    probe = Probe()
    client = lanes(probe, threads=1).client
    future = client.execute_async(request("ignore_cancel_until_released", call_id="busy"))
    try:
        assert probe.started.wait(5)
        started = time.monotonic()
        health = client.health(timeout=2)
        assert time.monotonic() - started < 1
        assert (health.status, health.active_calls, health.capacity) == ("serving", 1, 1)
        assert client.describe().tools
    finally:
        probe.release.set()
    assert result_of(future.result(5)) == "done"


def test_control_replies_carry_the_request_call_id(lanes: LanesFactory) -> None:
    client = lanes(ShowcaseAdapter(), spec=SHOWCASE).client
    future = client.control_reader.expect_one("h-42")
    client.send(client.control, worker_pb2.DataFrame(call_id="h-42", health=worker_pb2.HealthRequest()))
    frame = future.result(5)
    assert frame.call_id == "h-42" and frame.WhichOneof("kind") == "health_reply"
    described = client.describe()
    assert described.worker.adapter == SHOWCASE


def test_a_stream_with_credits(lanes: LanesFactory) -> None:
    client = lanes(ShowcaseAdapter(), spec=SHOWCASE).client
    chunks = [chunk_value(m) for m in client.stream(request("progress", call_id="s", steps=40))]
    assert chunks == [{"step": i, "of": 40} for i in range(1, 41)]


def test_a_stream_stops_at_its_window_until_credit_comes(lanes: LanesFactory) -> None:
    probe = Probe()
    client = lanes(probe).client
    q = client.data_reader.expect_many("w")
    client.send(client.data, worker_pb2.DataFrame(call_id="w", stream=request("endless", call_id="w")))
    got = [q.get(timeout=5) for _ in range(STREAM_WINDOW)]
    assert all(f.WhichOneof("kind") == "chunk" for f in got)
    time.sleep(0.1)  # a worker that ignored the window would have sent more by now
    assert q.empty()
    client.credit("w", 2)
    assert [chunk_value(q.get(timeout=5).chunk) for _ in range(2)] == [STREAM_WINDOW, STREAM_WINDOW + 1]
    assert client.cancel("w", wait_ms=2000).finished
    assert probe.closed.wait(2)


def test_a_stream_error_then_end(lanes: LanesFactory) -> None:
    client = lanes(Probe()).client
    messages = list(client.stream(request("numbers_then_fail", call_id="f", n=2)))
    assert [chunk_value(m) for m in messages[:2]] == [0, 1]
    assert messages[2].error.python_type == "KeyError" and len(messages) == 3


def test_an_execute_while_a_stream_holds_the_only_slot_does_not_block_the_reader(lanes: LanesFactory) -> None:
    probe = Probe()
    client = lanes(probe, threads=1).client
    stream = client.stream(request("endless", call_id="long"), auto_credit=False)
    next(stream)
    waiting = client.execute_async(request("echo", call_id="queued", value=1))
    client.credit("long", 100)  # read by the reader although a call waits for the slot
    assert client.cancel("long", wait_ms=2000).finished
    assert result_of(waiting.result(5)) == 1


def test_several_threads_run_calls_at_once(lanes: LanesFactory) -> None:
    client = lanes(ShowcaseAdapter(), spec=SHOWCASE, threads=4).client
    started = time.monotonic()
    futures = [client.execute_async(request("sleep", call_id=f"s{i}", seconds=0.3)) for i in range(4)]
    assert all(result_of(f.result(5)) >= 0.29 for f in futures)
    assert time.monotonic() - started < 1.0


def test_drain_replies_then_the_worker_stops(lanes: LanesFactory) -> None:
    probe = Probe()
    served = lanes(probe, threads=2)
    client = served.client
    running = client.execute_async(request("block", call_id="running"))
    assert probe.started.wait(5)
    assert client.drain(5000).active_calls == 1
    assert client.health().status == "draining"
    refused = client.execute(request("echo", call_id="late", value=1)).error
    assert (refused.code, refused.message) == ("internal", "worker is draining")
    probe.release.set()
    assert result_of(running.result(5)) == "released"
    assert served.worker.wait(5) and probe.torn_down.is_set()
    assert served.client.data_reader.eof.wait(5)  # the lanes close once drained


def test_drain_of_an_idle_worker_still_gets_its_reply(lanes: LanesFactory) -> None:
    for _ in range(20):  # the reply must never lose the race with the shutdown it starts
        served = lanes(CancelAdapter())
        assert served.client.drain(1000).active_calls == 0
        assert served.worker.wait(5)


def test_a_cancel_on_the_data_lane_still_works(lanes: LanesFactory) -> None:
    client = lanes(CancelAdapter(), threads=2).client
    future = client.execute_async(request("wait_for_cancel", call_id="old-style", marker="data-lane"))
    wait_until(lambda: client.health().active_calls == 1)
    client.send(client.data, worker_pb2.DataFrame(call_id="old-style", cancel=worker_pb2.CancelRequest(call_id="old-style")))
    assert future.result(5).error.code == "aborted"


def test_reply_frames_are_the_bytes_protobuf_writes_small_or_not() -> None:
    from snakepit_bridge._proto import worker_pb2
    from snakepit_bridge.local_transport import _frame

    payload = worker_pb2.Payload(json=b"null")
    for call_id in ("a", "x" * 127, "y" * 128, "z" * 300):
        for json in (b"", b"1", b"2" * 120, b"3" * 128, b"4" * 400):
            inner = worker_pb2.CallResponse(result=worker_pb2.Payload(json=json)).SerializeToString()
            expected = worker_pb2.DataFrame(call_id=call_id, result=worker_pb2.CallResponse.FromString(inner)).SerializeToString()
            frame = _frame(call_id, 6, inner)
            assert frame[4:] == expected, (len(call_id), len(json))
            assert int.from_bytes(frame[:4], "big") == len(expected)
    chunk = worker_pb2.StreamMessage(chunk=payload).SerializeToString()
    assert _frame("c", 7, chunk)[4:] == worker_pb2.DataFrame(call_id="c", chunk=worker_pb2.StreamMessage.FromString(chunk)).SerializeToString()
