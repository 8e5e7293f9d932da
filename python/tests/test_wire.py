"""The hand-written codec of the hot frames against protobuf, both ways."""

from __future__ import annotations

import random

import pytest
from google.protobuf.message import DecodeError

from snakepit_bridge import wire
from snakepit_bridge._proto import worker_pb2


def decode(data: bytes) -> wire.DataFrame:
    return wire.decode_data_frame(data, by_hand=True)


def as_dict(req: object) -> dict[str, object]:
    return {
        "call_id": req.call_id,  # type: ignore[attr-defined]
        "tool": req.tool,  # type: ignore[attr-defined]
        "json": req.args.json,  # type: ignore[attr-defined]
        "attachments": list(req.args.attachments),  # type: ignore[attr-defined]
        "session_id": req.session_id,  # type: ignore[attr-defined]
        "deadline_unix_ms": req.deadline_unix_ms,  # type: ignore[attr-defined]
        "headers": dict(req.headers),  # type: ignore[attr-defined]
    }


REQUESTS = [
    worker_pb2.CallRequest(),
    worker_pb2.CallRequest(call_id="c1", tool="noop"),
    worker_pb2.CallRequest(
        call_id="c-ü-🐍", tool="echo", args=worker_pb2.Payload(json=b'{"a":{"$snakepit:bytes":0}}', attachments=[b"\x00" * 300, b""]),
        session_id="s", deadline_unix_ms=1_900_000_000_123, headers={"traceparent": "00-abc-01", "": "empty key", "k": ""},
    ),
    worker_pb2.CallRequest(call_id="neg", deadline_unix_ms=-5),
    worker_pb2.CallRequest(call_id="big", args=worker_pb2.Payload(json=b"[" + b"1," * 100_000 + b"1]")),
]


@pytest.mark.parametrize("req", REQUESTS, ids=range(len(REQUESTS)))
@pytest.mark.parametrize("kind", ["execute", "stream"])
def test_call_frames_decode_like_protobuf(req: worker_pb2.CallRequest, kind: str) -> None:
    data = worker_pb2.DataFrame(call_id="outer", **{kind: req}).SerializeToString()
    frame = decode(data)
    assert (frame.call_id, frame.kind) == ("outer", kind)
    assert isinstance(frame.body, wire.CallRequest), "the hot path must not fall back"
    assert as_dict(frame.body) == as_dict(req)
    assert as_dict(wire.decode_call_request(req.SerializeToString(), by_hand=True)) == as_dict(req)


def test_credit_frames() -> None:
    for chunks in (0, 1, 16, 2**32 - 1):
        frame = decode(worker_pb2.DataFrame(call_id="s", credit=worker_pb2.StreamCredit(chunks=chunks)).SerializeToString())
        assert (frame.kind, frame.body.chunks) == ("credit", chunks)


def test_other_kinds_fall_back_to_protobuf() -> None:
    frame = decode(worker_pb2.DataFrame(call_id="x", cancel=worker_pb2.CancelRequest(call_id="x", wait_ms=5)).SerializeToString())
    assert frame.kind == "cancel" and isinstance(frame.body, worker_pb2.CancelRequest) and frame.body.wait_ms == 5
    assert decode(b"").kind is None


def test_unusual_encodings_give_protobuf_s_answer() -> None:
    a = worker_pb2.DataFrame(call_id="1", execute=worker_pb2.CallRequest(tool="a", headers={"x": "1"})).SerializeToString()
    b = worker_pb2.DataFrame(execute=worker_pb2.CallRequest(session_id="s", headers={"y": "2"})).SerializeToString()
    unknown = b"\xf8\x01\x05" + b"\x82\x02\x02hi"  # unknown fields 31 (varint) and 32 (bytes)
    for data in (a + b, unknown + a, a + unknown):  # a repeated message merges; unknown fields are skipped
        expected = worker_pb2.DataFrame.FromString(data)
        frame = decode(data)
        assert frame.call_id == expected.call_id and frame.kind == "execute"
        assert as_dict(frame.body) == as_dict(expected.execute)


def test_garbage_raises_protobuf_s_error() -> None:
    rng = random.Random(7)
    good = worker_pb2.DataFrame(call_id="c", execute=REQUESTS[2]).SerializeToString()
    for cut in range(1, len(good)):
        _same_outcome(good[:cut])
    for _ in range(300):
        data = bytearray(good)
        data[rng.randrange(len(data))] = rng.randrange(256)
        _same_outcome(bytes(data))
    with pytest.raises(DecodeError):
        decode(b"\xff\xff\xff")


