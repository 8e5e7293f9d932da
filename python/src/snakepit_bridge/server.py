"""The gRPC WorkerService servicer: runs tools for the Node.js pool."""

from __future__ import annotations

import asyncio
import inspect
import difflib
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import grpc

from . import call_context, codec, errors, runtime_info
from ._proto import worker_pb2, worker_pb2_grpc
from .adapter import Adapter
from .async_runner import AsyncRunner
from .call_context import CallContext
from .calls import CallTracker
from .deadlines import DeadlineTimer
from .errors import CancelledError, ToolError
from .invoke import (
    bind_arguments,
    call_tool,
    error_from_exception,
    iterate_tool,
    python_type_name,
)
from .memory import read_memory
from .tool import ToolSpec, discover_tools

log = logging.getLogger("snakepit_bridge")

# Exceptions a tool may raise that become a ToolError (KeyboardInterrupt never reaches here:
# tools run off the main thread).
_TOOL_FAILURES = (Exception, asyncio.CancelledError, SystemExit)

# grpc reports "no deadline" as a time_remaining() of many years.
_NO_DEADLINE_THRESHOLD_S = 10 * 365 * 24 * 3600.0


class WorkerServicer(worker_pb2_grpc.WorkerServiceServicer):
    """Implements Execute/Stream/Cancel/Describe/Health/Drain for one adapter instance."""

    def __init__(
        self,
        adapter: Adapter,
        *,
        adapter_spec: str,
        threads: int = 1,
        max_message_bytes: int = 64 * 1024 * 1024,
        on_drain: Callable[[float | None], None] | None = None,
    ) -> None:
        self.adapter = adapter
        self.adapter_spec = adapter_spec
        self.threads = threads
        self.max_message_bytes = max_message_bytes
        self.tools: dict[str, ToolSpec] = discover_tools(type(adapter))
        self.tracker = CallTracker()
        self.runner = AsyncRunner()
        self._deadlines = DeadlineTimer()
        self._slots = threading.Semaphore(threads)
        self._fast_binding: dict[str, _FastBinding] = {}
        self._on_drain = on_drain

    # ---- RPCs -------------------------------------------------------------------------

    def Execute(
        self, request: worker_pb2.CallRequest, context: grpc.ServicerContext
    ) -> worker_pb2.CallResponse:
        try:
            return worker_pb2.CallResponse(result=self._execute(request, context))
        except ToolError as err:
            return worker_pb2.CallResponse(error=err.to_proto())
        except Exception as exc:  # a bridge bug: still answer in the contract's terms
            return worker_pb2.CallResponse(error=_internal_error(exc).to_proto())

    def Stream(
        self, request: worker_pb2.CallRequest, context: grpc.ServicerContext
    ) -> Iterator[worker_pb2.StreamMessage]:
        inner = self._stream(request, context)
        try:
            for payload in inner:
                yield worker_pb2.StreamMessage(chunk=payload)
        except ToolError as err:
            yield worker_pb2.StreamMessage(error=err.to_proto())
        except Exception as exc:  # a bridge bug: still answer in the contract's terms
            yield worker_pb2.StreamMessage(error=_internal_error(exc).to_proto())
        finally:
            inner.close()  # explicit, so a dropped stream closes the tool's generator now

    def Cancel(
        self, request: worker_pb2.CancelRequest, context: grpc.ServicerContext
    ) -> worker_pb2.CancelResponse:
        found = self.tracker.cancel(request.call_id, call_context.CANCEL_RPC)
        # The pool keeps a cancelled call's slot until the call has really ended,
        # so it may ask us to wait (bounded) and say whether it has.
        finished = self.tracker.wait_finished(request.call_id, request.wait_ms / 1000.0) if found else True
        return worker_pb2.CancelResponse(found=found, finished=finished)

    def Describe(
        self, request: worker_pb2.DescribeRequest, context: grpc.ServicerContext
    ) -> worker_pb2.DescribeResponse:
        return worker_pb2.DescribeResponse(
            worker=self.worker_info(),
            tools=[tool_info(spec) for spec in self.tools.values()],
        )

    def Health(
        self, request: worker_pb2.HealthRequest, context: grpc.ServicerContext
    ) -> worker_pb2.HealthResponse:
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

    def Drain(
        self, request: worker_pb2.DrainRequest, context: grpc.ServicerContext
    ) -> worker_pb2.DrainResponse:
        active = self.tracker.active_calls
        self.tracker.start_draining()
        if self._on_drain is not None:
            # 0 (the proto3 default) means "not given": the worker's own grace applies.
            timeout = request.timeout_ms / 1000.0 if request.timeout_ms > 0 else None
            self._on_drain(timeout)
        return worker_pb2.DrainResponse(active_calls=active)

    # ---- helpers ----------------------------------------------------------------------

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

    def _execute(
        self, request: worker_pb2.CallRequest, context: grpc.ServicerContext
    ) -> worker_pb2.Payload:
        # The per-call hot path: explicit begin/finish rather than context managers,
        # which cost more than a no-op tool.
        ctx, finish = self._begin(request, context)
        try:
            spec = self._lookup(request.tool)
            if spec.streaming:
                raise ToolError(
                    errors.INVALID_ARGUMENT,
                    f"tool {spec.name!r} is a generator; call it with pool.stream()",
                )
            bound = self._bind(spec, self._decode_args(request))
            if not self._slots.acquire(blocking=False):  # the common case: a slot is free
                self._wait_for_slot(ctx, spec)
            try:
                if ctx.cancel_reason is not None:
                    raise error_from_exception(CancelledError(), ctx, spec)
                try:
                    result = call_tool(self.adapter, spec, bound, ctx, self.runner)
                except _TOOL_FAILURES as exc:
                    raise error_from_exception(exc, ctx, spec) from None
            finally:
                self._slots.release()
            return self._encode(result, f"result of tool {spec.name!r}", "result")
        finally:
            finish()

    def _stream(
        self, request: worker_pb2.CallRequest, context: grpc.ServicerContext
    ) -> Generator[worker_pb2.Payload, None, None]:
        with self._call(request, context) as ctx:
            spec = self._lookup(request.tool)
            if not spec.streaming:
                raise ToolError(
                    errors.INVALID_ARGUMENT,
                    f"tool {spec.name!r} is not a generator; call it with pool.execute()",
                )
            bound = bind_arguments(spec, self._decode_args(request))
            with self._slot(ctx, spec):
                items = iterate_tool(self.adapter, spec, bound, ctx, self.runner)
                try:
                    index = 0
                    while True:
                        try:
                            item = next(items)
                        except StopIteration:
                            return
                        except _TOOL_FAILURES as exc:
                            raise error_from_exception(exc, ctx, spec) from None
                        what = f"item {index} yielded by tool {spec.name!r}"
                        yield self._encode(item, what, "item")
                        index += 1
                finally:
                    # Runs on errors, on cancellation and when grpc drops this generator:
                    # the tool's generator is closed so its `finally` blocks run now.
                    _close_quietly(items)

    @contextmanager
    def _call(
        self, request: worker_pb2.CallRequest, context: grpc.ServicerContext
    ) -> Iterator[CallContext]:
        """Register the call, wire up transport cancellation and the deadline timer."""
        ctx, finish = self._begin(request, context)
        try:
            yield ctx
        finally:
            finish()

    def _begin(
        self, request: worker_pb2.CallRequest, context: grpc.ServicerContext
    ) -> tuple[CallContext, Callable[[], None]]:
        """Register a call; returns its context and the function that ends it."""
        ctx = CallContext(
            request.call_id,
            request.tool,
            session_id=request.session_id,
            deadline=_deadline(request, context),
            headers=request.headers,
        )
        self.tracker.begin(ctx)
        finished = [False]

        def on_rpc_done() -> None:
            # Fires on every RPC termination; only a call still running was cut short.
            if finished[0]:
                return
            passed = ctx.deadline is not None and time.time() >= ctx.deadline - 0.01
            ctx.cancel(call_context.DEADLINE if passed else call_context.CLIENT_CANCELLED)

        unschedule: list[Callable[[], None]] = []

        def arm_deadline(armed: CallContext) -> None:
            # Called at most once, from the tool's thread, when it first waits to be woken.
            unschedule.append(self._deadlines.schedule(armed.deadline, partial(armed.cancel, call_context.DEADLINE)))  # type: ignore[arg-type]

        ctx.arm_deadline = arm_deadline
        try:
            if not context.add_callback(on_rpc_done):
                ctx.cancel(call_context.CLIENT_CANCELLED)  # the RPC already ended
        except BaseException:
            self.tracker.end(ctx)
            raise

        def finish() -> None:
            finished[0] = True
            ctx.arm_deadline = None
            for undo in unschedule:
                undo()
            self.tracker.end(ctx)

        return ctx, finish

    @contextmanager
    def _slot(self, ctx: CallContext, spec: ToolSpec) -> Iterator[None]:
        """Hold one of the ``threads`` tool slots; give up if the call is cancelled meanwhile."""
        if not self._slots.acquire(blocking=False):  # the common case: a slot is free
            self._wait_for_slot(ctx, spec)
        try:
            if ctx.cancelled:  # e.g. the deadline passed while waiting
                raise error_from_exception(CancelledError(), ctx, spec)
            yield
        finally:
            self._slots.release()

    def _wait_for_slot(self, ctx: CallContext, spec: ToolSpec) -> None:
        """Block until a slot is free; raise (holding none) if the call is cancelled first."""
        while not self._slots.acquire(timeout=0.05):
            if ctx.cancelled:
                raise error_from_exception(CancelledError(), ctx, spec)

    def _bind(self, spec: ToolSpec, kwargs: dict[str, Any]) -> Any:
        """Bind arguments; skip inspect's binder when they plainly fit (the usual case)."""
        fast = self._fast_binding.get(spec.name)
        if fast is None:
            fast = self._fast_binding[spec.name] = _FastBinding.of(spec)
        if fast.fits(kwargs):
            return _Bound(kwargs)
        return bind_arguments(spec, kwargs)  # slow path: binds, or explains the mismatch

    def _lookup(self, name: str) -> ToolSpec:
        spec = self.tools.get(name)
        if spec is not None:
            return spec
        available = sorted(self.tools)
        suggestions = difflib.get_close_matches(name, available, n=3, cutoff=0.6)
        message = f"unknown tool {name!r} on adapter {self.adapter_spec!r}"
        if suggestions:
            message += "; did you mean " + " or ".join(repr(s) for s in suggestions) + "?"
        elif available:
            message += "; available: " + ", ".join(available)
        raise ToolError(
            errors.UNKNOWN_TOOL,
            message,
            details={"available": available, "suggestions": suggestions},
        )

    def _decode_args(self, request: worker_pb2.CallRequest) -> dict[str, Any]:
        if not request.args.json:
            return {}  # an absent Payload means "no arguments"
        try:
            args = codec.decode(request.args.json, request.args.attachments)
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

    def _encode(self, value: Any, what: str, root: str) -> worker_pb2.Payload:
        try:
            json_bytes, attachments = codec.encode(value, root=root)
        except codec.EncodeError as exc:
            raise ToolError(
                errors.PYTHON_ERROR,
                f"{what} is not JSON-serialisable at {exc.path}: {exc.reason}",
                python_type="TypeError",
            ) from None
        size = codec.encoded_size(json_bytes, attachments)
        if size > self.max_message_bytes:
            raise ToolError(
                errors.PAYLOAD_TOO_LARGE,
                f"{what} is {size} bytes encoded, over the limit of "
                f"{self.max_message_bytes} bytes (--max-message-bytes)",
                details={"size": size, "limit": self.max_message_bytes},
            )
        return worker_pb2.Payload(json=json_bytes, attachments=attachments)


