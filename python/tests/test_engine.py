"""The engine on its own: results, errors, limits, streams, describe, health, drain."""

from __future__ import annotations

import enum
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from serving import EngineFactory
from helpers import chunk_value, details, request, result_of, wait_until
from sample_adapters import Probe, SingleThreaded

from snakepit_bridge import Adapter, codec, tool
from snakepit_bridge._proto import worker_pb2
from snakepit_bridge.adapters.showcase import ShowcaseAdapter
from snakepit_bridge.worker import Worker

SHOWCASE = "snakepit_bridge.adapters.showcase:ShowcaseAdapter"


def test_execute_success(make_engine: EngineFactory) -> None:
    engine = make_engine(ShowcaseAdapter(), spec=SHOWCASE)
    assert result_of(engine.execute(request("add", a=2, b=3))) == 5
    assert result_of(engine.execute(request("noop"))) is None
    assert result_of(engine.execute(request("async_add", a=2, b=40))) == 42


def test_execute_encoded_is_the_serialised_response(make_engine: EngineFactory) -> None:
    engine = make_engine(ShowcaseAdapter(), spec=SHOWCASE)
    for req in (request("echo", value={"raw": b"\x00", "n": 1}), request("ad")):
        assert engine.execute_encoded(req) == engine.execute(req).SerializeToString()


def test_values_round_trip(make_engine: EngineFactory) -> None:
    engine = make_engine(ShowcaseAdapter(), spec=SHOWCASE)
    value = {"i": 1, "f": 1.5, "b": False, "n": None, "s": "🐍", "big": 2**60, "raw": b"\x00\xff"}
    assert result_of(engine.execute(request("echo", value=value))) == value
    out = result_of(engine.execute(request("bytes_roundtrip", data=b"abc")))
    assert out["data"] == b"abc" and out["length"] == 3 and len(out["sha256"]) == 64


def test_missing_args_payload_means_no_arguments(make_engine: EngineFactory) -> None:
    engine = make_engine(ShowcaseAdapter(), spec=SHOWCASE)
    assert result_of(engine.execute(worker_pb2.CallRequest(call_id="x", tool="noop"))) is None


def test_unknown_tool_suggests_close_names(make_engine: EngineFactory) -> None:
    engine = make_engine(ShowcaseAdapter(), spec=SHOWCASE)
    error = engine.execute(request("ad", a=1, b=2)).error
    assert error.code == "unknown_tool"
    assert error.message == f"unknown tool 'ad' on adapter '{SHOWCASE}'; did you mean 'add'?"
    info = details(error)
    assert "add" in info["available"] and "progress" in info["available"]
    assert info["suggestions"][0] == "add"
    far = engine.execute(request("zzzzzz")).error
    assert far.code == "unknown_tool" and "; available: add, " in far.message


def test_invalid_arguments_name_the_argument_and_show_the_signature(make_engine: EngineFactory) -> None:
    engine = make_engine(ShowcaseAdapter(), spec=SHOWCASE)
    missing = engine.execute(request("add", a=1)).error
    assert missing.code == "invalid_argument"
    assert "'b'" in missing.message and "add(a: int, b: int) -> int" in missing.message
    unexpected = engine.execute(request("add", a=1, b=2, c=3)).error
    assert unexpected.code == "invalid_argument" and "'c'" in unexpected.message


def test_args_must_be_a_json_object(make_engine: EngineFactory) -> None:
    engine = make_engine(ShowcaseAdapter(), spec=SHOWCASE)
    for raw in (b"[1, 2]", b"{not json"):
        req = worker_pb2.CallRequest(call_id="x", tool="add", args=worker_pb2.Payload(json=raw))
        assert engine.execute(req).error.code == "invalid_argument"


def test_type_error_inside_the_tool_is_a_python_error(make_engine: EngineFactory) -> None:
    error = make_engine(Probe()).execute(request("raise_type_error_inside", x=1)).error
    assert error.code == "python_error" and error.python_type == "TypeError"


