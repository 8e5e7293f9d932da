from __future__ import annotations

import json
from typing import Any

import pytest

from snakepit_bridge import codec
from snakepit_bridge.codec import DecodeError, EncodeError


def roundtrip(value: Any) -> Any:
    json_bytes, attachments = codec.encode(value)
    return codec.decode(json_bytes, attachments)


@pytest.mark.parametrize(
    "value",
    [
        0,
        -1,
        2**53 - 1,
        -(2**53 - 1),
        1.5,
        -0.25,
        1e300,
        True,
        False,
        None,
        "",
        'héllo ✓ 🐍 \u0000 \n "quoted"',
        [],
        {},
        [1, [2, [3, {"x": None}]]],
        {"a": {"b": [True, 1, 1.0, "1"]}},
    ],
)
def test_plain_values_round_trip_exactly(value: Any) -> None:
    back = roundtrip(value)
    assert back == value
    assert type(back) is type(value)


def test_types_are_preserved_not_coerced() -> None:
    back = roundtrip({"i": 1, "f": 1.0, "b": True, "n": None})
    assert [type(v) for v in back.values()] == [int, float, bool, type(None)]


def test_bool_is_not_treated_as_int() -> None:
    assert codec.encode(True)[0] == b"true"
    assert codec.encode([False, 0])[0] == b"[false,0]"


def test_bytes_become_attachments() -> None:
    value = {"a": b"\x00\xff", "b": [bytearray(b"xy"), memoryview(b"z")]}
    json_bytes, attachments = codec.encode(value)
    assert json.loads(json_bytes) == {
        "a": {"$snakepit:bytes": 0},
        "b": [{"$snakepit:bytes": 1}, {"$snakepit:bytes": 2}],
    }
    assert attachments == [b"\x00\xff", b"xy", b"z"]
    assert codec.decode(json_bytes, attachments) == {"a": b"\x00\xff", "b": [b"xy", b"z"]}


def test_big_ints_use_the_bigint_marker() -> None:
    for value in (2**53, -(2**53), 2**60, 10**40):
        json_bytes, _ = codec.encode(value)
        assert json.loads(json_bytes) == {"$snakepit:bigint": str(value)}
        assert roundtrip(value) == value
    assert codec.encode(2**53 - 1)[0] == str(2**53 - 1).encode()


def test_tuples_encode_as_lists() -> None:
    assert roundtrip((1, (2, "x"))) == [1, [2, "x"]]


def test_output_is_compact_utf8() -> None:
    assert codec.encode({"a": [1, "é"]})[0] == '{"a":[1,"é"]}'.encode()


def test_lone_surrogates_survive() -> None:
    assert roundtrip("\ud800x") == "\ud800x"


@pytest.mark.parametrize(
    ("value", "path", "fragment"),
    [
        ({"items": [1, 2, {3}]}, "result['items'][2]", "set is not supported (return a list)"),
        ([float("nan")], "result[0]", "nan"),
        ({"x": float("inf")}, "result['x']", "inf"),
        ({1: "a"}, "result", "dict key 1 of type int"),
        ({"o": object()}, "result['o']", "object is not supported"),
        ({"$snakepit:bytes": 0}, "result", "reserved"),
    ],
)
def test_unencodable_values_name_path_and_type(value: Any, path: str, fragment: str) -> None:
    with pytest.raises(EncodeError) as info:
        codec.encode(value, root="result")
    assert info.value.path == path
    assert fragment in info.value.reason


def test_custom_class_is_named_with_its_module() -> None:
    class Thing:
        pass

    with pytest.raises(EncodeError, match=r"test_codec\..*Thing is not supported"):
        codec.encode([Thing()])


def test_circular_references_are_reported() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(EncodeError, match="circular"):
        codec.encode(loop)


def test_shared_but_acyclic_values_are_fine() -> None:
    shared = [1]
    assert roundtrip([shared, shared]) == [[1], [1]]


@pytest.mark.parametrize(
    ("text", "attachments"),
    [
        (b"{", []),
        (b"NaN", []),
        (b'{"$snakepit:bytes": 1}', [b"only one"]),
        (b'{"$snakepit:bytes": "0"}', [b"x"]),
        (b'{"$snakepit:bigint": 5}', []),
        (b'{"$snakepit:bigint": "12x"}', []),
        (b"\xff", []),
    ],
)
def test_malformed_payloads_raise_decode_error(text: bytes, attachments: list[bytes]) -> None:
    with pytest.raises(DecodeError):
        codec.decode(text, attachments)


def test_marker_lookalikes_with_more_keys_are_plain_dicts() -> None:
    value = codec.decode(b'{"$snakepit:bytes": 0, "other": 1}', [b"x"])
    assert value == {"$snakepit:bytes": 0, "other": 1}