class _Bound:
    """What call_tool needs of inspect.BoundArguments, for arguments that plainly fit."""

    __slots__ = ("kwargs",)
    args: tuple[Any, ...] = ()

    def __init__(self, kwargs: dict[str, Any]) -> None:
        self.kwargs = kwargs


class _FastBinding:
    """When by-name arguments can be passed straight through as **kwargs."""

    __slots__ = ("names", "required", "usable", "extra_ok")

    def __init__(self, names: frozenset[str], required: frozenset[str], usable: bool, extra_ok: bool) -> None:
        self.names = names
        self.required = required
        self.usable = usable
        self.extra_ok = extra_ok

    @classmethod
    def of(cls, spec: ToolSpec) -> _FastBinding:
        names: set[str] = set()
        required: set[str] = set()
        usable = True
        extra_ok = False
        for param in spec.signature.parameters.values():
            if param.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.VAR_POSITIONAL):
                usable = False
            elif param.kind is inspect.Parameter.VAR_KEYWORD:
                extra_ok = True
            else:
                names.add(param.name)
                if param.default is inspect.Parameter.empty:
                    required.add(param.name)
        return cls(frozenset(names), frozenset(required), usable, extra_ok)

    def fits(self, kwargs: dict[str, Any]) -> bool:
        if not self.usable:
            return False
        keys = kwargs.keys()
        return self.required <= keys and (self.extra_ok or keys <= self.names)


