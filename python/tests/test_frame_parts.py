"""Large reply frames as parts: the same DataFrame protobuf reads, attachments at multiples of 8."""

from __future__ import annotations

import pytest

from snakepit_bridge import wire
from snakepit_bridge._proto import worker_pb2
from snakepit_bridge.frame_parts import frame_parts


def _offsets_in_body(parts: list, attachments: list[bytes]) -> list[int]:
    """Where each attachment's part starts, from the start of the frame body."""
    offsets, at = [], -4  # parts[0] starts with the 4-byte length prefix
    wanted = iter(attachments)
    current = next(wanted, None)
    for part in parts:
        if current is not None and part is not parts[0] and bytes(part) == current:
            offsets.append(at)
            current = next(wanted, None)
        at += len(part)
    return offsets


@pytest.mark.parametrize("call_id", ["", "c1", "pool-7f-" + "x" * 200])
@pytest.mark.parametrize("sizes", [[0], [1], [3, 70_000], [65_536, 5, 129, 200_000], [16_385] * 9])
def test_parts_join_to_the_frame_protobuf_reads_with_aligned_attachments(call_id: str, sizes: list[int]) -> None:
    attachments = [bytes([i + 1]) * n for i, n in enumerate(sizes)]
    json = b'{"x":' + b"1" * 37 + b"}"
    response = wire.encode_result(json, attachments)
    parts = frame_parts(call_id, wire.DF_RESULT, response)
    assert parts is not None
    frame = b"".join(bytes(p) for p in parts)
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4
    body = frame[4:]
    decoded = worker_pb2.DataFrame.FromString(body)
    assert decoded.call_id == call_id
    assert decoded.result.result.json == json
    assert list(decoded.result.result.attachments) == attachments
    offsets = _offsets_in_body(parts, attachments)
    assert len(offsets) == len(attachments)
    assert [o % 8 for o in offsets if o >= 0] == [0] * len(offsets)


def test_an_error_or_extra_fields_take_the_plain_path_and_extra_is_appended() -> None:
    error = worker_pb2.CallResponse(error=worker_pb2.ToolError(code="internal", message="x")).SerializeToString()
    assert frame_parts("c", wire.DF_RESULT, error) is None
    response = wire.encode_result(b"1", [b"a" * 100])
    extra = worker_pb2.DataFrame(shared=[worker_pb2.SharedAttachment(index=0, name="n", length=3)]).SerializeToString()
    parts = frame_parts("c", wire.DF_RESULT, response, extra)
    assert parts is not None
    decoded = worker_pb2.DataFrame.FromString(b"".join(bytes(p) for p in parts)[4:])
    assert decoded.shared[0].name == "n" and decoded.result.result.attachments[0] == b"a" * 100