def test_python_error_carries_type_message_and_traceback(make_engine: EngineFactory) -> None:
    engine = make_engine(ShowcaseAdapter(), spec=SHOWCASE)
    error = engine.execute(request("fail", message="bad input", kind="ValueError")).error
    assert error.code == "python_error"
    assert (error.python_type, error.message) == ("ValueError", "bad input")
    assert error.traceback.startswith("Traceback (most recent call last):")
    assert "showcase.py" in error.traceback and "ValueError: bad input" in error.traceback
    # The bridge's own frames are trimmed: the traceback starts in the user's code.
    assert "engine.py" not in error.traceback and "invoke.py" not in error.traceback


def test_non_builtin_exception_types_are_qualified(make_engine: EngineFactory) -> None:
    error = make_engine(Probe()).execute(request("raise_custom")).error
    assert (error.python_type, error.message) == ("sample_adapters.CustomError", "custom")


def test_execute_on_a_generator_is_invalid(make_engine: EngineFactory) -> None:
    error = make_engine(Probe()).execute(request("numbers_then_fail", n=1)).error
    assert error.code == "invalid_argument"
    assert error.message == "tool 'numbers_then_fail' is a generator; call it with pool.stream()"


def test_unencodable_result_names_the_path(make_engine: EngineFactory) -> None:
    error = make_engine(Probe()).execute(request("bad_result")).error
    assert error.code == "python_error" and error.python_type == "TypeError"
    assert error.message == (
        "result of tool 'bad_result' is not JSON-serialisable at result['items'][2]: "
        "set is not supported (return a list)"
    )


def test_payload_too_large(make_engine: EngineFactory) -> None:
    engine = make_engine(Probe(), max_message_bytes=1000)
    assert result_of(engine.execute(request("echo", value="x" * 500))) == "x" * 500
    error = engine.execute(request("echo", value=b"x" * 2000)).error
    assert error.code == "payload_too_large" and "1000" in error.message
    assert details(error) == {"size": 2000 + len(b'{"$snakepit:bytes":0}'), "limit": 1000}


def test_stream_yields_chunks_in_order(make_engine: EngineFactory) -> None:
    engine = make_engine(ShowcaseAdapter(), spec=SHOWCASE)
    chunks = [chunk_value(m) for m in engine.stream(request("progress", steps=4))]
    assert chunks == [{"step": i, "of": 4} for i in range(1, 5)]


def test_stream_encoded_matches_stream(make_engine: EngineFactory) -> None:
    engine = make_engine(Probe())
    encoded = list(engine.stream_encoded(request("numbers_then_fail", n=2)))
    plain = [m.SerializeToString() for m in engine.stream(request("numbers_then_fail", n=2))]
    assert [worker_pb2.StreamMessage.FromString(e) for e in encoded][:2] == [worker_pb2.StreamMessage.FromString(p) for p in plain][:2]
    assert encoded[:2] == plain[:2] and len(encoded) == 3


def test_async_generator_stream(make_engine: EngineFactory) -> None:
    engine = make_engine(Probe())
    assert [chunk_value(m) for m in engine.stream(request("async_numbers", n=5))] == list(range(5))


def test_stream_error_ends_with_one_error_message(make_engine: EngineFactory) -> None:
    messages = list(make_engine(Probe()).stream(request("numbers_then_fail", n=3)))
    assert [chunk_value(m) for m in messages[:3]] == [0, 1, 2]
    assert len(messages) == 4
    error = messages[3].error
    assert error.code == "python_error" and error.python_type == "KeyError"
    assert "after the numbers" in error.message


def test_stream_on_a_plain_tool_is_invalid(make_engine: EngineFactory) -> None:
    engine = make_engine(ShowcaseAdapter(), spec=SHOWCASE)
    (message,) = list(engine.stream(request("add", a=1, b=2)))
    assert message.error.code == "invalid_argument"
    assert message.error.message == "tool 'add' is not a generator; call it with pool.execute()"
    (unknown,) = list(engine.stream(request("progres")))
    assert unknown.error.code == "unknown_tool"


