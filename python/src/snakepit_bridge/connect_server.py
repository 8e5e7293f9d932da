"""The network server: WorkerService over the Connect protocol on HTTP/1.1, standard library only.

For pools on other hosts (``python -m snakepit_bridge serve``) and ``--listen``.
The Node side dials it with connect-node's
``createConnectTransport({ httpVersion: "1.1", useBinaryFormat: true })``.

* One thread per connection (http.server's ThreadingMixIn), keep-alive: a
  Health call on its own connection is answered while every tool slot is busy.
* Routes: ``POST /snakepit.worker.v1.WorkerService/<Method>``; ``GET /healthz``
  (no token: for Kubernetes probes) answers 200 "serving" or 503 "draining".
* An optional shared token (header ``x-snakepit-token``) and optional TLS.
* Flow control of a stream is the blocking socket write; a client that goes
  away (a write fails) closes the tool's generator.
"""

from __future__ import annotations

import contextlib
import hmac
import itertools
import logging
import os
import socket
import socketserver
import ssl
import stat
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import connect_protocol as cp
from . import wire
from ._proto import worker_pb2
from .engine import Engine

log = logging.getLogger("snakepit_bridge")

SERVICE_PREFIX = "/snakepit.worker.v1.WorkerService/"
TOKEN_HEADER = "x-snakepit-token"
# Room for the envelope around a maximal payload (protobuf framing, other fields).
BODY_HEADROOM_BYTES = 1024 * 1024
_TLS_HANDSHAKE_TIMEOUT_S = 10.0
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 415: "Unsupported Media Type",
            429: "Too Many Requests", 499: "Client Closed Request", 500: "Internal Server Error",
            501: "Not Implemented", 503: "Service Unavailable", 504: "Gateway Timeout"}


class BindError(RuntimeError):
    """The server could not listen on the requested address."""


