"""Hand-written protobuf encoding of the hot frames, byte-compatible with worker_pb2.

On a free-threaded CPython protobuf has no C extension and runs in pure Python,
where parsing one DataFrame with its CallRequest costs ~30-50 us and serialising
a result ~20 us: several times a whole local call. The frames on the hot path
have a small, fixed shape, so they are read and written here directly:

* in: a DataFrame carrying ``execute``, ``stream`` or ``credit``, only when
  protobuf runs in pure Python (upb's C parser is faster than this code);
* out: a Payload inside a CallResponse (``result``) or a StreamMessage (``chunk``),
  both field 1, so the bytes are the same (faster than upb too).

Anything else (other frame kinds, unknown or repeated message fields, groups,
bad UTF-8) falls back to worker_pb2, so the outcome always equals protobuf's.
"""

from __future__ import annotations

import struct
from typing import Any

from google.protobuf.internal import api_implementation

from ._proto import worker_pb2

#: Decode the hot frames here rather than with protobuf (see the module's doc).
HAND_DECODE = api_implementation.Type() == "python"

_FIXED64 = struct.Struct("<Q")
_FIXED32 = struct.Struct("<I")

# Field numbers (worker.proto).
DF_CALL_ID = 1
DF_EXECUTE = 2
DF_STREAM = 3
DF_CREDIT = 4
DF_RESULT = 6
DF_CHUNK = 7
DF_END = 8


class _Fallback(Exception):
    """The frame is outside the shapes decoded here: let protobuf parse it."""


class Payload:
    """Duck-types worker_pb2.Payload for reading."""

    __slots__ = ("json", "attachments")

    def __init__(self, json: bytes = b"", attachments: list[bytes] | None = None) -> None:
        self.json = json
        self.attachments = attachments if attachments is not None else []


_EMPTY_PAYLOAD = Payload()


class CallRequest:
    """Duck-types worker_pb2.CallRequest for reading (what the engine reads of it)."""

    __slots__ = ("call_id", "tool", "args", "session_id", "deadline_unix_ms", "headers")

    def __init__(self) -> None:
        self.call_id = ""
        self.tool = ""
        self.args: Payload = _EMPTY_PAYLOAD
        self.session_id = ""
        self.deadline_unix_ms = 0
        self.headers: dict[str, str] = {}


class StreamCredit:
    __slots__ = ("chunks",)

    def __init__(self, chunks: int = 0) -> None:
        self.chunks = chunks


class DataFrame:
    """A decoded frame: ``call_id``, ``kind`` (the oneof's name) and ``body``.

    ``body`` is a CallRequest / StreamCredit from here, or the worker_pb2 message
    of that oneof field when protobuf parsed the frame.
    """

    __slots__ = ("call_id", "kind", "body")

    def __init__(self, call_id: str, kind: str | None, body: Any) -> None:
        self.call_id = call_id
        self.kind = kind
        self.body = body


def decode_data_frame(data: bytes, *, by_hand: bool = HAND_DECODE) -> DataFrame:
    """Parse one DataFrame (without its length prefix); raises what protobuf raises if bad."""
    if by_hand:
        try:
            return _decode_hot(data)
        except _Fallback:
            pass
        except (IndexError, UnicodeDecodeError, ValueError):
            pass  # malformed: protobuf decides (and names the problem)
    frame = worker_pb2.DataFrame.FromString(data)
    kind = frame.WhichOneof("kind")
    return DataFrame(frame.call_id, kind, getattr(frame, kind) if kind else None)


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    b = data[pos]
    if b < 0x80:
        return b, pos + 1
    result = b & 0x7F
    shift = 7
    pos += 1
    while True:
        b = data[pos]
        result |= (b & 0x7F) << shift
        pos += 1
        if b < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ValueError("varint too long")


def _skip(data: bytes, pos: int, wire_type: int) -> int:
    if wire_type == 0:
        return _varint(data, pos)[1]
    if wire_type == 1:
        return pos + 8
    if wire_type == 2:
        n, pos = _varint(data, pos)
        return pos + n
    if wire_type == 5:
        return pos + 4
    raise _Fallback  # groups (3, 4) or invalid