def test_an_item_over_the_limit_ends_the_stream(make_engine: EngineFactory) -> None:
    engine = make_engine(Probe(), max_message_bytes=1)
    messages = list(engine.stream(request("numbers", n=12)))
    assert [chunk_value(m) for m in messages[:10]] == list(range(10)) and len(messages) == 11
    assert messages[10].error.code == "payload_too_large"
    assert "item 10 yielded by tool 'numbers'" in messages[10].error.message


def test_describe(make_engine: EngineFactory) -> None:
    described = make_engine(ShowcaseAdapter(), spec=SHOWCASE, threads=2).describe()
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
    assert (rounds.type, rounds.required, rounds.default_json, rounds.kind) == ("int", False, b"1", "positional_or_keyword")
    assert tools["sleep"].doc.startswith("Sleep for `seconds`")


def test_health_reports_counts_and_memory(make_engine: EngineFactory) -> None:
    engine = make_engine(SingleThreaded())
    engine.execute(request("ping"))
    health = engine.health()
    assert health.status == "serving"
    assert (health.active_calls, health.capacity, health.requests_started) == (0, 1, 1)
    assert health.rss_bytes > 10 * 1024 * 1024
    if sys.platform.startswith("linux"):
        assert 0 < health.uss_bytes <= health.rss_bytes
        assert 0 < health.pss_bytes <= health.rss_bytes
    assert health.uptime_seconds > 0


def test_threads_run_calls_concurrently(make_engine: EngineFactory) -> None:
    engine = make_engine(ShowcaseAdapter(), spec=SHOWCASE, threads=4)
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda i: engine.execute(request("sleep", call_id=f"s{i}", seconds=0.4)), range(4)))
    elapsed = time.monotonic() - started
    assert all(result_of(r) >= 0.39 for r in responses)
    assert elapsed < 1.2, f"4 x 0.4s sleeps took {elapsed:.2f}s on 4 threads"


def test_calls_beyond_the_slots_wait_their_turn(make_engine: EngineFactory) -> None:
    probe = Probe()
    engine = make_engine(probe, threads=1)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(engine.execute, request("block", call_id="first"))
        assert probe.started.wait(5)
        second = pool.submit(engine.execute, request("echo", call_id="second", value=2))
        wait_until(lambda: engine.health().active_calls == 2)
        assert not second.done()
        probe.release.set()
        assert result_of(first.result(5)) == "released"
        assert result_of(second.result(5)) == 2


def test_drain_finishes_running_calls_then_stops() -> None:
    probe = Probe()
    worker = Worker(probe, adapter_spec="tests:Probe", threads=2)
    engine = worker.engine
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(engine.execute, request("block", call_id="running"))
        assert probe.started.wait(5)
        assert engine.drain(5000).active_calls == 1
        assert engine.health().status == "draining"
        refused = engine.execute(request("echo", value=1)).error
        assert (refused.code, refused.message) == ("internal", "worker is draining")
        (refused_stream,) = list(engine.stream(request("numbers", n=1)))
        assert refused_stream.error.message == "worker is draining"
        assert not probe.torn_down.is_set()
        probe.release.set()
        assert result_of(running.result(5)) == "released"
    assert worker.wait(5)
    assert probe.torn_down.is_set()


def test_drain_timeout_cancels_stragglers() -> None:
    probe = Probe()
    worker = Worker(probe, adapter_spec="tests:Probe")
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(worker.engine.execute, request("block"))
        assert probe.started.wait(5)
        worker.engine.drain(50)
        assert running.result(5).error.code == "aborted"
    assert worker.wait(5) and probe.torn_down.is_set()


def test_every_method_is_safe_from_many_threads(make_engine: EngineFactory) -> None:
    engine = make_engine(ShowcaseAdapter(), spec=SHOWCASE, threads=8)
    barrier = threading.Barrier(8)

    def client(n: int) -> list[int]:
        barrier.wait()
        return [result_of(engine.execute(request("add", call_id=f"{n}-{i}", a=n, b=i))) for i in range(50)]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(client, range(8)))
    assert results == [[n + i for i in range(50)] for n in range(8)]
    assert engine.health().requests_started == 400 and engine.health().active_calls == 0


class Color(enum.IntEnum):
    RED = 1


class Text(str):
    pass


