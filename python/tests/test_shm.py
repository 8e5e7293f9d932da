"""Shared-memory segments on the local lanes: the offer, mapping arguments, writing results, cleanup."""

from __future__ import annotations

import array
import os
from collections.abc import Iterator
from typing import Any

import pytest
from helpers import request, wait_until
from serving import LanesFactory

from snakepit_bridge import Adapter, codec, shm, tool
from snakepit_bridge._proto import worker_pb2
from snakepit_bridge.ndarray import ArrayData

pytestmark = pytest.mark.skipif(not shm.usable(), reason="needs a writable /dev/shm")

MIN = 4096


class Segments(Adapter):
    @tool
    def backing(self, x: Any) -> dict[str, Any]:
        base: Any = x.data if isinstance(x, ArrayData) else x
        while getattr(base, "base", None) is not None:  # numpy views
            base = base.base
        while isinstance(base, memoryview):
            base = base.obj
        view = memoryview(x.data if isinstance(x, ArrayData) else x)
        return {"mapped": type(base).__name__ == "mmap", "readonly": view.readonly, "sum": sum(view.cast("B"))}

    @tool
    def doubles(self, n: int) -> Any:
        return array.array("d", range(n))

    @tool
    def doubles_then_set(self, n: int) -> Any:
        return {"a": array.array("d", range(n)), "b": {1}}


