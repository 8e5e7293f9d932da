"""Calling a tool: its entry (resolved once), running sync/async/generator tools, mapping errors."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
import os
import traceback
from collections.abc import Callable, Iterator
from types import CoroutineType, TracebackType
from typing import Any

from . import call_context, errors, tracing
from .async_runner import AsyncRunner
from .binding import Arguments, Binding
from .call_context import CallContext, activate, reset_current, set_current
from .errors import CancelledError, ToolError
from .tool import ToolSpec

log = logging.getLogger("snakepit_bridge")


class ToolEntry:
    """One tool of one adapter instance, resolved once when the engine is made.

    The per-call path reads these slots instead of looking the method up, asking
    what kind of function it is or working out its binding again. The method is the
    instance's attribute at that moment, so a wrapper put on the instance (the
    thread-safety checker's) must be in place before the engine is made.
    """

    __slots__ = ("spec", "name", "method", "streaming", "is_async", "binding")

    def __init__(self, spec: ToolSpec, adapter: object) -> None:
        self.spec = spec
        self.name = spec.name
        self.method: Callable[..., Any] = getattr(adapter, spec.attribute)
        self.streaming = spec.streaming
        self.is_async = spec.is_async
        self.binding = Binding(spec)


def tool_entries(adapter: object, specs: dict[str, ToolSpec]) -> dict[str, ToolEntry]:
    return {name: ToolEntry(spec, adapter) for name, spec in specs.items()}


def call_tool(
    entry: ToolEntry,
    arguments: Arguments,
    ctx: CallContext,
    runner: AsyncRunner,
    adapter: object,
) -> Any:
    """Run a non-streaming tool to completion in this thread (async ones on the loop)."""
    span = tracing.start_tool_span(ctx, "Execute", adapter)
    if span is tracing.NOOP:  # nothing to make current, record or end
        return _run_to_completion(entry, arguments, ctx, runner)
    # The server span is current while the tool runs; async tools see it too: the
    # loop's task copies this thread's context.
    with tracing.ending(span), span.current():
        return _run_to_completion(entry, arguments, ctx, runner)


def _run_to_completion(entry: ToolEntry, arguments: Arguments, ctx: CallContext, runner: AsyncRunner) -> Any:
    args, kwargs = arguments
    if entry.is_async:
        return runner.run(entry.method(*args, **kwargs), ctx)
    token = set_current(ctx)
    try:
        result = entry.method(*args, **kwargs)
    finally:
        reset_current(token)
    if type(result) is CoroutineType:  # e.g. a sync wrapper around an async function
        return runner.run(result, ctx)
    return result


def iterate_tool(
    entry: ToolEntry,
    arguments: Arguments,
    ctx: CallContext,
    runner: AsyncRunner,
    adapter: object,
) -> Iterator[Any]:
    """Yield what a generator tool yields, closing it as soon as the call is cancelled.

    The caller must close this iterator (or exhaust it); closing closes the tool's
    generator so its ``finally`` blocks run.
    """
    args, kwargs = arguments
    # One server span for the whole stream, current only while the tool's code runs
    # (never across a yield to the bridge).
    with tracing.tool_span(ctx, "Stream", adapter) as span:
        with span.current(), activate(ctx):
            gen = entry.method(*args, **kwargs)
        if inspect.isasyncgen(gen):
            yield from _iterate_async(gen, ctx, runner, span)
            return
        if not inspect.isgenerator(gen):  # e.g. a wrapped tool that returns an iterable
            gen = iter(gen)
        try:
            while True:
                ctx.check()
                # The tool's code runs with its span and call current (plain calls,
                # not context managers: this runs once per item).
                span_token = span.attach()
                token = set_current(ctx)
                try:
                    item = next(gen)
                except StopIteration:
                    return
                finally:
                    reset_current(token)
                    span.detach(span_token)
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