class Gives(Adapter):
    """Returns the very object it was made with (no round trip through JSON first)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    @tool
    def give(self) -> Any:
        return self.value


@pytest.mark.parametrize(
    "value",
    [None, True, False, 0, -1, 2**53 - 1, -(2**53 - 1), 2**53, -(2**60), 1.5, -0.0, 1e300, 5e-324,
     "", "plain", 'quote " and \\ and \n', "é🐍", "\ud800 lone surrogate", Color.RED, Text("sub"), [1], {"a": None}],
)
def test_every_result_encodes_as_the_codec_does(make_engine: EngineFactory, value: Any) -> None:
    # Scalars take a fast path past the codec's walk: it must give the codec's bytes.
    json_bytes, attachments = codec.encode(value, root="result")
    response = make_engine(Gives(value)).execute(request("give"))
    assert response.result.json == json_bytes and list(response.result.attachments) == attachments


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_non_finite_float_result_is_still_a_python_error(make_engine: EngineFactory, value: float) -> None:
    error = make_engine(Gives(value)).execute(request("give")).error
    assert error.code == "python_error" and "result of tool 'give' is not JSON-serialisable" in error.message


def test_a_scalar_result_over_the_limit_is_too_large(make_engine: EngineFactory) -> None:
    engine = make_engine(ShowcaseAdapter(), spec=SHOWCASE, max_message_bytes=100)
    error = engine.execute(request("echo", value="x" * 200)).error
    assert error.code == "payload_too_large" and details(error) == {"size": 202, "limit": 100}
    assert "result of tool 'echo' is 202 bytes encoded" in error.message


class Defaults(Adapter):
    @tool
    def greet(self, name: str = "world", *, punctuation: str = "!") -> str:
        return f"hello {name}{punctuation}"

    @tool
    def needs(self, x: int) -> int:
        return x

    @tool
    def only_by_position(self, x: int = 7, /) -> int:
        return x


@pytest.mark.parametrize("args_json", [b"", b"{}", b"{ }", b" {}"])
def test_empty_arguments_take_the_defaults_or_name_what_is_missing(make_engine: EngineFactory, args_json: bytes) -> None:
    engine = make_engine(Defaults())

    def call(name: str) -> worker_pb2.CallResponse:
        return engine.execute(worker_pb2.CallRequest(call_id="e", tool=name, args=worker_pb2.Payload(json=args_json)))

    assert result_of(call("greet")) == "hello world!"
    assert result_of(call("only_by_position")) == 7
    missing = call("needs").error
    assert missing.code == "invalid_argument" and "'x'" in missing.message and "needs(x: int) -> int" in missing.message


def test_a_tool_without_parameters_refuses_arguments(make_engine: EngineFactory) -> None:
    error = make_engine(ShowcaseAdapter(), spec=SHOWCASE).execute(request("noop", extra=1)).error
    assert error.code == "invalid_argument" and "'extra'" in error.message


def test_a_wrapper_put_on_the_instance_before_the_engine_is_what_runs(make_engine: EngineFactory) -> None:
    # The thread-safety checker wraps tools this way; the engine resolves each tool once.
    adapter = ShowcaseAdapter()
    original = adapter.add
    adapter.add = lambda a, b: ("wrapped", original(a, b))  # type: ignore[method-assign]
    assert result_of(make_engine(adapter, spec=SHOWCASE).execute(request("add", a=1, b=2))) == ["wrapped", 3]


def test_one_slot_runs_calls_from_many_threads_one_at_a_time(make_engine: EngineFactory) -> None:
    # threads=1 over a transport with a thread per connection (Connect): never two at once.
    inside = 0
    most = 0
    lock = threading.Lock()

    class Counting(Adapter):
        @tool
        def enter(self) -> None:
            nonlocal inside, most
            with lock:
                inside += 1
                most = max(most, inside)
            time.sleep(0.002)
            with lock:
                inside -= 1

    engine = make_engine(Counting(), threads=1)
    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda i: engine.execute(request("enter", call_id=f"e{i}")), range(24)))
    assert all(r.WhichOneof("outcome") == "result" for r in responses)
    assert most == 1 and engine.health().active_calls == 0 and engine.health().requests_started == 24
