"""The transport-neutral worker engine: runs tool calls for any transport.

Call tracking, deadlines, cancellation, argument binding, encoding, the message
size limit, tool lookup, describe/health/drain: everything a call means, once.
The transports (local_transport, connect_server) only move bytes and call in.

The policy for what a tool raises (see README "What a tool may raise"):
anything, ``BaseException`` included, fails that one call (``python_error``,
or ``aborted``/``deadline_exceeded`` for a cancellation), never the thread or
the transport that ran it. Only a ``GeneratorExit`` the bridge itself throws
into a generator tool, by closing it, is a normal end.
"""

from __future__ import annotations

import difflib
import logging
import math
import os
import sys
import threading
from collections.abc import Callable, Generator, Iterator
from functools import partial
from json.encoder import encode_basestring_ascii
from typing import Any, NoReturn, TypeVar

from . import call_context, codec, errors, runtime_info, wire
from ._proto import worker_pb2
from .adapter import Adapter
from .async_runner import AsyncRunner
from .binding import Arguments
from .call_context import CallContext
from .calls import CallTracker
from .codec import MAX_SAFE_INTEGER
from .deadlines import DeadlineTimer
from .errors import CancelledError, ToolError
from .invoke import (
    ToolEntry,
    call_tool,
    error_from_exception,
    format_traceback,
    iterate_tool,
    python_type_name,
    safe_str,
    tool_entries,
)
from .memory import read_memory
from .tool import ToolSpec, discover_tools

log = logging.getLogger("snakepit_bridge")

DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024

Encoded = tuple[bytes, list[bytes]]  # a value as (json, attachments)
M = TypeVar("M")


