"""The servicer against a real gRPC server on a unix socket, in this process."""

from __future__ import annotations

import os
import sys
import time

import grpc
import pytest
from conftest import ServeFactory
from helpers import chunk_value, details, request, result_of, wait_until
from sample_adapters import Probe, SingleThreaded

from snakepit_bridge._proto import worker_pb2
from snakepit_bridge.adapters.showcase import ShowcaseAdapter

SHOWCASE = "snakepit_bridge.adapters.showcase:ShowcaseAdapter"


def test_execute_success(serve: ServeFactory) -> None:
    stub = serve(ShowcaseAdapter(), spec=SHOWCASE).stub
    assert result_of(stub.Execute(request("add", a=2, b=3))) == 5
    assert result_of(stub.Execute(request("noop"))) is None
    assert result_of(stub.Execute(request("async_add", a=2, b=40))) == 42


def test_values_round_trip_through_the_wire(serve: ServeFactory) -> None:
    stub = serve(ShowcaseAdapter(), spec=SHOWCASE).stub
    value = {"i": 1, "f": 1.5, "b": False, "n": None, "s": "🐍", "big": 2**60, "raw": b"\x00\xff"}
    assert result_of(stub.Execute(request("echo", value=value))) == value
    out = result_of(stub.Execute(request("bytes_roundtrip", data=b"abc")))
    assert out["data"] == b"abc" and out["length"] == 3 and len(out["sha256"]) == 64


def test_missing_args_payload_means_no_arguments(serve: ServeFactory) -> None:
    stub = serve(ShowcaseAdapter(), spec=SHOWCASE).stub
    response = stub.Execute(worker_pb2.CallRequest(call_id="x", tool="noop"))
    assert result_of(response) is None


def test_unknown_tool_suggests_close_names(serve: ServeFactory) -> None:
    stub = serve(ShowcaseAdapter(), spec=SHOWCASE).stub
    error = stub.Execute(request("ad", a=1, b=2)).error
    assert error.code == "unknown_tool"
    assert error.message == f"unknown tool 'ad' on adapter '{SHOWCASE}'; did you mean 'add'?"
    info = details(error)
    assert "add" in info["available"] and "progress" in info["available"]
    assert info["suggestions"][0] == "add"


def test_invalid_arguments_name_the_argument_and_show_the_signature(serve: ServeFactory) -> None:
    stub = serve(ShowcaseAdapter(), spec=SHOWCASE).stub
    missing = stub.Execute(request("add", a=1)).error
    assert missing.code == "invalid_argument"
    assert "'b'" in missing.message and "add(a: int, b: int) -> int" in missing.message
    unexpected = stub.Execute(request("add", a=1, b=2, c=3)).error
    assert unexpected.code == "invalid_argument" and "'c'" in unexpected.message


def test_args_must_be_a_json_object(serve: ServeFactory) -> None:
    stub = serve(ShowcaseAdapter(), spec=SHOWCASE).stub
    for raw in (b"[1, 2]", b"{not json"):
        req = worker_pb2.CallRequest(call_id="x", tool="add", args=worker_pb2.Payload(json=raw))
        assert stub.Execute(req).error.code == "invalid_argument"


def test_type_error_inside_the_tool_is_a_python_error(serve: ServeFactory) -> None:
    stub = serve(Probe()).stub
    error = stub.Execute(request("raise_type_error_inside", x=1)).error
    assert error.code == "python_error" and error.python_type == "TypeError"


def test_python_error_carries_type_message_and_traceback(serve: ServeFactory) -> None:
    stub = serve(ShowcaseAdapter(), spec=SHOWCASE).stub
    error = stub.Execute(request("fail", message="bad input", kind="ValueError")).error
    assert error.code == "python_error"
    assert error.python_type == "ValueError"
    assert error.message == "bad input"
    assert error.traceback.startswith("Traceback (most recent call last):")
    assert "showcase.py" in error.traceback and "ValueError: bad input" in error.traceback
    # The bridge's own frames are trimmed: the traceback starts in the user's code.
    assert "server.py" not in error.traceback


