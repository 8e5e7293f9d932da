"""Server spans for tool calls (snakepit_bridge.tracing), through the engine."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from serving import EngineFactory
from helpers import chunk_value, request, result_of
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from snakepit_fixtures.traced import TracedAdapter

from snakepit_bridge import tracing
from snakepit_bridge._proto import worker_pb2

TRACED = "snakepit_fixtures.traced:TracedAdapter"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


@pytest.fixture(scope="module")
def provider() -> TracerProvider:
    # The global provider can be set once per process: every test here shares it.
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    sdk = TracerProvider()
    trace.set_tracer_provider(sdk)
    return sdk


@pytest.fixture
def adapter(provider: TracerProvider) -> Iterator[TracedAdapter]:
    a = TracedAdapter()
    a.setup()  # adds an in-memory exporter to the global SDK provider
    yield a
    a.exporter.shutdown()


def traced_request(tool: str, traceparent: str | None = TRACEPARENT, **kwargs: Any) -> worker_pb2.CallRequest:
    req = request(tool, **kwargs)
    if traceparent is not None:
        req.headers["traceparent"] = traceparent
    return req


def spans(adapter: TracedAdapter) -> dict[str, Any]:
    return {s["name"]: s for s in adapter.finished_spans()}


def test_server_span_is_a_child_of_the_callers_traceparent(make_engine: EngineFactory, adapter: TracedAdapter) -> None:
    stub = make_engine(adapter, spec=TRACED)
    assert result_of(stub.execute(traced_request("add", a=1, b=2))) == 3
    server = spans(adapter)["snakepit.tool add"]
    assert server["trace_id"] == TRACE_ID
    assert server["parent_id"] == PARENT_ID
    assert server["kind"] == "SERVER"
    assert server["status"] == "UNSET"
    attrs = server["attributes"]
    assert attrs["rpc.system"] == "grpc"
    assert attrs["rpc.service"] == "snakepit.worker.v1.WorkerService"
    assert attrs["rpc.method"] == "Execute"
    assert attrs["snakepit.tool"] == "add"
    assert attrs["snakepit.call.id"] == "c1"
    assert attrs["snakepit.adapter"] == TRACED


def test_a_span_the_tool_creates_nests_under_the_server_span(make_engine: EngineFactory, adapter: TracedAdapter) -> None:
    stub = make_engine(adapter, spec=TRACED)
    inner = result_of(stub.execute(traced_request("user_span", name="mine")))
    server = spans(adapter)["snakepit.tool user_span"]
    assert inner["trace_id"] == TRACE_ID
    assert inner["parent_id"] == server["span_id"]
    assert server["parent_id"] == PARENT_ID


def test_async_tools_see_the_server_span_on_the_event_loop(make_engine: EngineFactory, adapter: TracedAdapter) -> None:
    stub = make_engine(adapter, spec=TRACED)
    inner = result_of(stub.execute(traced_request("async_user_span")))
    server = spans(adapter)["snakepit.tool async_user_span"]
    assert inner["trace_id"] == TRACE_ID
    assert inner["parent_id"] == server["span_id"]


@pytest.mark.parametrize(("tool", "prefix"), [("stream_spans", "step-"), ("async_stream_spans", "async-step-")])
def test_a_stream_has_one_server_span_covering_every_step(
    make_engine: EngineFactory, adapter: TracedAdapter, tool: str, prefix: str
) -> None:
    stub = make_engine(adapter, spec=TRACED)
    items = [chunk_value(m) for m in stub.stream(traced_request(tool, steps=2))]
    by_name = spans(adapter)
    server = by_name[f"snakepit.tool {tool}"]
    assert server["attributes"]["rpc.method"] == "Stream"
    assert server["parent_id"] == PARENT_ID
    assert [i["name"] for i in items] == [f"{prefix}0", f"{prefix}1"]
    for item in items:
        assert item["parent_id"] == server["span_id"]
        assert by_name[item["name"]]["trace_id"] == TRACE_ID


def test_a_failing_tool_marks_its_server_span_as_an_error(make_engine: EngineFactory, adapter: TracedAdapter) -> None:
    stub = make_engine(adapter, spec=TRACED)
    error = stub.execute(traced_request("fail", message="nope")).error
    assert error.code == "python_error" and error.python_type == "ValueError"
    server = spans(adapter)["snakepit.tool fail"]
    assert server["status"] == "ERROR"
    assert server["attributes"]["error.type"] == "ValueError"
    assert "exception" in server["events"]
    # The traceback the caller gets still starts at the user's code, not at tracing.
    assert "tracing.py" not in error.traceback


def test_without_traceparent_the_server_span_is_a_root(make_engine: EngineFactory, adapter: TracedAdapter) -> None:
    stub = make_engine(adapter, spec=TRACED)
    result_of(stub.execute(traced_request("add", traceparent=None, a=1, b=1)))
    server = spans(adapter)["snakepit.tool add"]
    assert server["parent_id"] is None
    assert server["trace_id"] != TRACE_ID


def test_the_headers_reach_the_tool_unchanged(make_engine: EngineFactory, adapter: TracedAdapter) -> None:
    stub = make_engine(adapter, spec=TRACED)
    assert result_of(stub.execute(traced_request("headers"))) == {"traceparent": TRACEPARENT}


def test_a_tracing_failure_never_fails_the_call(
    make_engine: EngineFactory, adapter: TracedAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("propagator exploded")

    monkeypatch.setattr(tracing.propagate, "extract", broken)
    stub = make_engine(adapter, spec=TRACED)
    assert result_of(stub.execute(traced_request("add", a=2, b=2))) == 4
    assert "snakepit.tool add" not in spans(adapter)


def test_without_opentelemetry_tracing_is_a_no_op() -> None:
    # A fresh interpreter in which `import opentelemetry` fails, as when it is not installed.
    code = (
        "import sys; sys.modules['opentelemetry'] = None\n"
        "from snakepit_bridge import tracing\n"
        "from snakepit_bridge.call_context import CallContext\n"
        "assert not tracing.available()\n"
        "span = tracing.start_tool_span(CallContext('c', 't', headers={'traceparent': 'x'}), 'Execute', object())\n"
        "assert span is tracing.NOOP and span.span is None\n"
        "with tracing.tool_span(CallContext('c', 't'), 'Execute', object()) as s, s.current():\n"
        "    pass\n"
        "print('no-op ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "no-op ok"
