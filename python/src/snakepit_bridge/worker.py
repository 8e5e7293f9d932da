"""A running worker: one engine, its transports, and its graceful shutdown."""

from __future__ import annotations

import logging
import ssl
import threading

from .adapter import Adapter
from .call_context import SHUTDOWN
from .connect_server import BindError, ConnectServer
from .engine import DEFAULT_MAX_MESSAGE_BYTES, Engine
from .local_transport import LocalTransport

log = logging.getLogger("snakepit_bridge")

__all__ = ["DEFAULT_MAX_MESSAGE_BYTES", "BindError", "Worker"]


class Worker:
    """Serves one adapter instance (local lanes and/or Connect) until drained, signalled or stopped."""

    def __init__(
        self,
        adapter: Adapter,
        *,
        adapter_spec: str,
        threads: int = 1,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        grace_seconds: float = 5.0,
    ) -> None:
        self.adapter = adapter
        self.threads = threads
        self.grace_seconds = grace_seconds
        self.engine = Engine(
            adapter,
            adapter_spec=adapter_spec,
            threads=threads,
            max_message_bytes=max_message_bytes,
            on_drain=self._drain_in_background,
        )
        self.server: ConnectServer | None = None
        self.local: LocalTransport | None = None
        #: Why serving stopped without a shutdown ("eof" when the pool closed a lane).
        self.lost_reason: str | None = None
        self._shutdown_lock = threading.Lock()
        self._shutdown_started = False
        self._stopped = threading.Event()
        if threads > 1 and not type(adapter).thread_safe:
            log.warning(
                "%s runs with --threads %d but is not a ThreadSafeAdapter; its tools may run concurrently",
                type(adapter).__qualname__,
                threads,
            )

    @property
    def tool_names(self) -> list[str]:
        return sorted(self.engine.tools)

    def listen(self, address: str, *, token: str | None = None, tls: ssl.SSLContext | None = None) -> str:
        """Serve Connect on ``address`` (``unix:/path`` or ``HOST:PORT``); returns the dialable address."""
        self.server = ConnectServer(self.engine, address, token=token, tls=tls)
        return self.server.start()

    def serve_local(self, data_fd: int, control_fd: int) -> None:
        """Serve the two local lanes (socketpair fds from the pool)."""
        self.local = LocalTransport(self.engine, data_fd, control_fd, on_lost=self._lost)
        self.local.start()

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
            tracker = self.engine.tracker
            tracker.start_draining()
            if not tracker.wait_idle(grace):
                log.warning("%d call(s) still running after %.1fs; cancelling them", tracker.active_calls, grace)
                tracker.cancel_all(SHUTDOWN)
                tracker.wait_idle(min(1.0, grace))  # a moment for cooperative tools
            try:
                self.adapter.teardown()
            except Exception:
                log.exception("adapter teardown failed")
            self._close_transports()
            self.engine.close()
        finally:
            self._stopped.set()

    def stop_now(self) -> None:
        """Stop serving without waiting for calls or running teardown (the pool is gone)."""
        self._close_transports()
        self._stopped.set()

    def _close_transports(self) -> None:
        # Each lets a reply being written go out first (e.g. the Drain that started this).
        if self.local is not None:
            self.local.close()
        if self.server is not None:
            self.server.close()

    def _lost(self, reason: str) -> None:
        if self._shutdown_started:
            return
        log.info("the pool closed a local lane (%s); stopping", reason)
        self.lost_reason = reason
        self.stop_now()

    def _drain_in_background(self, timeout: float | None) -> None:
        threading.Thread(target=self.shutdown, args=(timeout,), name="snakepit-drain", daemon=True).start()
