"""Arrow tables through the codec: pyarrow.Table <-> an Arrow IPC stream attachment."""

from __future__ import annotations

import pytest

from snakepit_bridge import codec

pa = pytest.importorskip("pyarrow")


def test_a_table_round_trips_as_one_ipc_attachment() -> None:
    table = pa.table({"x": pa.array([1.5, None, 3.0], pa.float32()), "s": ["a", "b", None], "n": [1, 2, 3]})
    json_bytes, attachments = codec.encode({"t": table, "n": 1}, root="result")
    assert json_bytes == b'{"t":{"$snakepit:arrow":0},"n":1}'
    assert len(attachments) == 1
    back = codec.decode(json_bytes, attachments)
    assert back["t"].equals(table) and back["t"].schema == table.schema


def test_a_record_batch_travels_as_a_table() -> None:
    batch = pa.record_batch({"a": [1, 2]})
    json_bytes, attachments = codec.encode(batch)
    assert codec.decode(json_bytes, attachments).to_pydict() == {"a": [1, 2]}


def test_bad_placeholders_are_refused_with_the_reason() -> None:
    with pytest.raises(codec.DecodeError, match=r"\$snakepit:arrow placeholder 3 does not match any of 1 attachment"):
        codec.decode(b'{"$snakepit:arrow":3}', [b""])
    with pytest.raises(codec.DecodeError, match="not a readable Arrow IPC stream"):
        codec.decode(b'{"$snakepit:arrow":0}', [b"not arrow"])
    with pytest.raises(codec.EncodeError, match="reserved"):
        codec.encode({"$snakepit:arrow": 0})
