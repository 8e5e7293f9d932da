"""OpenTelemetry server spans around tool calls, when ``opentelemetry-api`` is installed.

The Node.js side (``@snakepit/otel``) sends the W3C ``traceparent`` of its client span in
the call's headers. For each tool call this module extracts it and starts a SERVER span
through the *global* tracer provider (whatever the adapter or the user configured in
the worker, e.g. in ``Adapter.setup()``), and makes that span current while the tool's
code runs, so spans the tool creates nest under it.

Without ``opentelemetry-api`` everything here is a no-op; with the API but no SDK the
spans are OpenTelemetry's non-recording ones. Tracing never fails a call: any error in
it is logged and the tool runs untraced.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from .call_context import CallContext

log = logging.getLogger("snakepit_bridge")

try:  # optional dependency: pip install 'snakepit-bridge[otel]'
    from opentelemetry import context as otel_context
    from opentelemetry import propagate, trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError:  # pragma: no cover - exercised by the no-OpenTelemetry test
    trace = None  # type: ignore[assignment]

#: The instrumentation scope name of the worker's spans.
TRACER_NAME = "snakepit_bridge"
#: The gRPC service the pool calls (``rpc.service``).
RPC_SERVICE = "snakepit.worker.v1.WorkerService"


_TRACER: Any = None


def _tracer() -> Any:
    # A module-level tracer from the global API is a proxy until a provider is set,
    # then delegates to it: the usual OpenTelemetry pattern, made once, lazily.
    global _TRACER
    if _TRACER is None:
        _TRACER = trace.get_tracer(TRACER_NAME)
    return _TRACER


def available() -> bool:
    """True when ``opentelemetry-api`` could be imported."""
    return trace is not None


class ToolSpan:
    """The server span of one tool call (or a no-op stand-in)."""

    __slots__ = ("_span", "_context")

    def __init__(self, span: Any = None, span_context: Any = None) -> None:
        self._span = span
        self._context = span_context

    @property
    def span(self) -> Any:
        """The OpenTelemetry span, or None when tracing is off."""
        return self._span

    @contextmanager
    def current(self) -> Iterator[None]:
        """Make the span current in this thread (and in tasks started from it) for the block.

        Attach/detach around each piece of the tool's code rather than across a
        generator's ``yield``, so the span never leaks into the bridge's own code.
        """
        token = self.attach()
        try:
            yield
        finally:
            self.detach(token)

    def attach(self) -> Any:
        """Make the span current in this thread; returns the token for :meth:`detach`."""
        return otel_context.attach(self._context) if self._context is not None else None

    def detach(self, token: Any) -> None:
        if token is not None:
            otel_context.detach(token)

    def record_error(self, exc: BaseException) -> None:
        if self._span is None:
            return
        try:
            cls = type(exc)
            name = cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
            self._span.set_attribute("error.type", name)
            self._span.record_exception(exc)
            self._span.set_status(Status(StatusCode.ERROR, f"{name}: {exc}"))
        except Exception:  # never let tracing change a call's outcome
            log.debug("recording an error on the tool span failed", exc_info=True)

    def end(self) -> None:
        if self._span is None:
            return
        try:
            self._span.end()
        except Exception:
            log.debug("ending the tool span failed", exc_info=True)


#: The stand-in used when tracing is off.
NOOP = ToolSpan()


def _sdk_configured() -> bool:
    """Whether a tracer provider has been set (an SDK, or anything but the API's default).

    Reads the API's module state rather than calling get_tracer_provider(), which
    consults the environment on every call; if that private name ever goes away the
    answer is "yes" and tracing simply takes its normal path.
    """
    return not _PROVIDER_READABLE or trace._TRACER_PROVIDER is not None


# Whether the API keeps its provider where _sdk_configured reads it (looked up once).
_PROVIDER_READABLE = trace is not None and hasattr(trace, "_TRACER_PROVIDER")


def start_tool_span(call: CallContext, method: str, adapter: object) -> ToolSpan:
    """Start the SERVER span of a tool call, child of the caller's ``traceparent`` if any.

    ``method`` is the RPC method: ``"Execute"`` or ``"Stream"``.
    """
    if trace is None or (not call.headers and not _sdk_configured()):
        # Nothing to continue and nothing to record: skip the API's work entirely
        # (it costs more than a no-op call).
        return NOOP
    try:
        parent = propagate.extract(call.headers)
        cls = type(adapter)
        attributes: dict[str, Any] = {
            "rpc.system": "grpc",
            "rpc.service": RPC_SERVICE,
            "rpc.method": method,
            "snakepit.tool": call.tool,
            "snakepit.call.id": call.call_id,
            "snakepit.adapter": f"{cls.__module__}:{cls.__qualname__}",
            "thread.name": threading.current_thread().name,
        }
        if call.session_id:
            attributes["snakepit.session.id"] = call.session_id
        span = _tracer().start_span(
            f"snakepit.tool {call.tool}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes=attributes,
        )
        return ToolSpan(span, trace.set_span_in_context(span, parent))
    except Exception:
        log.warning("could not start a trace span for tool %r", call.tool, exc_info=True)
        return NOOP


def tool_span(call: CallContext, method: str, adapter: object) -> AbstractContextManager[ToolSpan]:
    """Start the tool's span, record an exception that leaves the block, end it after.

    The span is *not* made current by this; wrap the tool's code in ``span.current()``.
    A ``GeneratorExit`` (the consumer closed a stream) is not an error.
    """
    return ending(start_tool_span(call, method, adapter))


@contextmanager
def ending(span: ToolSpan) -> Iterator[ToolSpan]:
    """Record an exception that leaves the block on ``span`` (GeneratorExit aside), end it after."""
    try:
        yield span
    except GeneratorExit:
        raise
    except BaseException as exc:
        span.record_error(exc)
        raise
    finally:
        span.end()
