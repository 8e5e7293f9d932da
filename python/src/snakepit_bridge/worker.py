"""A running worker: the gRPC server around one adapter, and its graceful shutdown."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import grpc

from ._proto import worker_pb2_grpc
from .adapter import Adapter
from .auth import TokenAuthInterceptor
from .call_context import SHUTDOWN
from .server import WorkerServicer

log = logging.getLogger("snakepit_bridge")

DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
# Room for the envelope around a maximal payload (protobuf framing, other fields).
MESSAGE_HEADROOM_BYTES = 1024 * 1024
# Extra server threads beyond the tool slots so Health/Describe/Cancel/Drain are
# answered even while every slot is busy.
SPARE_RPC_THREADS = 4


class BindError(RuntimeError):
    """The server could not listen on the requested address."""


class Worker:
    """Serves one adapter instance over gRPC until drained, signalled or stopped."""

    def __init__(
        self,
        adapter: Adapter,
        *,
        adapter_spec: str,
        threads: int = 1,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        token: str | None = None,
        grace_seconds: float = 5.0,
    ) -> None:
        if threads < 1:
            raise ValueError("threads must be at least 1")
        self.adapter = adapter
        self.threads = threads
        self.grace_seconds = grace_seconds
        self.servicer = WorkerServicer(
            adapter,
            adapter_spec=adapter_spec,
            threads=threads,
            max_message_bytes=max_message_bytes,
            on_drain=self._drain_in_background,
        )
        self.address: str | None = None
        self._unix_path: str | None = None
        self._server = grpc.server(
            ThreadPoolExecutor(
                max_workers=threads + SPARE_RPC_THREADS, thread_name_prefix="snakepit-rpc"
            ),
            interceptors=[TokenAuthInterceptor(token)] if token else [],
            options=[
                ("grpc.max_receive_message_length", max_message_bytes + MESSAGE_HEADROOM_BYTES),
                ("grpc.max_send_message_length", max_message_bytes + MESSAGE_HEADROOM_BYTES),
                ("grpc.so_reuseport", 0),
            ],
        )
        worker_pb2_grpc.add_WorkerServiceServicer_to_server(  # type: ignore[no-untyped-call]
            self.servicer, self._server
        )
        self._local: object | None = None
        self._shutdown_lock = threading.Lock()
        self._shutdown_started = False
        self._stopped = threading.Event()

    @property
    def tool_names(self) -> list[str]:
        return sorted(self.servicer.tools)

    def start(self, listen: str) -> str:
        """Bind ``listen`` (``unix:/path`` or ``host:port``) and start serving.

        Returns the address clients should dial: the real port when ``listen`` asked
        for port 0, an absolute path for unix sockets.
        """
        try:
            port = self._server.add_insecure_port(listen)
        except RuntimeError as exc:
            raise BindError(f"could not listen on {listen!r}: {exc}") from None
        if port == 0:
            raise BindError(f"could not listen on {listen!r}")
        self.address = _reported_address(listen, port)
        if listen.startswith("unix:") and not listen.startswith("unix://"):
            self._unix_path = os.path.abspath(listen[len("unix:") :])
        elif listen.startswith("unix://"):
            self._unix_path = listen[len("unix://") :]
        self._server.start()
        if self.threads > 1 and not type(self.adapter).thread_safe:
            log.warning(
                "%s runs with --threads %d but is not a ThreadSafeAdapter; "
                "its tools may run concurrently",
                type(self.adapter).__qualname__,
                self.threads,
            )
        return self.address

    def serve_local(self, fd: int) -> None:
        """Serve Execute/Stream on a socketpair fd too (the local data plane)."""
        from .local_transport import LocalTransport

        self._local = LocalTransport(self.servicer, fd, self.threads, self.servicer.max_message_bytes)
        self._local.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the worker has stopped; False on timeout."""
        return self._stopped.wait(timeout)

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def shutdown(self, grace_seconds: float | None = None) -> None:
        """Stop taking calls, let running ones finish (bounded), tear down, stop serving.

        Safe to call from several threads; later callers wait for the first to finish.
        """
        with self._shutdown_lock:
            first = not self._shutdown_started
            self._shutdown_started = True
        if not first:
            self._stopped.wait()
            return
        grace = self.grace_seconds if grace_seconds is None else grace_seconds
        try:
            tracker = self.servicer.tracker
            tracker.start_draining()
            if not tracker.wait_idle(grace):
                log.warning(
                    "%d call(s) still running after %.1fs; cancelling them",
                    tracker.active_calls,
                    grace,
                )
                tracker.cancel_all(SHUTDOWN)
                tracker.wait_idle(min(1.0, grace))  # a moment for cooperative tools
            try:
                self.adapter.teardown()
            except Exception:
                log.exception("adapter teardown failed")
            # A short grace lets in-flight Health/Drain responses go out.
            self._server.stop(grace=0.5).wait(2.0)
            self.servicer.close()
            self._remove_socket_file()
        finally:
            self._stopped.set()

    def stop_now(self) -> None:
        """Stop serving without waiting for calls or running teardown (the parent is gone)."""
        self._server.stop(grace=None)
        self._remove_socket_file()
        self._stopped.set()

    def _drain_in_background(self, timeout: float | None) -> None:
        threading.Thread(
            target=self.shutdown, args=(timeout,), name="snakepit-drain", daemon=True
        ).start()

    def _remove_socket_file(self) -> None:
        if self._unix_path:
            with contextlib.suppress(OSError):
                os.unlink(self._unix_path)


def _reported_address(listen: str, port: int) -> str:
    if listen.startswith("unix:") and not listen.startswith("unix://"):
        return "unix:" + os.path.abspath(listen[len("unix:") :])
    if listen.startswith("unix"):  # unix://, unix-abstract:
        return listen
    host, sep, _ = listen.rpartition(":")
    return f"{host}:{port}" if sep else f"{listen}:{port}"
