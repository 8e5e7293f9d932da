"""Calling a tool: binding arguments, running sync/async/generator tools, mapping errors."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
import os
import traceback
from collections.abc import Iterator
from types import TracebackType
from typing import Any

from . import call_context, errors, tracing
from .async_runner import AsyncRunner
from .call_context import CallContext, activate
from .errors import CancelledError, ToolError
from .tool import ToolSpec

log = logging.getLogger("snakepit_bridge")


def bind_arguments(spec: ToolSpec, kwargs: dict[str, Any]) -> inspect.BoundArguments:
    """Bind by-name arguments to the tool's signature before calling it.

    Doing this up front means a TypeError raised *inside* the tool is reported as a
    python_error rather than being mistaken for bad arguments.
    """
    positional: list[Any] = []
    rest = dict(kwargs)
    for param in spec.signature.parameters.values():
        # Positional-only parameters can only be filled positionally; take them by name.
        if param.kind is not inspect.Parameter.POSITIONAL_ONLY or param.name not in rest:
            break
        positional.append(rest.pop(param.name))
    try:
        return spec.signature.bind(*positional, **rest)
    except TypeError as exc:
        raise ToolError(
            errors.INVALID_ARGUMENT,
            f"invalid arguments for tool {spec.name!r}: {exc}; "
            f"signature: {spec.render_signature()}",
        ) from None


def call_tool(
    adapter: object,
    spec: ToolSpec,
    bound: inspect.BoundArguments,
    ctx: CallContext,
    runner: AsyncRunner,
) -> Any:
    """Run a non-streaming tool to completion in this thread (async ones on the loop)."""
    func = getattr(adapter, spec.attribute)
    # The server span (when OpenTelemetry is installed) is current while the tool runs;
    # async tools see it too: the loop's task copies this thread's context.
    with tracing.tool_span(ctx, "Execute", adapter) as span, span.current():
        if spec.is_async:
            return runner.run(func(*bound.args, **bound.kwargs), ctx)
        with activate(ctx):
            result = func(*bound.args, **bound.kwargs)
        if inspect.iscoroutine(result):  # e.g. a sync wrapper around an async function
            return runner.run(result, ctx)
        return result


def iterate_tool(
    adapter: object,
    spec: ToolSpec,
    bound: inspect.BoundArguments,
    ctx: CallContext,
    runner: AsyncRunner,
) -> Iterator[Any]:
    """Yield what a generator tool yields, closing it as soon as the call is cancelled.

    The caller must close this iterator (or exhaust it); closing closes the tool's
    generator so its ``finally`` blocks run.
    """
    func = getattr(adapter, spec.attribute)
    # One server span for the whole stream, current only while the tool's code runs
    # (never across a yield to the bridge).
    with tracing.tool_span(ctx, "Stream", adapter) as span:
        with span.current(), activate(ctx):
            gen = func(*bound.args, **bound.kwargs)
        if inspect.isasyncgen(gen):
            yield from _iterate_async(gen, ctx, runner, span)
            return
        if not inspect.isgenerator(gen):  # e.g. a wrapped tool that returns an iterable
            gen = iter(gen)
        try:
            while True:
                ctx.check()
                with span.current(), activate(ctx):
                    try:
                        item = next(gen)
                    except StopIteration:
                        return
                yield item
        finally:
            close = getattr(gen, "close", None)
            if close is not None:
                with span.current(), activate(ctx):
                    close()


def _iterate_async(
    agen: Any, ctx: CallContext, runner: AsyncRunner, span: tracing.ToolSpan = tracing.NOOP
) -> Iterator[Any]:
    try:
        while True:
            ctx.check()
            try:
                with span.current():
                    item = runner.run(agen.__anext__(), ctx)
            except StopAsyncIteration:
                return
            yield item
    finally:
        # A no-op when the generator already ended (including by a cancelled __anext__).
        try:
            with span.current():
                runner.run(agen.aclose(), ctx, cancellable=False)
        except Exception:  # must not mask the stream's own outcome
            log.exception("closing async generator tool %r failed", ctx.tool)


# Frames from these files are the bridge's plumbing, not the user's code.
_PLUMBING_DIRS = (
    os.path.dirname(asyncio.__file__) + os.sep,
    os.path.dirname(concurrent.futures.__file__) + os.sep,
)
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_PLUMBING_FILES = {
    os.path.join(_PACKAGE_DIR, name)
    for name in ("invoke.py", "engine.py", "async_runner.py", "call_context.py")
}


def _trim_plumbing(tb: TracebackType | None) -> TracebackType | None:
    """Drop leading traceback frames that belong to the bridge, so users see their code."""
    start = tb
    while start is not None:
        filename = os.path.abspath(start.tb_frame.f_code.co_filename)
        if filename not in _PLUMBING_FILES and not filename.startswith(_PLUMBING_DIRS):
            return start
        start = start.tb_next
    return tb


def python_type_name(exc: BaseException) -> str:
    cls = type(exc)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def safe_str(exc: BaseException) -> str:
    """``str(exc)``, or a stand-in when the exception's ``__str__`` itself raises."""
    try:
        return str(exc)
    except BaseException:  # noqa: BLE001 - a broken __str__ must not end the call badly
        return f"<exception str() failed: {python_type_name(exc)}>"


def error_from_exception(exc: BaseException, ctx: CallContext, spec: ToolSpec) -> ToolError:
    """Map anything a tool raised (any BaseException) to the wire ToolError; never raises."""
    if isinstance(exc, ToolError):
        return exc
    if isinstance(exc, (CancelledError, asyncio.CancelledError)):
        if ctx.cancel_reason == call_context.DEADLINE:
            return ToolError(
                errors.DEADLINE_EXCEEDED,
                f"tool {spec.name!r} did not finish before its deadline",
                python_type=python_type_name(exc),
            )
        reason = f" ({ctx.cancel_reason})" if ctx.cancel_reason else ""
        return ToolError(
            errors.ABORTED,
            f"tool {spec.name!r} was cancelled{reason}",
            python_type=python_type_name(exc),
        )
    return ToolError(
        errors.PYTHON_ERROR,
        safe_str(exc),
        python_type=python_type_name(exc),
        traceback=format_traceback(exc, _trim_plumbing(exc.__traceback__)),
    )


def format_traceback(exc: BaseException, tb: TracebackType | None) -> str:
    try:
        return "".join(traceback.format_exception(type(exc), exc, tb))
    except BaseException:  # noqa: BLE001 - e.g. a __str__ that raises something odd
        return f"{python_type_name(exc)} (the traceback could not be formatted)\n"