class Engine:
    """Runs one adapter instance's tools; every method is safe to call from any thread."""

    def __init__(
        self,
        adapter: Adapter,
        *,
        adapter_spec: str,
        threads: int = 1,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        on_drain: Callable[[float | None], None] | None = None,
    ) -> None:
        if threads < 1:
            raise ValueError("threads must be at least 1")
        self.adapter = adapter
        self.adapter_spec = adapter_spec
        self.threads = threads
        self.max_message_bytes = max_message_bytes
        self.tools: dict[str, ToolSpec] = discover_tools(type(adapter))
        # Each tool resolved once (see ToolEntry): wrap the instance's tools before this.
        self._entries: dict[str, ToolEntry] = tool_entries(adapter, self.tools)
        self.tracker = CallTracker()
        self.runner = AsyncRunner()
        self._deadlines = DeadlineTimer()
        # One slot is a plain lock, whose acquire and release are C calls; a Semaphore
        # is Python code around a Condition. Same contract: acquire(blocking, timeout).
        self._slots: threading.Lock | threading.Semaphore = (
            threading.Lock() if threads == 1 else threading.Semaphore(threads)
        )
        self._arm_deadline_bound = self._arm_deadline  # one bound method, not one per call
        self._on_drain = on_drain

    @property
    def draining(self) -> bool:
        return self.tracker.draining

    # ---- calls ----------------------------------------------------------------------

    def execute(
        self, request: worker_pb2.CallRequest, *, transport_deadline: float | None = None
    ) -> worker_pb2.CallResponse:
        """Run a plain tool; the outcome (result or ToolError) is in the response. Never raises.

        ``transport_deadline`` is an absolute Unix time; the earlier of it and the
        request's ``deadline_unix_ms`` applies.
        """
        outcome = self._outcome(request, transport_deadline)
        if type(outcome) is tuple:
            return worker_pb2.CallResponse(result=worker_pb2.Payload(json=outcome[0], attachments=outcome[1]))
        return worker_pb2.CallResponse(error=outcome.to_proto())  # type: ignore[union-attr]

    def execute_encoded(self, request: Any, *, transport_deadline: float | None = None) -> bytes:
        """``execute`` returning the serialised CallResponse (no protobuf object on success)."""
        outcome = self._outcome(request, transport_deadline)
        if type(outcome) is tuple:
            return wire.encode_result(outcome[0], outcome[1])
        return worker_pb2.CallResponse(error=outcome.to_proto()).SerializeToString()  # type: ignore[union-attr]

    def stream(
        self, request: worker_pb2.CallRequest, *, transport_deadline: float | None = None
    ) -> Generator[worker_pb2.StreamMessage, None, None]:
        """Run a generator tool: its items as ``chunk`` messages, a failure as one last ``error``.

        The caller must close the returned generator (or exhaust it): closing it
        closes the tool's generator, so its ``finally`` blocks run at once.
        """
        return self._messages(request, transport_deadline, _chunk_message, _error_message)

    def stream_encoded(
        self, request: Any, *, transport_deadline: float | None = None
    ) -> Generator[bytes, None, None]:
        """``stream`` yielding serialised StreamMessages."""
        return self._messages(request, transport_deadline, wire.encode_result, _error_message_bytes)

    # ---- control --------------------------------------------------------------------

    def cancel(self, call_id: str, wait_s: float = 0.0) -> worker_pb2.CancelResponse:
        """Cancel the call(s) with this id; wait up to ``wait_s`` for them to end.

        An id not running yet is remembered: a cancel can overtake its call.
        """
        found = self.tracker.cancel(call_id, call_context.CANCEL_RPC)
        finished = self.tracker.wait_finished(call_id, wait_s) if found else True
        return worker_pb2.CancelResponse(found=found, finished=finished)

    def wait_finished(self, call_id: str, timeout_s: float) -> bool:
        return self.tracker.wait_finished(call_id, timeout_s)

    def describe(self) -> worker_pb2.DescribeResponse:
        return worker_pb2.DescribeResponse(
            worker=self.worker_info(), tools=[tool_info(spec) for spec in self.tools.values()]
        )

    def health(self) -> worker_pb2.HealthResponse:
        memory = read_memory()
        return worker_pb2.HealthResponse(
            status="draining" if self.tracker.draining else "serving",
            active_calls=self.tracker.active_calls,
            capacity=self.threads,
            requests_started=self.tracker.requests_started,
            rss_bytes=memory.rss_bytes,
            pss_bytes=memory.pss_bytes,
            uss_bytes=memory.uss_bytes,
            uptime_seconds=runtime_info.uptime_seconds(),
        )

    def drain(self, timeout_ms: int = 0) -> worker_pb2.DrainResponse:
        """Refuse new calls from now on; ``on_drain`` (the worker) winds down in the background."""
        active = self.tracker.active_calls
        self.tracker.start_draining()
        if self._on_drain is not None:
            # 0 (the proto3 default) means "not given": the worker's own grace applies.
            self._on_drain(timeout_ms / 1000.0 if timeout_ms > 0 else None)
        return worker_pb2.DrainResponse(active_calls=active)

    def close(self) -> None:
        """Release the helper threads (deadline timer, asyncio loop) once serving stopped."""
        self._deadlines.close()
        self.runner.stop()

    def worker_info(self) -> worker_pb2.WorkerInfo:
        return worker_pb2.WorkerInfo(
            pid=os.getpid(),
            python_version=runtime_info.python_version(),
            implementation=runtime_info.implementation(),
            free_threaded=runtime_info.free_threaded(),
            gil_enabled=runtime_info.gil_enabled(),
            threads=self.threads,
            adapter=self.adapter_spec,
            adapter_thread_safe=bool(type(self.adapter).thread_safe),
            platform=sys.platform,
        )

    # ---- the call path --------------------------------------------------------------
    #
    # Per call: plain try/finally rather than context managers and no per-call lookups
    # (ToolEntry holds the method, its binding and kind); each fast path says why it is
    # exact. A no-op call costs a few microseconds here, so every call counts.

    def _outcome(self, request: Any, transport_deadline: float | None) -> Encoded | ToolError:
        """The encoded result, or the ToolError to answer with. Never raises."""
        try:
            return self._run(request, transport_deadline)
        except ToolError as err:
            return err
        except BaseException as exc:  # noqa: BLE001 - a bridge bug: still answer the call
            return _internal_error(exc)

    def _run(self, request: Any, transport_deadline: float | None) -> Encoded:
        ctx = self._begin(request, transport_deadline)
        try:
            # ctx.tool, not request.tool: a upb message makes a new str on every read.
            entry = self._entries.get(ctx.tool) or self._unknown_tool(ctx.tool)
            if entry.streaming:
                raise ToolError(
                    errors.INVALID_ARGUMENT,
                    f"tool {entry.name!r} is a generator; call it with pool.stream()",
                )
            arguments = self._arguments(entry, request)
            slots = self._slots
            if not slots.acquire(False):  # the common case: a slot is free
                self._wait_for_slot(ctx, entry.spec)
            try:
                if ctx.cancel_reason is not None:
                    raise error_from_exception(CancelledError(), ctx, entry.spec)
                try:
                    result = call_tool(entry, arguments, ctx, self.runner, self.adapter)
                except BaseException as exc:  # noqa: BLE001 - any tool failure is this call's
                    raise error_from_exception(exc, ctx, entry.spec) from None
            finally:
                slots.release()
            return self._encode(result, entry.name)
        finally:
            self._finish(ctx)

    def _messages(
        self,
        request: Any,
        transport_deadline: float | None,
        chunk: Callable[[bytes, list[bytes]], M],
        error: Callable[[ToolError], M],
    ) -> Generator[M, None, None]:
        payloads = self._payloads(request, transport_deadline)
        try:
            for json_bytes, attachments in payloads:
                yield chunk(json_bytes, attachments)
        except ToolError as err:
            yield error(err)
        except GeneratorExit:  # our consumer closed us: close the tool (finally), no message
            raise
        except BaseException as exc:  # noqa: BLE001 - a bridge bug: still end in the contract's terms
            yield error(_internal_error(exc))
        finally:
            payloads.close()

    def _payloads(self, request: Any, transport_deadline: float | None) -> Generator[Encoded, None, None]:
        ctx = self._begin(request, transport_deadline)
        try:
            entry = self._entries.get(ctx.tool) or self._unknown_tool(ctx.tool)
            spec = entry.spec
            if not entry.streaming:
                raise ToolError(
                    errors.INVALID_ARGUMENT,
                    f"tool {entry.name!r} is not a generator; call it with pool.execute()",
                )
            arguments = self._arguments(entry, request)
            if not self._slots.acquire(False):
                self._wait_for_slot(ctx, spec)
            try:
                if ctx.cancelled:  # e.g. the deadline passed while waiting
                    raise error_from_exception(CancelledError(), ctx, spec)
                items = iterate_tool(entry, arguments, ctx, self.runner, self.adapter)
                try:
                    index = 0
                    while True:
                        try:
                            item = next(items)
                        except StopIteration:
                            return
                        except BaseException as exc:  # noqa: BLE001 - raised by the tool itself
                            raise error_from_exception(exc, ctx, spec) from None
                        yield self._encode(item, entry.name, index)
                        index += 1
                finally:
                    # On errors, cancellation and when the transport closes this generator:
                    # the tool's generator is closed so its `finally` blocks run now.
                    _close_quietly(items)
            finally:
                self._slots.release()
        finally:
            self._finish(ctx)

    def _begin(self, request: Any, transport_deadline: float | None) -> CallContext:
        """Register a call (refused with ``internal`` once draining)."""
        # The earlier of the request's own deadline and the transport's (absolute Unix seconds).
        deadline = transport_deadline
        own_ms = request.deadline_unix_ms
        if own_ms > 0 and (deadline is None or own_ms / 1000.0 < deadline):
            deadline = own_ms / 1000.0
        # Positional: keyword arguments cost more here than the tool of a no-op call.
        ctx = CallContext(request.call_id, request.tool, request.session_id, deadline, request.headers)
        self.tracker.begin(ctx)
        if deadline is not None:
            # Armed only when the tool first waits to be woken (see CallContext).
            ctx.arm_deadline = self._arm_deadline_bound
        return ctx

    def _arm_deadline(self, ctx: CallContext) -> None:
        ctx.disarm_deadline = self._deadlines.schedule(
            ctx.deadline,  # type: ignore[arg-type]
            partial(ctx.cancel, call_context.DEADLINE),
        )

    def _finish(self, ctx: CallContext) -> None:
        ctx.arm_deadline = None
        disarm = ctx.disarm_deadline
        if disarm is not None:
            ctx.disarm_deadline = None
            disarm()
        self.tracker.end(ctx)

    def _wait_for_slot(self, ctx: CallContext, spec: ToolSpec) -> None:
        """Block until a slot is free; raise (holding none) if the call is cancelled first."""
        while not self._slots.acquire(timeout=0.05):
            if ctx.cancelled:
                raise error_from_exception(CancelledError(), ctx, spec)

    def _unknown_tool(self, name: str) -> NoReturn:
        available = sorted(self.tools)
        suggestions = difflib.get_close_matches(name, available, n=3, cutoff=0.6)
        message = f"unknown tool {name!r} on adapter {self.adapter_spec!r}"
        if suggestions:
            message += "; did you mean " + " or ".join(repr(s) for s in suggestions) + "?"
        elif available:
            message += "; available: " + ", ".join(available)
        raise ToolError(
            errors.UNKNOWN_TOOL, message, details={"available": available, "suggestions": suggestions}
        )

    def _arguments(self, entry: ToolEntry, request: Any) -> Arguments:
        binding = entry.binding
        args_json = request.args.json
        # No payload and b"{}" both decode to {} (the plain decoder ignores attachments):
        # no JSON to parse, and a tool that takes no arguments needs no binding either.
        if (not args_json or args_json == b"{}") and binding.empty_ok:
            return _NO_ARGUMENTS
        return binding.bind(self._decode_args(request))

    def _decode_args(self, request: Any) -> dict[str, Any]:
        args_payload = request.args
        if not args_payload.json:
            return {}  # an absent Payload means "no arguments"
        try:
            args = codec.decode(args_payload.json, args_payload.attachments)
        except codec.DecodeError as exc:
            raise ToolError(
                errors.INVALID_ARGUMENT, f"arguments for tool {request.tool!r}: {exc}"
            ) from None
        if not isinstance(args, dict):
            raise ToolError(
                errors.INVALID_ARGUMENT,
                f"arguments for tool {request.tool!r} must be a JSON object "
                f"(keyword arguments), got {type(args).__name__}",
            )
        return args

    def _encode(self, value: Any, tool: str, index: int | None = None) -> Encoded:
        """``value`` as (json, attachments) within the size limit; ``index``: a stream's item."""
        json_bytes = _scalar_json(value)
        if json_bytes is not None:
            attachments: list[bytes] = []
            size = len(json_bytes)  # a scalar has no attachments, so no segments either
        else:
            root = "result" if index is None else "item"
            try:
                json_bytes, attachments = codec.encode(value, root=root)
            except codec.EncodeError as exc:
                raise ToolError(
                    errors.PYTHON_ERROR,
                    f"{_what(tool, index)} is not JSON-serialisable at {exc.path}: {exc.reason}",
                    python_type="TypeError",
                ) from None
            size = codec.encoded_size(json_bytes, attachments)
        if size > self.max_message_bytes:
            raise ToolError(
                errors.PAYLOAD_TOO_LARGE,
                f"{_what(tool, index)} is {size} bytes encoded, over the limit of "
                f"{self.max_message_bytes} bytes (--max-message-bytes)",
                details={"size": size, "limit": self.max_message_bytes},
            )
        return json_bytes, attachments


