"""Large reply frames as a list of parts for one gather write (``sendmsg``), not one joined copy.

The engine hands the local transport a serialised CallResponse or StreamMessage.
For a large one, the frame around it is built from small headers and views of the
engine's bytes, so its attachments are not copied again on the way to the socket;
and each attachment is placed at a multiple of 8 bytes from the start of the frame
body, so the pool can view it as any typed array without copying it to align it
(a frame the pool assembles from several reads starts at offset 0 of its buffer).

Padding is an unknown field of Payload (number 15, bytes), which readers skip
(worker.proto reserves it for this).
"""

from __future__ import annotations

from typing import Union

from . import wire

Part = Union[bytes, memoryview]

ALIGN = 8
# Payload field 15, length-delimited: padding that readers skip.
_PAD_TAG = (15 << 3) | 2
_MAX_TRIES = 4


def _varint_size(n: int) -> int:
    size = 1
    while n > 0x7F:
        n >>= 7
        size += 1
    return size


def _padding(n: int) -> bytes:
    """An unknown length-delimited field of exactly ``n`` bytes (n == 0 or n >= 2)."""
    if n == 0:
        return b""
    return bytes((_PAD_TAG, n - 2)) + bytes(n - 2)


def _pad_for(offset: int) -> int:
    """Bytes of padding that move ``offset`` to a multiple of ALIGN (never 1: a field needs 2)."""
    need = -offset % ALIGN
    return need + ALIGN if need == 1 else need


def _split_outcome(response: memoryview) -> tuple[int, memoryview, list[memoryview]] | None:
    """(outcome field, json, attachments) of a serialised CallResponse/StreamMessage holding a payload."""
    if len(response) < 2 or response[0] != 0x0A:  # field 1 (result / chunk), length-delimited
        return None
    length, pos = _read_varint(response, 1)
    if pos + length != len(response):
        return None
    json: memoryview = response[0:0]
    attachments: list[memoryview] = []
    end = pos + length
    while pos < end:
        key, pos = _read_varint(response, pos)
        size, pos = _read_varint(response, pos)
        field = response[pos : pos + size]
        pos += size
        if key == 0x0A:
            json = field
        elif key == 0x12:
            attachments.append(field)
        else:
            return None  # anything else: the plain path
    return (1, json, attachments) if pos == end else None


def _read_varint(data: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def frame_parts(call_id: str, number: int, response: bytes, extra: bytes = b"") -> list[Part] | None:
    """The length-prefixed DataFrame {call_id, <number>: response, extra} as parts, or None.

    None when ``response`` is not a payload this can lay out (an error, say): the
    caller then builds the frame the plain way.
    """
    view = memoryview(response)
    split = _split_outcome(view)
    if split is None:
        return None
    _, json, attachments = split
    call_field = wire.field_bytes(wire.DF_CALL_ID, call_id.encode()) if call_id else b""
    json_field = (bytes((0x0A,)) + wire.varint(len(json))) if len(json) else b""
    att_heads = [bytes((0x12,)) + wire.varint(len(a)) for a in attachments]
    # The offsets depend on the outer lengths' varint sizes, which depend on the padding:
    # settle them by trying (they change by a byte at most, and rarely).
    outer_size = payload_size = 1
    pads: list[int] = [0] * len(attachments)
    for _ in range(_MAX_TRIES):
        offset = len(call_field) + 1 + outer_size + 1 + payload_size + len(json_field) + len(json)
        for i, attachment in enumerate(attachments):
            start = offset + len(att_heads[i])
            pads[i] = _pad_for(start)
            offset += pads[i] + len(att_heads[i]) + len(attachment)
        payload_len = len(json_field) + len(json) + sum(pads) + sum(map(len, att_heads)) + sum(map(len, attachments))
        response_len = 1 + _varint_size(payload_len) + payload_len
        if (_varint_size(payload_len), _varint_size(response_len)) == (payload_size, outer_size):
            break
        payload_size, outer_size = _varint_size(payload_len), _varint_size(response_len)
    else:
        pads = [0] * len(attachments)  # never settled: unaligned, still correct
        payload_len = len(json_field) + len(json) + sum(map(len, att_heads)) + sum(map(len, attachments))
        response_len = 1 + _varint_size(payload_len) + payload_len
    head = call_field + bytes((number << 3 | 2,)) + wire.varint(response_len) + b"\x0a" + wire.varint(payload_len) + json_field
    body_len = len(head) + len(json) + sum(pads) + sum(map(len, att_heads)) + sum(map(len, attachments)) + len(extra)
    parts: list[Part] = [body_len.to_bytes(4, "big") + head, json]
    for pad, att_head, attachment in zip(pads, att_heads, attachments):
        parts.append(_padding(pad) + att_head)
        parts.append(attachment)
    if extra:
        parts.append(extra)
    return parts