class ConnectServer:
    """Serves one engine over Connect until ``close()``."""

    def __init__(
        self,
        engine: Engine,
        listen: str,
        *,
        token: str | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.engine = engine
        self._token = token.encode() if token else None
        self._tls = tls
        self.body_limit = engine.max_message_bytes + BODY_HEADROOM_BYTES
        self._unix_path: str | None = None
        self._server = self._bind(listen)
        self._server.app = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None
        self._busy = 0
        self._busy_cond = threading.Condition()

    @property
    def address(self) -> str:
        """The dialable address: ``unix:/abs/path``, or ``HOST:PORT`` with the real port."""
        if self._unix_path is not None:
            return "unix:" + self._unix_path
        host, port = self._server.server_address[:2]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def start(self) -> str:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="snakepit-connect-accept", daemon=True
        )
        self._thread.start()
        return self.address

    def close(self, grace_s: float = 0.5) -> None:
        """Stop accepting, let requests being answered finish (bounded), drop idle connections."""
        # First, so that it goes even when the parent watch gives this only a few ms.
        if self._unix_path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._unix_path)
        if self._thread is not None:
            self._server.shutdown()
            self._thread = None
        self._server.server_close()
        with self._busy_cond:
            self._busy_cond.wait_for(lambda: self._busy == 0, grace_s)
        self._server.close_connections()  # type: ignore[attr-defined]

    # ---- binding ------------------------------------------------------------------

    def _bind(self, listen: str) -> socketserver.BaseServer:
        try:
            if listen.startswith("unix:"):
                path = listen[len("unix:") :]
                path = path[2:] if path.startswith("//") else path  # unix:///abs/path
                self._unix_path = os.path.abspath(path)
                _remove_stale_socket(self._unix_path)
                return _UnixServer(self._unix_path, _Handler, self._tls)
            host, sep, port = listen.rpartition(":")
            if not sep or not port.isdigit():
                raise BindError(f"could not listen on {listen!r}: expected HOST:PORT or unix:/abs/path")
            host = host.strip("[]") or "0.0.0.0"
            server_class = _TCPServer6 if ":" in host else _TCPServer
            return server_class((host, int(port)), _Handler, self._tls)
        except OSError as exc:
            raise BindError(f"could not listen on {listen!r}: {exc}") from None

    # ---- requests -----------------------------------------------------------------

    def handle_post(self, h: _Handler) -> None:
        with self._busy_cond:
            self._busy += 1
        try:
            self._route(h)
        finally:
            with self._busy_cond:
                self._busy -= 1
                if self._busy == 0:
                    self._busy_cond.notify_all()

    def handle_get(self, h: _Handler) -> None:
        if h.path.split("?", 1)[0] != "/healthz":
            _respond(h, 404, "text/plain", b"not found")
        elif self.engine.draining:
            _respond(h, 503, "text/plain", b"draining")
        else:
            _respond(h, 200, "text/plain", b"serving")

    def _route(self, h: _Handler) -> None:
        method = h.path[len(SERVICE_PREFIX) :] if h.path.startswith(SERVICE_PREFIX) else ""
        streaming = method == "Stream"
        try:
            body = cp.read_body(
                h.rfile, h.headers.get("Transfer-Encoding"), h.headers.get("Content-Length"), self.body_limit
            )
        except cp.ConnectError as err:
            # Unless the body was read to its end, the rest of it is still in the socket.
            h.close_connection = h.close_connection or not err.body_consumed
            self._fail(h, err, streaming)
            return
        try:
            if method not in _UNARY and not streaming:
                raise cp.ConnectError(cp.UNIMPLEMENTED, f"no such method: {h.path}", status=404)
            self._check_token(h)
            content_type = (h.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
            expected = cp.STREAM_CONTENT_TYPE if streaming else cp.UNARY_CONTENT_TYPE
            if content_type != expected:
                raise cp.ConnectError(cp.UNIMPLEMENTED, f"expected Content-Type {expected}, got {content_type!r}", status=415)
            encoding = h.headers.get("Content-Encoding" if not streaming else "Connect-Content-Encoding")
            if encoding not in (None, "identity"):
                raise cp.ConnectError(cp.UNIMPLEMENTED, f"unsupported compression {encoding!r} (use identity)")
            deadline = _transport_deadline(h.headers.get("Connect-Timeout-Ms"))
            if streaming:
                self._stream(h, cp.single_message(body), deadline)
            else:
                _respond(h, 200, cp.UNARY_CONTENT_TYPE, _UNARY[method](self.engine, body, deadline))
        except cp.ConnectError as err:
            self._fail(h, err, streaming)

    def _check_token(self, h: _Handler) -> None:
        if self._token is None:
            return
        given = h.headers.get(TOKEN_HEADER)
        # Compared in constant time; the token is never echoed or logged.
        if given is None or not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self._token):
            raise cp.ConnectError(cp.UNAUTHENTICATED, f"missing or wrong {TOKEN_HEADER}")

    def _stream(self, h: _Handler, message: bytes, deadline: float | None) -> None:
        if self.engine.draining:
            raise cp.ConnectError(cp.UNAVAILABLE, "worker is draining")
        request = _parse(wire.decode_call_request, message)
        h.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: " + cp.STREAM_CONTENT_TYPE.encode()
            + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        messages = self.engine.stream_encoded(request, transport_deadline=deadline)
        try:
            for item in messages:
                h.wfile.write(cp.chunk(cp.envelope(0, item)))  # blocks while the client does not read
            h.wfile.write(cp.chunk(cp.end_stream()) + cp.LAST_CHUNK)
        except OSError:
            h.close_connection = True  # the client went away: closing `messages` closes the tool
        finally:
            messages.close()

    def _fail(self, h: _Handler, err: cp.ConnectError, streaming: bool) -> None:
        try:
            if streaming:  # a stream's error travels in its end-stream message, with status 200
                _respond(h, 200, cp.STREAM_CONTENT_TYPE, cp.end_stream(err))
            else:
                _respond(h, err.status, "application/json", err.to_json())
        except OSError:
            h.close_connection = True


# ---- the unary methods: (engine, body, transport deadline) -> serialised response ----------


def _parse(parse: Callable[[bytes], Any], body: bytes) -> Any:
    try:
        return parse(body)
    except Exception as exc:  # protobuf's DecodeError, or anything it raises on garbage
        raise cp.ConnectError(cp.INVALID_ARGUMENT, f"request is not a valid message: {exc}") from None


def _execute(engine: Engine, body: bytes, deadline: float | None) -> bytes:
    if engine.draining:
        raise cp.ConnectError(cp.UNAVAILABLE, "worker is draining")
    return engine.execute_encoded(_parse(wire.decode_call_request, body), transport_deadline=deadline)


def _cancel(engine: Engine, body: bytes, deadline: float | None) -> bytes:
    request = _parse(worker_pb2.CancelRequest.FromString, body)
    return engine.cancel(request.call_id, request.wait_ms / 1000.0).SerializeToString()