_NO_ARGUMENTS: Arguments = ((), {})  # shared: a call spreads it, never keeps or changes it


def _what(tool: str, index: int | None) -> str:
    """How an error message names the value (built only when there is an error)."""
    return f"result of tool {tool!r}" if index is None else f"item {index} yielded by tool {tool!r}"


def _scalar_json(value: Any) -> bytes | None:
    """The JSON of a None, bool, str, safe int or finite float: what codec.encode gives, without its walk.

    Exact: these are the representations json's encoder writes (ensure_ascii, so
    lone surrogates stay \\u escapes); anything else (subclasses too) returns None.
    """
    if value is None:
        return b"null"
    kind = type(value)
    if kind is bool:
        return b"true" if value else b"false"
    if kind is str:
        return encode_basestring_ascii(value).encode("ascii")
    if kind is int:
        return int.__repr__(value).encode("ascii") if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else None
    if kind is float:
        return float.__repr__(value).encode("ascii") if math.isfinite(value) else None
    return None


def _chunk_message(json_bytes: bytes, attachments: list[bytes]) -> worker_pb2.StreamMessage:
    return worker_pb2.StreamMessage(chunk=worker_pb2.Payload(json=json_bytes, attachments=attachments))


def _error_message(err: ToolError) -> worker_pb2.StreamMessage:
    return worker_pb2.StreamMessage(error=err.to_proto())