def _same_outcome(data: bytes) -> None:
    try:
        expected = worker_pb2.DataFrame.FromString(data)
    except (DecodeError, UnicodeDecodeError) as exc:  # pure-Python protobuf raises the latter
        with pytest.raises(type(exc)):
            decode(data)
        return
    frame = decode(data)
    kind = expected.WhichOneof("kind")
    assert (frame.call_id, frame.kind) == (expected.call_id, kind)
    if kind in ("execute", "stream"):
        assert as_dict(frame.body) == as_dict(getattr(expected, kind))
    elif kind == "credit":
        assert frame.body.chunks == expected.credit.chunks


def test_the_hand_decoder_is_used_when_protobuf_is_pure_python() -> None:
    from google.protobuf.internal import api_implementation

    assert wire.HAND_DECODE is (api_implementation.Type() == "python")
    frame = wire.decode_data_frame(worker_pb2.DataFrame(call_id="c", execute=REQUESTS[1]).SerializeToString())
    assert frame.kind == "execute" and as_dict(frame.body) == as_dict(REQUESTS[1])


@pytest.mark.parametrize(
    ("json", "attachments"), [(b"null", []), (b"", []), (b'{"$snakepit:bytes":0}', [b"\x01\x02"]), (b"x" * 200, [b"", b"y" * 70000])]
)
def test_results_encode_like_protobuf(json: bytes, attachments: list[bytes]) -> None:
    payload = worker_pb2.Payload(json=json, attachments=attachments)
    assert wire.encode_result(json, attachments) == worker_pb2.CallResponse(result=payload).SerializeToString()
    assert wire.encode_result(json, attachments) == worker_pb2.StreamMessage(chunk=payload).SerializeToString()


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 128, 300, 20000])
def test_results_of_every_small_size_encode_like_protobuf(size: int) -> None:
    # Around the one-byte length fast path: Payload{json} + its field up to 127 bytes.
    json = b"7" * size
    payload = worker_pb2.Payload(json=json)
    assert wire.encode_result(json, []) == worker_pb2.CallResponse(result=payload).SerializeToString()


@pytest.mark.parametrize("size", [0, 1, 127, 128, 16383, 16384])
@pytest.mark.parametrize("number", [1, 6, 15, 16, 100])
def test_field_bytes_is_protobuf_s_length_delimited_field(number: int, size: int) -> None:
    data = b"z" * size
    tag = wire.varint((number << 3) | 2)
    assert wire.field_bytes(number, data) == tag + wire.varint(size) + data
    if number == 1 and size:  # proto3 leaves an empty json out
        assert wire.field_bytes(1, data) == worker_pb2.Payload(json=data).SerializeToString()


@pytest.mark.parametrize(
    "data",
    [
        b"\x8a\x00\x01x" + worker_pb2.DataFrame(execute=REQUESTS[1]).SerializeToString(),  # call_id with a two-byte key
        b"\x12\x07" + b"\x92\x00\x04noop",  # the request's tool with a two-byte key
        b"\x12\x02" + b"\x38\x01",  # unknown field 7 of the request is skipped
        b"\x12\x04\x1a\x02" + b"\x10\x01",  # a varint where the payload's attachments go
        b"\x22\x03\x88\x00\x05",  # credit: a two-byte key for chunks
        b"\x22\x02\x10\x03",  # credit: unknown field 2 is skipped
        b"\x12\x03\x28\x80\x01",  # a two-byte deadline varint
        b"\x12\x02\x28\x01" + b"\x82\x01\x00",  # then shared_memory_ready (16): the oneof's last wins
        b"\x12\x02\x28\x01" + b"\x8a\x01\x00",  # then shared (17), which the hand decoder does not map
        b"\x12\x02\x28\x01" + b"\xc2\x0c\x00",  # a field beyond the frame's last one is skipped
    ],
)
def test_keys_beyond_the_one_byte_shapes_give_protobuf_s_answer(data: bytes) -> None:
    _same_outcome(data)
    expected = worker_pb2.DataFrame.FromString(data)
    frame = decode(data)
    if expected.WhichOneof("kind") == "credit":
        assert frame.body.chunks == expected.credit.chunks
    if expected.shared:
        assert isinstance(frame.body, worker_pb2.CallRequest)  # protobuf read it, segments and all