def test_non_builtin_exception_types_are_qualified(serve: ServeFactory) -> None:
    stub = serve(Probe()).stub
    error = stub.Execute(request("raise_custom")).error
    assert (error.python_type, error.message) == ("sample_adapters.CustomError", "custom")


def test_execute_on_a_generator_is_invalid(serve: ServeFactory) -> None:
    stub = serve(Probe()).stub
    error = stub.Execute(request("numbers_then_fail", n=1)).error
    assert error.code == "invalid_argument"
    assert error.message == "tool 'numbers_then_fail' is a generator; call it with pool.stream()"


def test_unencodable_result_names_the_path(serve: ServeFactory) -> None:
    stub = serve(Probe()).stub
    error = stub.Execute(request("bad_result")).error
    assert error.code == "python_error" and error.python_type == "TypeError"
    assert error.message == (
        "result of tool 'bad_result' is not JSON-serialisable at result['items'][2]: "
        "set is not supported (return a list)"
    )


def test_payload_too_large(serve: ServeFactory) -> None:
    stub = serve(Probe(), max_message_bytes=1000).stub
    assert result_of(stub.Execute(request("echo", value="x" * 500))) == "x" * 500
    error = stub.Execute(request("echo", value=b"x" * 2000)).error
    assert error.code == "payload_too_large"
    assert "1000" in error.message


def test_stream_yields_chunks_in_order(serve: ServeFactory) -> None:
    stub = serve(ShowcaseAdapter(), spec=SHOWCASE).stub
    chunks = [chunk_value(m) for m in stub.Stream(request("progress", steps=4))]
    assert chunks == [{"step": i, "of": 4} for i in range(1, 5)]


def test_async_generator_stream(serve: ServeFactory) -> None:
    stub = serve(Probe()).stub
    assert [chunk_value(m) for m in stub.Stream(request("async_numbers", n=5))] == list(range(5))


def test_stream_error_ends_with_one_error_message(serve: ServeFactory) -> None:
    stub = serve(Probe()).stub
    messages = list(stub.Stream(request("numbers_then_fail", n=3)))
    assert [chunk_value(m) for m in messages[:3]] == [0, 1, 2]
    assert len(messages) == 4
    error = messages[3].error
    assert error.code == "python_error" and error.python_type == "KeyError"
    assert "after the numbers" in error.message


def test_stream_on_a_plain_tool_is_invalid(serve: ServeFactory) -> None:
    stub = serve(ShowcaseAdapter(), spec=SHOWCASE).stub
    (message,) = list(stub.Stream(request("add", a=1, b=2)))
    assert message.error.code == "invalid_argument"
    assert message.error.message == "tool 'add' is not a generator; call it with pool.execute()"
    (unknown,) = list(stub.Stream(request("progres")))
    assert unknown.error.code == "unknown_tool"


def test_describe(serve: ServeFactory) -> None:
    stub = serve(ShowcaseAdapter(), spec=SHOWCASE, threads=2).stub
    described = stub.Describe(worker_pb2.DescribeRequest())
    worker = described.worker
    assert worker.pid == os.getpid()
    assert worker.python_version == ".".join(map(str, sys.version_info[:3]))
    assert worker.implementation == "CPython"
    assert worker.threads == 2 and worker.adapter == SHOWCASE and worker.adapter_thread_safe
    assert worker.platform == sys.platform
    assert worker.gil_enabled is True or worker.free_threaded
    tools = {t.name: t for t in described.tools}
    assert tools["progress"].streaming and not tools["progress"].is_async
    assert tools["async_add"].is_async
    rounds = {p.name: p for p in tools["hash_bytes"].params}["rounds"]
    assert (rounds.type, rounds.required, rounds.default_json, rounds.kind) == (
        "int",
        False,
        b"1",
        "positional_or_keyword",
    )
    assert tools["sleep"].doc.startswith("Sleep for `seconds`")