def _error_message_bytes(err: ToolError) -> bytes:
    return worker_pb2.StreamMessage(error=err.to_proto()).SerializeToString()


def _internal_error(exc: BaseException) -> ToolError:
    log.error("internal error in the bridge", exc_info=(type(exc), exc, exc.__traceback__))
    return ToolError(
        errors.INTERNAL,
        f"internal error in snakepit_bridge: {safe_str(exc)}",
        python_type=python_type_name(exc),
        traceback=format_traceback(exc, exc.__traceback__),
    )


def _close_quietly(items: Iterator[Any]) -> None:
    close = getattr(items, "close", None)
    if close is None:
        return
    try:
        close()
    except BaseException:  # noqa: BLE001 - the stream's outcome is already decided; just log
        log.exception("closing a generator tool failed")


def tool_info(spec: ToolSpec) -> worker_pb2.ToolInfo:
    return worker_pb2.ToolInfo(
        name=spec.name,
        doc=spec.doc,
        params=[
            worker_pb2.ParamInfo(
                name=p.name, type=p.type, required=p.required, default_json=p.default_json, kind=p.kind
            )
            for p in spec.params
        ],
        returns=spec.returns,
        streaming=spec.streaming,
        is_async=spec.is_async,
        params_schema_json=spec.schemas.params_json(),
        returns_schema_json=spec.schemas.returns_json(),
        schema_warnings=list(spec.schemas.warnings),
    )