@pytest.fixture
def prefix(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = f"snakepit-{os.getpid()}-pytest.{id(monkeypatch):x}-"
    monkeypatch.setenv(shm.OFFER_ENV, f"{name}:{MIN}")
    yield name
    for leftover in _ours(name):
        os.unlink(os.path.join(_SHM_DIR, leftover))


_SHM_DIR = shm.SHM_DIR  # the real one, also while a test patches it


def _ours(prefix: str) -> list[str]:
    return sorted(n for n in os.listdir(_SHM_DIR) if n.startswith(prefix))


def _write_segment(name: str, data: bytes) -> None:
    with open(os.path.join(shm.SHM_DIR, name), "wb") as f:
        f.write(data)


def _call_with_segments(client: Any, call_id: str, req: worker_pb2.CallRequest, shared: list[worker_pb2.SharedAttachment]) -> worker_pb2.DataFrame:
    """As the pool sends it: the shared field first, then the rest of the frame."""
    future = client.data_reader.expect_one(call_id)
    body = worker_pb2.DataFrame(shared=shared).SerializeToString() + worker_pb2.DataFrame(call_id=call_id, execute=req).SerializeToString()
    client.data.sendall(len(body).to_bytes(4, "big") + body)
    return future.result(10)


def test_the_offer_is_parsed_strictly() -> None:
    assert shm.parse_offer("snakepit-12-w1.0-:1048576") == ("snakepit-12-w1.0-", 1048576)
    for bad in (None, "", "snakepit-12-w1-", "snakepit-12-w1-:0", "snakepit-x-w1-:10", "../etc-:10", "snakepit-1-a/b-:10"):
        assert shm.parse_offer(bad) is None


def test_the_worker_accepts_with_its_first_frame_and_takes_the_offer_out_of_the_environment(lanes: LanesFactory, prefix: str) -> None:
    client = lanes(Segments()).client
    wait_until(lambda: bool(client.data_reader.unexpected))
    ready = client.data_reader.unexpected[0]
    assert ready.WhichOneof("kind") == "shared_memory_ready"
    assert (ready.shared_memory_ready.prefix, ready.shared_memory_ready.min_bytes) == (prefix, MIN)
    assert shm.OFFER_ENV not in os.environ


def test_an_argument_segment_is_mapped_read_only_and_left_to_the_pool(lanes: LanesFactory, prefix: str) -> None:
    client = lanes(Segments()).client
    data = bytes(range(256)) * 64
    spec = b'{"x":{"$snakepit:ndarray":{"dtype":"|u1","shape":[%d],"order":"C","data":0}}}' % len(data)
    req = worker_pb2.CallRequest(call_id="a1", tool="backing", args=worker_pb2.Payload(json=spec, attachments=[b""]))
    _write_segment(prefix + "a0", data)
    frame = _call_with_segments(client, "a1", req, [worker_pb2.SharedAttachment(index=0, name=prefix + "a0", length=len(data))])
    out = codec.decode(frame.result.result.json, frame.result.result.attachments)
    assert out == {"mapped": True, "readonly": True, "sum": sum(data)}
    assert _ours(prefix) == [prefix + "a0"]  # the pool's to unlink


def test_a_missing_or_wrong_segment_is_refused_with_the_reason(lanes: LanesFactory, prefix: str) -> None:
    client = lanes(Segments()).client
    spec = b'{"x":{"$snakepit:ndarray":{"dtype":"|u1","shape":[8192],"order":"C","data":0}}}'
    req = worker_pb2.CallRequest(call_id="m1", tool="backing", args=worker_pb2.Payload(json=spec, attachments=[b""]))
    gone = _call_with_segments(client, "m1", req, [worker_pb2.SharedAttachment(index=0, name=prefix + "a9", length=8192)])
    assert gone.result.error.code == "invalid_argument"
    assert f"segment {prefix}a9 is gone" in gone.result.error.message
    _write_segment(prefix + "a10", b"\0" * 100)
    short = _call_with_segments(client, "m2", req, [worker_pb2.SharedAttachment(index=0, name=prefix + "a10", length=8192)])
    assert "holds 100 bytes, the frame says 8192" in short.result.error.message
    foreign = _call_with_segments(client, "m3", req, [worker_pb2.SharedAttachment(index=0, name="snakepit-1-other-a0", length=8192)])
    assert "is not one of this pool's" in foreign.result.error.message


def test_a_large_result_goes_into_a_segment_that_the_pool_then_owns(lanes: LanesFactory, prefix: str) -> None:
    served = lanes(Segments())
    frame = served.client.data_reader.expect_one("r1")
    served.client.send(served.client.data, worker_pb2.DataFrame(call_id="r1", execute=request("doubles", call_id="r1", n=4096)))
    got = frame.result(10)
    (ref,) = got.shared
    assert ref.name.startswith(prefix + "r") and ref.length == 4096 * 8 and ref.index == 0
    assert got.result.result.attachments[0] == b""
    with open(os.path.join(shm.SHM_DIR, ref.name), "rb") as f:
        assert f.read() == array.array("d", range(4096)).tobytes()
    transport = served.worker.local
    assert transport is not None and transport.shm is not None
    owner = transport.shm
    wait_until(lambda: owner.unreported == set())  # handed over once the write returned
    small = served.client.execute(request("doubles", call_id="r2", n=8))
    assert codec.decode(small.result.json, small.result.attachments).tolist() == list(range(8))


def test_a_result_that_fails_after_its_segment_was_written_leaves_none(lanes: LanesFactory, prefix: str) -> None:
    client = lanes(Segments()).client
    response = client.execute(request("doubles_then_set", call_id="f1", n=4096))
    assert response.error.code == "python_error"
    assert _ours(prefix) == []


def test_closing_after_the_pool_is_gone_removes_every_segment_of_the_prefix(prefix: str) -> None:
    owner = shm.SharedMemory(prefix, MIN)
    segments = owner.writer()
    segments.put_bytes(0, b"x" * MIN)
    _write_segment(prefix + "a0", b"y")
    assert len(_ours(prefix)) == 2 and owner.unreported
    owner.close(pool_gone=True)
    assert _ours(prefix) == []


def test_codec_writes_large_values_into_lent_segments_only(prefix: str) -> None:
    owner = shm.SharedMemory(prefix, MIN)
    with shm.lend(owner.writer()) as segments:
        json_bytes, attachments = codec.encode({"big": b"z" * MIN, "small": b"z", "arr": array.array("i", range(MIN))})
        assert codec.encoded_size(json_bytes, attachments) == len(json_bytes) + 1 + MIN + 4 * MIN
    assert attachments == [b"", b"z", b""]
    assert [(i, length) for i, _, length in segments.entries] == [(0, MIN), (2, 4 * MIN)]
    assert shm.current() is None
    segments.discard()
    assert _ours(prefix) == []
    _, outside = codec.encode({"big": b"z" * MIN})
    assert outside == [b"z" * MIN]


def test_a_segment_that_cannot_be_made_leaves_the_value_inline(prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    owner = shm.SharedMemory(prefix, MIN)
    monkeypatch.setattr(shm, "SHM_DIR", "/nonexistent-snakepit-shm")  # as when /dev/shm is full
    with shm.lend(owner.writer()) as segments:
        json_bytes, attachments = codec.encode({"big": b"z" * MIN, "arr": array.array("i", range(MIN))})
    assert segments.entries == [] and owner.unreported == set()
    assert attachments == [b"z" * MIN, array.array("i", range(MIN)).tobytes()]
    assert codec.decode(json_bytes, attachments)["big"] == b"z" * MIN