def _deadline(request: worker_pb2.CallRequest, context: grpc.ServicerContext) -> float | None:
    """The earlier of the request's deadline_unix_ms and the transport deadline."""
    candidates: list[float] = []
    if request.deadline_unix_ms > 0:
        candidates.append(request.deadline_unix_ms / 1000.0)
    remaining = context.time_remaining()
    if remaining is not None and remaining < _NO_DEADLINE_THRESHOLD_S:
        candidates.append(time.time() + remaining)
    return min(candidates) if candidates else None


def _internal_error(exc: Exception) -> ToolError:
    log.exception("internal error in the bridge")
    return ToolError(
        errors.INTERNAL,
        f"internal error in snakepit_bridge: {exc}",
        python_type=python_type_name(exc),
        traceback="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    )


def _close_quietly(items: Iterator[Any]) -> None:
    close = getattr(items, "close", None)
    if close is None:
        return
    try:
        close()
    except Exception:  # the stream's outcome is already decided; just log
        log.exception("closing a generator tool failed")


def tool_info(spec: ToolSpec) -> worker_pb2.ToolInfo:
    return worker_pb2.ToolInfo(
        name=spec.name,
        doc=spec.doc,
        params=[
            worker_pb2.ParamInfo(
                name=p.name,
                type=p.type,
                required=p.required,
                default_json=p.default_json,
                kind=p.kind,
            )
            for p in spec.params
        ],
        returns=spec.returns,
        streaming=spec.streaming,
        is_async=spec.is_async,
    )