def _describe(engine: Engine, body: bytes, deadline: float | None) -> bytes:
    _parse(worker_pb2.DescribeRequest.FromString, body)
    return engine.describe().SerializeToString()


def _health(engine: Engine, body: bytes, deadline: float | None) -> bytes:
    _parse(worker_pb2.HealthRequest.FromString, body)
    return engine.health().SerializeToString()


def _drain(engine: Engine, body: bytes, deadline: float | None) -> bytes:
    request = _parse(worker_pb2.DrainRequest.FromString, body)
    return engine.drain(request.timeout_ms).SerializeToString()


_UNARY: dict[str, Callable[[Engine, bytes, float | None], bytes]] = {
    "Execute": _execute,
    "Cancel": _cancel,
    "Describe": _describe,
    "Health": _health,
    "Drain": _drain,
}


def _transport_deadline(header: str | None) -> float | None:
    """``connect-timeout-ms`` (relative) as an absolute Unix time."""
    if header is None:
        return None
    if not header.isdigit() or len(header) > 10:
        raise cp.ConnectError(cp.INVALID_ARGUMENT, f"bad connect-timeout-ms {header!r}")
    return time.time() + int(header) / 1000.0


def _respond(h: _Handler, status: int, content_type: str, body: bytes) -> None:
    """A whole response in one write (http.server's helpers write headers and body apart)."""
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    )
    if h.close_connection:
        head += "Connection: close\r\n"
    h.wfile.write(head.encode("latin-1") + b"\r\n" + body)


# ---- http.server plumbing -----------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server_version = "snakepit_bridge"

    def setup(self) -> None:
        super().setup()
        if self.connection.family in (socket.AF_INET, socket.AF_INET6):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.server.app.handle_post(self)  # type: ignore[attr-defined]

    def do_GET(self) -> None:  # noqa: N802
        self.server.app.handle_get(self)  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        log.debug("connect: " + format, *args)


class _Connections:
    """Names connection threads, runs TLS handshakes on them, and can drop every connection."""

    daemon_threads = True
    tls: ssl.SSLContext | None
    _counter = itertools.count(1)

    def _track_init(self, tls: ssl.SSLContext | None) -> None:
        self.tls = tls
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: socket.socket, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        threading.Thread(
            target=self.process_request_thread,  # type: ignore[attr-defined]
            args=(request, client_address),
            name=f"snakepit-conn-{next(self._counter)}",
            daemon=True,
        ).start()

    def finish_request(self, request: socket.socket, client_address: Any) -> None:
        if self.tls is None:
            self.RequestHandlerClass(request, client_address, self)  # type: ignore[attr-defined]
            return
        # The handshake runs here, on the connection's thread, never on the accept loop.
        request.settimeout(_TLS_HANDSHAKE_TIMEOUT_S)
        try:
            secure = self.tls.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as exc:
            log.info("TLS handshake with %s failed: %s", client_address, exc)
            return
        with self._open_lock:
            self._open.discard(request)
            self._open.add(secure)
        try:
            secure.settimeout(None)
            self.RequestHandlerClass(secure, client_address, self)  # type: ignore[attr-defined]
        finally:
            with self._open_lock:
                self._open.discard(secure)
            with contextlib.suppress(OSError):
                secure.close()

    def shutdown_request(self, request: socket.socket) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)  # type: ignore[misc]

    def close_connections(self) -> None:
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _TCPServer(_Connections, ThreadingHTTPServer):
    def __init__(self, address: tuple[str, int], handler: type, tls: ssl.SSLContext | None) -> None:
        self._track_init(tls)
        super().__init__(address, handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind also resolves the host's FQDN: a DNS lookup we do not need.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class _TCPServer6(_TCPServer):
    address_family = socket.AF_INET6


class _UnixServer(_Connections, socketserver.ThreadingUnixStreamServer):
    def __init__(self, path: str, handler: type, tls: ssl.SSLContext | None) -> None:
        self._track_init(tls)
        super().__init__(path, handler)
        os.chmod(path, 0o600)  # only this user may connect


def _remove_stale_socket(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISSOCK(os.stat(path).st_mode):
            os.unlink(path)


def tls_context(cert: str, key: str, client_ca: str | None = None) -> ssl.SSLContext:
    """A server-side TLS context; with ``client_ca``, clients must present a cert it signed (mTLS)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    if client_ca:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca)
    return context