def _span(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """Where the length-delimited value at ``pos`` starts and stops (within ``end``)."""
    n = data[pos]
    if n < 0x80:  # the usual one-byte length, without a _varint call
        start = pos + 1
    else:
        n, start = _varint(data, pos)
    stop = start + n
    if stop > end:
        raise ValueError("truncated")
    return start, stop


# The loops below match whole one-byte keys ((field << 3) | wire_type): every field
# they read is numbered 1..15, so its canonical key is one byte. Any other key is read
# as a varint: a field the message declares (another meaning, wire type or a
# non-canonical key) is protobuf's business; a field beyond its last one is skipped.
_KEY_1_LEN = 0x0A
_KEY_2_LEN = 0x12
_KEY_3_LEN = 0x1A
_KEY_4_LEN = 0x22
_KEY_5_VARINT = 0x28
_KEY_6_LEN = 0x32


def _last_field(message: Any) -> int:
    return max(field.number for field in message.DESCRIPTOR.fields)


# Read from the descriptors, so a field added to worker.proto is never skipped here.
_FRAME_LAST = _last_field(worker_pb2.DataFrame)
_REQUEST_LAST = _last_field(worker_pb2.CallRequest)
_PAYLOAD_LAST = _last_field(worker_pb2.Payload)
_CREDIT_LAST = _last_field(worker_pb2.StreamCredit)


def _skip_unknown(data: bytes, pos: int, known_up_to: int) -> int:
    """Skip the field whose key starts at ``pos``; fall back if its number is a known one."""
    key, pos = _varint(data, pos)
    if key >> 3 <= known_up_to:
        raise _Fallback  # a known field with an unexpected wire type, or a non-canonical key
    return _skip(data, pos, key & 7)


def _decode_hot(data: bytes) -> DataFrame:
    pos = 0
    size = len(data)
    call_id = ""
    kind: str | None = None
    body: Any = None
    while pos < size:
        key = data[pos]
        if key == _KEY_1_LEN:  # call_id
            start, pos = _span(data, pos + 1, size)
            call_id = data[start:pos].decode("utf-8")
        elif key == _KEY_2_LEN or key == _KEY_3_LEN:  # execute, stream
            if kind is not None:
                raise _Fallback  # a repeated message field merges: protobuf's business
            start, pos = _span(data, pos + 1, size)
            kind = "execute" if key == _KEY_2_LEN else "stream"
            body = _decode_call_request(data, start, pos)
        elif key == _KEY_4_LEN:  # credit
            if kind is not None:
                raise _Fallback
            start, pos = _span(data, pos + 1, size)
            kind = "credit"
            body = _decode_credit(data, start, pos)
        else:
            pos = _skip_unknown(data, pos, _FRAME_LAST)  # another kind, or the frame's other fields
    if pos != size:
        raise ValueError("truncated")
    return DataFrame(call_id, kind, body)


def _decode_call_request(data: bytes, pos: int, end: int) -> CallRequest:
    req = CallRequest()
    while pos < end:
        key = data[pos]
        if key == _KEY_1_LEN:
            start, pos = _span(data, pos + 1, end)
            req.call_id = data[start:pos].decode("utf-8")
        elif key == _KEY_2_LEN:
            start, pos = _span(data, pos + 1, end)
            req.tool = data[start:pos].decode("utf-8")
        elif key == _KEY_3_LEN:
            if req.args is not _EMPTY_PAYLOAD:
                raise _Fallback
            start, pos = _span(data, pos + 1, end)
            req.args = _decode_payload(data, start, pos)
        elif key == _KEY_4_LEN:
            start, pos = _span(data, pos + 1, end)
            req.session_id = data[start:pos].decode("utf-8")
        elif key == _KEY_5_VARINT:
            value, pos = _varint(data, pos + 1)
            value &= 0xFFFFFFFFFFFFFFFF
            req.deadline_unix_ms = value - (1 << 64) if value >= 1 << 63 else value
        elif key == _KEY_6_LEN:
            start, pos = _span(data, pos + 1, end)
            key_text, value_text = _decode_map_entry(data, start, pos)
            if not req.headers:
                req.headers = {}
            req.headers[key_text] = value_text
        else:
            pos = _skip_unknown(data, pos, _REQUEST_LAST)
    if pos != end:
        raise ValueError("truncated")
    return req


def _decode_payload(data: bytes, pos: int, end: int) -> Payload:
    json = b""
    attachments: list[bytes] = []
    while pos < end:
        key = data[pos]
        if key == _KEY_1_LEN:
            start, pos = _span(data, pos + 1, end)
            json = data[start:pos]
        elif key == _KEY_2_LEN:
            start, pos = _span(data, pos + 1, end)
            attachments.append(data[start:pos])
        else:
            pos = _skip_unknown(data, pos, _PAYLOAD_LAST)
    if pos != end:
        raise ValueError("truncated")
    return Payload(json, attachments)


def _decode_map_entry(data: bytes, pos: int, end: int) -> tuple[str, str]:
    key_text = value_text = ""
    while pos < end:
        key = data[pos]
        if key == _KEY_1_LEN or key == _KEY_2_LEN:
            start, pos = _span(data, pos + 1, end)
            text = data[start:pos].decode("utf-8")
            if key == _KEY_1_LEN:
                key_text = text
            else:
                value_text = text
        else:
            # Implementations disagree on an entry with other fields (upb drops it
            # from the map): let protobuf decide, whichever one is installed.
            raise _Fallback
    if pos != end:
        raise ValueError("truncated")
    return key_text, value_text


def _decode_credit(data: bytes, pos: int, end: int) -> StreamCredit:
    credit = StreamCredit()
    while pos < end:
        if data[pos] == 0x08:  # field 1, varint
            value, pos = _varint(data, pos + 1)
            credit.chunks = value & 0xFFFFFFFF  # uint32 truncates, as protobuf does
        else:
            pos = _skip_unknown(data, pos, _CREDIT_LAST)
    if pos != end:
        raise ValueError("truncated")
    return credit


# ---- encoding ------------------------------------------------------------------------


def varint(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def field_bytes(number: int, data: bytes) -> bytes:
    """A length-delimited field: tag, length, data."""
    size = len(data)
    if size < 0x80 and number < 16:  # the tag and the length are one byte each
        return bytes(((number << 3) | 2, size)) + data
    return varint((number << 3) | 2) + varint(size) + data  # a tag from field 16 on is two bytes


def encode_payload(json: bytes, attachments: list[bytes]) -> bytes:
    """A serialised Payload (proto3: an empty ``json`` is left out)."""
    if not attachments:
        return field_bytes(1, json) if json else b""
    return b"".join(_payload_parts(json, attachments))


def _payload_parts(json: bytes, attachments: list[bytes]) -> list[bytes]:
    # Tags and lengths beside the data, joined once: each attachment is copied once,
    # however large (concatenating field by field copied a large array three times).
    parts: list[bytes] = [field_bytes(1, json)] if json else []
    for attachment in attachments:
        parts.append(bytes((0x12,)) + varint(len(attachment)))
        parts.append(attachment)
    return parts


def encode_result(json: bytes, attachments: list[bytes]) -> bytes:
    """A serialised CallResponse{result} or StreamMessage{chunk} (both field 1)."""
    if not attachments:
        size = len(json)
        if 0 < size < 0x7E:  # Payload{json} and its field are under 128 bytes: 1-byte lengths
            return bytes((0x0A, size + 2, 0x0A, size)) + json
        return field_bytes(1, field_bytes(1, json) if json else b"")
    parts = _payload_parts(json, attachments)
    size = sum(len(p) for p in parts)
    return b"".join([bytes((0x0A,)) + varint(size), *parts])


def decode_call_request(data: bytes, *, by_hand: bool = HAND_DECODE) -> Any:
    """Parse a serialised CallRequest (the body of a network Execute or Stream)."""
    if by_hand:
        try:
            return _decode_call_request(data, 0, len(data))
        except (_Fallback, IndexError, UnicodeDecodeError, ValueError):
            pass
    return worker_pb2.CallRequest.FromString(data)
