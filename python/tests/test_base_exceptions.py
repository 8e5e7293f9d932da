"""What a tool may raise: any BaseException fails that call only (regressions of issue 12, items 1-3)."""

from __future__ import annotations

import pytest
from serving import EngineFactory, LanesFactory
from helpers import chunk_value, request, result_of
from snakepit_fixtures.base_exceptions import BaseExceptionAdapter

from snakepit_bridge._proto import worker_pb2

KINDS = {
    "keyboard_interrupt": "KeyboardInterrupt",
    "custom": "snakepit_fixtures.base_exceptions.Interrupted",
    "system_exit": "SystemExit",
    "generator_exit": "GeneratorExit",
    "unprintable": "snakepit_fixtures.base_exceptions.Unprintable",
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_plain_tool_raising_it_is_a_python_error(make_engine: EngineFactory, kind: str) -> None:
    engine = make_engine(BaseExceptionAdapter())
    error = engine.execute(request("raise_base", kind=kind)).error
    assert (error.code, error.python_type) == ("python_error", KINDS[kind])
    assert error.traceback.startswith("Traceback")
    assert result_of(engine.execute(request("ping"))) == "pong"
    assert engine.health().active_calls == 0


def test_an_exception_whose_str_raises_still_has_a_message(make_engine: EngineFactory) -> None:
    error = make_engine(BaseExceptionAdapter()).execute(request("raise_base", kind="unprintable")).error
    assert error.message == "<exception str() failed: snakepit_fixtures.base_exceptions.Unprintable>"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_generator_raising_it_ends_the_stream_with_an_error(make_engine: EngineFactory, kind: str) -> None:
    engine = make_engine(BaseExceptionAdapter())
    messages = list(engine.stream(request("stream_then_raise", kind=kind, n=2)))
    assert [chunk_value(m) for m in messages[:2]] == [0, 1]
    assert len(messages) == 3, "the stream must end with an error, not normally"
    assert (messages[2].error.code, messages[2].error.python_type) == ("python_error", KINDS[kind])


def test_sys_exit_in_an_async_tool_keeps_the_event_loop(make_engine: EngineFactory) -> None:
    engine = make_engine(BaseExceptionAdapter())
    assert result_of(engine.execute(request("async_ping"))) == "pong"
    for kind in ("system_exit", "keyboard_interrupt", "custom"):
        error = engine.execute(request("async_raise", kind=kind)).error
        assert (error.code, error.python_type) == ("python_error", KINDS[kind])
    assert result_of(engine.execute(request("async_ping"))) == "pong"
    assert engine.runner._thread is not None and engine.runner._thread.is_alive()


@pytest.mark.parametrize("threads", [1, 2])
def test_the_data_lane_reader_survives_every_kind(lanes: LanesFactory, threads: int) -> None:
    """threads=1 runs calls on the reader thread itself: it used to die, and later calls hung."""
    served = lanes(BaseExceptionAdapter(), threads=threads)
    client = served.client
    for i, kind in enumerate(sorted(KINDS)):
        error = client.execute(request("raise_base", call_id=f"r{i}", kind=kind), timeout=5).error
        assert (error.code, error.python_type) == ("python_error", KINDS[kind])
        assert result_of(client.execute(request("ping", call_id=f"p{i}"), timeout=5)) == "pong"
        messages = list(client.stream(request("stream_then_raise", call_id=f"s{i}", kind=kind, n=1)))
        assert chunk_value(messages[0]) == 0 and messages[1].error.python_type == KINDS[kind]
    error = client.execute(request("async_raise", call_id="a", kind="system_exit"), timeout=5).error
    assert error.python_type == "SystemExit"
    assert result_of(client.execute(request("async_ping", call_id="a2"), timeout=5)) == "pong"
    assert client.health().status == "serving"


def test_a_broken_frame_stops_the_worker_instead_of_a_silent_reader(lanes: LanesFactory) -> None:
    served = lanes(BaseExceptionAdapter())
    served.client.data.sendall(b"\x00\x00\x00\x03\xff\xff\xff")  # not a DataFrame
    assert served.worker.wait(5)
    assert served.worker.lost_reason is not None and served.worker.lost_reason.startswith("broken frame")


def test_eof_on_a_lane_stops_the_worker(lanes: LanesFactory) -> None:
    served = lanes(BaseExceptionAdapter())
    assert served.client.health().status == "serving"
    served.client.control.shutdown(2)
    assert served.worker.wait(5) and served.worker.lost_reason == "eof"


def test_a_frame_of_an_unexpected_kind_is_ignored(lanes: LanesFactory) -> None:
    served = lanes(BaseExceptionAdapter())
    client = served.client
    client.send(client.data, worker_pb2.DataFrame(call_id="x", health=worker_pb2.HealthRequest()))
    assert result_of(client.execute(request("ping"))) == "pong"