def test_health_reports_counts_and_memory(serve: ServeFactory) -> None:
    stub = serve(SingleThreaded()).stub
    stub.Execute(request("ping"))
    health = stub.Health(worker_pb2.HealthRequest())
    assert health.status == "serving"
    assert (health.active_calls, health.capacity, health.requests_started) == (0, 1, 1)
    assert health.rss_bytes > 10 * 1024 * 1024
    if sys.platform.startswith("linux"):
        assert 0 < health.uss_bytes <= health.rss_bytes
        assert 0 < health.pss_bytes <= health.rss_bytes
    assert health.uptime_seconds > 0


def test_health_is_answered_while_every_slot_is_busy(serve: ServeFactory) -> None:
    probe = Probe()
    stub = serve(probe, threads=1).stub
    future = stub.Execute.future(request("ignore_cancel_until_released"))
    try:
        assert probe.started.wait(5)
        started = time.monotonic()
        health = stub.Health(worker_pb2.HealthRequest(), timeout=2)
        assert time.monotonic() - started < 1
        assert (health.active_calls, health.capacity) == (1, 1)
        assert stub.Describe(worker_pb2.DescribeRequest(), timeout=2).tools
    finally:
        probe.release.set()
    assert result_of(future.result(timeout=5)) == "done"


def test_threads_run_calls_concurrently(serve: ServeFactory) -> None:
    stub = serve(ShowcaseAdapter(), spec=SHOWCASE, threads=4).stub
    started = time.monotonic()
    futures = [
        stub.Execute.future(request("sleep", call_id=f"s{i}", seconds=0.4)) for i in range(4)
    ]
    results = [result_of(f.result(timeout=5)) for f in futures]
    elapsed = time.monotonic() - started
    assert all(r >= 0.39 for r in results)
    assert elapsed < 1.2, f"4 x 0.4s sleeps took {elapsed:.2f}s on 4 threads"


def test_calls_beyond_the_slots_wait_their_turn(serve: ServeFactory) -> None:
    probe = Probe()
    stub = serve(probe, threads=1).stub
    first = stub.Execute.future(request("block", call_id="first"))
    assert probe.started.wait(5)
    second = stub.Execute.future(request("echo", call_id="second", value=2))
    wait_until(lambda: stub.Health(worker_pb2.HealthRequest()).active_calls == 2)
    assert not second.done()
    probe.release.set()
    assert result_of(first.result(timeout=5)) == "released"
    assert result_of(second.result(timeout=5)) == 2


def test_drain_finishes_running_calls_then_stops(serve: ServeFactory) -> None:
    probe = Probe()
    served = serve(probe, threads=2)
    stub = served.stub
    running = stub.Execute.future(request("block", call_id="running"))
    assert probe.started.wait(5)
    drained = stub.Drain(worker_pb2.DrainRequest(timeout_ms=5000))
    assert drained.active_calls == 1
    assert stub.Health(worker_pb2.HealthRequest()).status == "draining"
    refused = stub.Execute(request("echo", value=1)).error
    assert (refused.code, refused.message) == ("internal", "worker is draining")
    assert not probe.torn_down.is_set()
    probe.release.set()
    assert result_of(running.result(timeout=5)) == "released"
    assert served.worker.wait(5)
    assert probe.torn_down.is_set()


def test_drain_timeout_cancels_stragglers(serve: ServeFactory) -> None:
    probe = Probe()
    served = serve(probe)
    running = served.stub.Execute.future(request("block"))
    assert probe.started.wait(5)
    served.stub.Drain(worker_pb2.DrainRequest(timeout_ms=50))
    assert running.result(timeout=5).error.code == "aborted"
    assert served.worker.wait(5) and probe.torn_down.is_set()


def test_token_auth(serve: ServeFactory) -> None:
    stub = serve(ShowcaseAdapter(), spec=SHOWCASE, token="s3cret").stub
    good = (("x-snakepit-token", "s3cret"),)
    assert result_of(stub.Execute(request("add", a=1, b=1), metadata=good)) == 2
    assert stub.Health(worker_pb2.HealthRequest(), metadata=good).status == "serving"
    for metadata in ((), (("x-snakepit-token", "wrong"),)):
        with pytest.raises(grpc.RpcError) as info:
            stub.Health(worker_pb2.HealthRequest(), metadata=metadata)
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as info:
        list(stub.Stream(request("progress")))
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
