"""The Connect protocol's framing, for the network server (https://connectrpc.com/docs/protocol).

* unary: the body is the serialised message (``application/proto``); an error is
  an HTTP status with a JSON body ``{"code": ..., "message": ...}``;
* server streaming (``application/connect+proto``): the body is a sequence of
  envelopes (1 flag byte, 4-byte big-endian length, message); the last one has
  flag 0x02 and carries JSON: ``{}`` or ``{"error": {...}}``.

Also the HTTP/1.1 pieces http.server leaves to us: chunked request bodies
(connect-node sends those) and chunked responses for streams.
"""

from __future__ import annotations

import json
import struct
from typing import BinaryIO

_ENVELOPE = struct.Struct(">BI")
FLAG_END_STREAM = 0x02
FLAG_COMPRESSED = 0x01

# How far past the limit a request body is still read (and dropped), so that the
# client, still sending, reads the error instead of a reset connection.
DISCARD_BYTES = 16 * 1024 * 1024

UNARY_CONTENT_TYPE = "application/proto"
STREAM_CONTENT_TYPE = "application/connect+proto"

# Connect codes used here, with their HTTP status (the table of connect-es).
CANCELED = "canceled"
INVALID_ARGUMENT = "invalid_argument"
DEADLINE_EXCEEDED = "deadline_exceeded"
RESOURCE_EXHAUSTED = "resource_exhausted"
UNIMPLEMENTED = "unimplemented"
INTERNAL = "internal"
UNAVAILABLE = "unavailable"
UNAUTHENTICATED = "unauthenticated"

HTTP_STATUS = {
    CANCELED: 499,
    "unknown": 500,
    INVALID_ARGUMENT: 400,
    DEADLINE_EXCEEDED: 504,
    "not_found": 404,
    "already_exists": 409,
    "permission_denied": 403,
    RESOURCE_EXHAUSTED: 429,
    "failed_precondition": 400,
    "aborted": 409,
    "out_of_range": 400,
    UNIMPLEMENTED: 501,
    INTERNAL: 500,
    UNAVAILABLE: 503,
    "data_loss": 500,
    UNAUTHENTICATED: 401,
}


class ConnectError(Exception):
    """A failure to report in Connect's terms (not a tool's error: those travel in messages)."""

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status if status is not None else HTTP_STATUS.get(code, 500)
        self.body_consumed = True

    def to_json(self) -> bytes:
        return json.dumps({"code": self.code, "message": self.message}).encode()


def envelope(flags: int, data: bytes) -> bytes:
    return _ENVELOPE.pack(flags, len(data)) + data


def end_stream(error: ConnectError | None = None) -> bytes:
    """The end-stream envelope: ``{}``, or ``{"error": {...}}`` for a transport-level failure."""
    payload = b"{}" if error is None else b'{"error":' + error.to_json() + b"}"
    return envelope(FLAG_END_STREAM, payload)


def single_message(body: bytes) -> bytes:
    """The one message of a server-streaming request body (exactly one envelope)."""
    if len(body) < _ENVELOPE.size:
        raise ConnectError(INVALID_ARGUMENT, "request body is not a Connect envelope")
    flags, length = _ENVELOPE.unpack_from(body, 0)
    if flags & FLAG_COMPRESSED:
        raise ConnectError(UNIMPLEMENTED, "compressed messages are not supported (use identity)")
    if flags != 0 or len(body) != _ENVELOPE.size + length:
        raise ConnectError(INVALID_ARGUMENT, "expected exactly one uncompressed message envelope")
    return body[_ENVELOPE.size :]


def chunk(data: bytes) -> bytes:
    """One piece of a ``Transfer-Encoding: chunked`` body."""
    return b"%x\r\n" % len(data) + data + b"\r\n"


LAST_CHUNK = b"0\r\n\r\n"


def read_body(rfile: BinaryIO, transfer_encoding: str | None, content_length: str | None, limit: int) -> bytes:
    """The whole request body, chunked or with a Content-Length; at most ``limit`` bytes."""
    if transfer_encoding is not None:
        if transfer_encoding.strip().lower() != "chunked":
            raise ConnectError(UNIMPLEMENTED, f"unsupported Transfer-Encoding {transfer_encoding!r}")
        return _read_chunked(rfile, limit)
    if content_length is None:
        return b""
    try:
        length = int(content_length)
    except ValueError:
        raise ConnectError(INVALID_ARGUMENT, f"bad Content-Length {content_length!r}") from None
    if length < 0:
        raise ConnectError(INVALID_ARGUMENT, f"bad Content-Length {content_length!r}")
    if length > limit:
        consumed = length <= limit + DISCARD_BYTES and _discard(rfile, length)
        raise _too_large(length, limit, consumed)
    data = rfile.read(length)
    if len(data) != length:
        raise ConnectError(INVALID_ARGUMENT, "request body ended early")
    return data


def _read_chunked(rfile: BinaryIO, limit: int) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        line = rfile.readline(1024)
        if not line.endswith(b"\n"):
            raise ConnectError(INVALID_ARGUMENT, "bad chunked body (chunk size line)")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise ConnectError(INVALID_ARGUMENT, "bad chunked body (chunk size)") from None
        if size == 0:
            break
        total += size
        data = rfile.read(size)
        if len(data) != size or rfile.read(2) != b"\r\n":
            raise ConnectError(INVALID_ARGUMENT, "bad chunked body (chunk data)")
        if total > limit + DISCARD_BYTES:
            raise _too_large(total, limit, consumed=False)
        if total <= limit:
            parts.append(data)
        else:
            parts.clear()  # read on only to answer on a connection that stays usable
    while True:  # trailers, if any, up to the empty line
        line = rfile.readline(65537)
        if line in (b"\r\n", b"\n", b""):
            break
    if total > limit:
        raise _too_large(total, limit, consumed=True)
    return b"".join(parts)


def _discard(rfile: BinaryIO, n: int) -> bool:
    while n > 0:
        got = len(rfile.read(min(n, 1 << 20)))
        if got == 0:
            return False
        n -= got
    return True


def _too_large(size: int, limit: int, consumed: bool) -> ConnectError:
    error = ConnectError(RESOURCE_EXHAUSTED, f"request body of {size} bytes or more is over the limit of {limit}")
    # Whether the body was read to its end: then the connection can carry on.
    error.body_consumed = consumed
    return error
