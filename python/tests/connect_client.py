"""A test client for the Connect server, on http.client (as connect-node's HTTP/1.1 transport speaks)."""

from __future__ import annotations

import http.client
import json
import socket
import struct
from collections.abc import Iterable, Iterator
from typing import Any

from snakepit_bridge._proto import worker_pb2

SERVICE = "/snakepit.worker.v1.WorkerService/"
_ENVELOPE = struct.Struct(">BI")

RESPONSE_TYPES: dict[str, Any] = {
    "Execute": worker_pb2.CallResponse,
    "Cancel": worker_pb2.CancelResponse,
    "Describe": worker_pb2.DescribeResponse,
    "Health": worker_pb2.HealthResponse,
    "Drain": worker_pb2.DrainResponse,
}


class ConnectError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


def connection(address: str, timeout: float = 10, context: Any = None) -> http.client.HTTPConnection:
    if address.startswith("unix:"):
        return _UnixConnection(address[len("unix:") :], timeout)
    host, _, port = address.rpartition(":")
    if context is not None:
        return http.client.HTTPSConnection(host.strip("[]"), int(port), timeout=timeout, context=context)
    return http.client.HTTPConnection(host.strip("[]"), int(port), timeout=timeout)


class ConnectClient:
    """One keep-alive connection; ``chunked=True`` sends bodies as connect-node does."""

    def __init__(self, address: str, *, token: str | None = None, chunked: bool = True, timeout: float = 10, context: Any = None) -> None:
        self.address = address
        self.token = token
        self.chunked = chunked
        self.conn = connection(address, timeout, context)

    def close(self) -> None:
        self.conn.close()

    def _headers(self, content_type: str, timeout_ms: int | None, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"Content-Type": content_type, "Connect-Protocol-Version": "1"}
        if timeout_ms is not None:
            headers["Connect-Timeout-Ms"] = str(timeout_ms)
        if self.token is not None:
            headers["x-snakepit-token"] = self.token
        headers.update(extra or {})
        return headers

    def _send(self, method: str, body: bytes, headers: dict[str, str]) -> http.client.HTTPResponse:
        if self.chunked:
            pieces: Iterable[bytes] = [body[:3], body[3:]] if len(body) > 3 else [body]
            self.conn.request("POST", SERVICE + method, body=iter(pieces), headers=headers, encode_chunked=True)
        else:
            self.conn.request("POST", SERVICE + method, body=body, headers=headers)
        return self.conn.getresponse()

    def call(self, method: str, request: Any, *, timeout_ms: int | None = None, headers: dict[str, str] | None = None) -> Any:
        response = self._send(method, request.SerializeToString(), self._headers("application/proto", timeout_ms, headers))
        body = response.read()
        if response.status != 200:
            assert response.getheader("Content-Type") == "application/json", (response.status, body)
            error = json.loads(body)
            raise ConnectError(response.status, error["code"], error["message"])
        assert response.getheader("Content-Type") == "application/proto"
        return RESPONSE_TYPES[method].FromString(body)

    def execute(self, request: worker_pb2.CallRequest, **options: Any) -> worker_pb2.CallResponse:
        return self.call("Execute", request, **options)

    def stream(self, request: worker_pb2.CallRequest, *, timeout_ms: int | None = None) -> Iterator[worker_pb2.StreamMessage]:
        """StreamMessages; raises ConnectError when the end-stream message carries an error."""
        body = _ENVELOPE.pack(0, len(request.SerializeToString())) + request.SerializeToString()
        response = self._send("Stream", body, self._headers("application/connect+proto", timeout_ms, None))
        assert response.status == 200, response.status
        assert response.getheader("Content-Type") == "application/connect+proto"
        while True:
            head = response.read(5)
            assert len(head) == 5, f"stream ended without an end-stream message ({head!r})"
            flags, length = _ENVELOPE.unpack(head)
            data = response.read(length)
            if flags == 0x02:
                end = json.loads(data)
                assert response.read() == b""
                if "error" in end:
                    raise ConnectError(200, end["error"]["code"], end["error"]["message"])
                assert end == {}
                return
            assert flags == 0
            yield worker_pb2.StreamMessage.FromString(data)
