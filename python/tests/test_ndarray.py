"""Arrays on the wire: numpy arrays (when numpy is installed) and memoryviews (always)."""

from __future__ import annotations

import array
import json
import sys
from typing import Any

import pytest

from snakepit_bridge import codec, ndarray
from snakepit_bridge.codec import DecodeError, EncodeError
from snakepit_bridge.ndarray import NDARRAY_KEY, ArrayData


def placeholder(json_bytes: bytes) -> Any:
    return json.loads(json_bytes)


def roundtrip(value: Any) -> Any:
    json_bytes, attachments = codec.encode(value)
    return codec.decode(json_bytes, attachments)


@pytest.fixture
def no_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Decode as on an interpreter without numpy (the free-threaded venv may have none)."""
    monkeypatch.setattr(ndarray, "_numpy", lambda: None)


# ---- without numpy: memoryview and ArrayData -----------------------------------------


def test_a_typed_memoryview_travels_as_an_array_with_its_format_and_shape() -> None:
    view = memoryview(array.array("d", [1.0, 2.0, 3.0, 4.0])).cast("B").cast("d", [2, 2])
    json_bytes, attachments = codec.encode({"m": view})
    little = sys.byteorder == "little"
    assert placeholder(json_bytes) == {
        "m": {NDARRAY_KEY: {"dtype": "<f8" if little else ">f8", "shape": [2, 2], "order": "C", "data": 0}}
    }
    assert attachments == [view.tobytes()]


def test_a_byte_memoryview_and_array_array_keep_their_meaning() -> None:
    assert placeholder(codec.encode(memoryview(b"ab"))[0]) == {"$snakepit:bytes": 0}
    json_bytes, attachments = codec.encode(array.array("i", [1, -1]))
    spec = placeholder(json_bytes)[NDARRAY_KEY]
    assert spec["dtype"][1:] == "i4" and spec["shape"] == [2]
    assert len(attachments[0]) == 8


@pytest.mark.usefixtures("no_numpy")
@pytest.mark.parametrize(
    ("typestr", "fmt", "values"),
    [
        ("|i1", "b", [-128, 127]),
        ("|b1", "?", [True, False]),
        ("<i2", "h", [-32768, 5]),
        ("<u2", "H", [65535, 0]),
        ("<i4", "i", [-(2**31), 7]),
        ("<u4", "I", [2**32 - 1, 1]),
        ("<i8", "q", [-(2**63), 2**62]),
        ("<u8", "Q", [2**64 - 1, 0]),
        ("<f4", "f", [1.5, -2.0]),
        ("<f8", "d", [1e300, -0.0]),
    ],
)
def test_without_numpy_an_array_arrives_as_a_cast_memoryview(typestr: str, fmt: str, values: list[Any]) -> None:
    if sys.byteorder != "little":
        pytest.skip("the type strings here are little-endian")
    raw = memoryview(array.array(fmt, values) if fmt != "?" else bytes(values)).tobytes()
    json_bytes = json.dumps({NDARRAY_KEY: {"dtype": typestr, "shape": [2], "order": "C", "data": 0}}).encode()
    back = codec.decode(json_bytes, [raw])
    assert isinstance(back, memoryview)
    assert back.format == fmt and back.shape == (2,)
    assert back.tolist() == values
    # ... and goes back exactly as it came.
    again_json, again_att = codec.encode(back)
    assert placeholder(again_json)[NDARRAY_KEY]["dtype"] == typestr
    assert again_att == [raw]


@pytest.mark.usefixtures("no_numpy")
def test_without_numpy_shapes_0d_and_nd_are_memoryviews_and_the_rest_arraydata() -> None:
    def dec(dtype: str, shape: list[int], order: str, raw: bytes) -> Any:
        spec = {"dtype": dtype, "shape": shape, "order": order, "data": 0}
        return codec.decode(json.dumps({"a": {NDARRAY_KEY: spec}}).encode(), [raw])["a"]

    zero_d = dec("<f8", [], "C", bytes(8))
    assert isinstance(zero_d, memoryview) and zero_d.shape == () and zero_d.tolist() == 0.0
    three_d = dec("<i4", [2, 1, 3], "C", bytes(24))
    assert isinstance(three_d, memoryview) and three_d.shape == (2, 1, 3)
    # memoryview has no complex, float16, datetime, other byte order, F order or empty axis:
    for dtype, shape, order, size in [
        ("<c16", [2], "C", 32),
        ("<f2", [3], "C", 6),
        ("<M8[ns]", [1], "C", 8),
        (">f8", [2], "C", 16),
        ("<f4", [2, 2], "F", 16),
        ("<f4", [0, 3], "C", 0),
        ("<U2", [2], "C", 16),
        ("|u1", [3], "C", 3),  # a 1-d memoryview of "B" would go back as bytes
    ]:
        back = dec(dtype, shape, order, bytes(range(size)))
        assert isinstance(back, ArrayData), dtype
        assert (back.dtype, list(back.shape), back.order, back.data.tobytes()) == (
            dtype,
            shape,
            order,
            bytes(range(size)),
        )
        # An ArrayData goes back exactly too.
        again_json, again_att = codec.encode(back)
        assert placeholder(again_json) == {NDARRAY_KEY: {"dtype": dtype, "shape": shape, "order": order, "data": 0}}
        assert again_att == [bytes(range(size))]


def test_arraydata_checks_its_size() -> None:
    with pytest.raises(ValueError, match=r"needs 12 bytes, data has 8"):
        ArrayData("<f4", (3,), "C", memoryview(bytes(8)))


@pytest.mark.parametrize(
    ("spec", "n_attachments", "fragment"),
    [
        ({"dtype": "|O8", "shape": [1], "order": "C", "data": 0}, 1, "not a fixed-width numpy type string"),
        ({"dtype": "<f4", "shape": [3], "order": "C", "data": 0}, 1, "needs 12 bytes, the attachment has 8"),
        ({"dtype": "<f4", "shape": [2], "order": "C", "data": 4}, 1, "does not match any of 1 attachment"),
        ({"dtype": "<f4", "shape": [-2], "order": "C", "data": 0}, 1, "non-negative integers"),
        ({"dtype": "<f4", "shape": [2], "order": "K", "data": 0}, 1, "order must be"),
        ({"dtype": "<f4", "shape": [2], "order": "C", "data": 0, "extra": 1}, 1, "unknown field"),
        ({"dtype": "<f4[ns]", "shape": [2], "order": "C", "data": 0}, 1, "only datetime64"),
    ],
)
def test_a_malformed_placeholder_is_a_decode_error(spec: dict[str, Any], n_attachments: int, fragment: str) -> None:
    with pytest.raises(DecodeError, match=fragment):
        codec.decode(json.dumps({"x": {NDARRAY_KEY: spec}}).encode(), [bytes(8)] * n_attachments)


def test_a_dict_whose_only_key_is_the_ndarray_tag_is_reserved() -> None:
    with pytest.raises(EncodeError, match="reserved"):
        codec.encode({NDARRAY_KEY: 1})


def test_unsupported_memoryview_formats_name_the_path() -> None:
    import ctypes

    class Point(ctypes.Structure):
        _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_double)]

    with pytest.raises(EncodeError) as info:
        codec.encode({"p": memoryview((Point * 2)())}, root="result")
    assert info.value.path == "result['p']"
    assert "memoryview of format" in info.value.reason


# ---- with numpy ----------------------------------------------------------------------

DTYPES = [
    "|b1", "|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f2", "<f4", "<f8",
    "<c8", "<c16", "<M8[ns]", "<M8[D]", "<m8[s]", "|S5", "<U3", "|V4",
    ">i2", ">u4", ">i8", ">f4", ">f8", ">c16", ">M8[us]", ">U2",
]  # fmt: skip


@pytest.fixture
def np() -> Any:
    return pytest.importorskip("numpy")


def sample(np: Any, typestr: str, shape: tuple[int, ...]) -> Any:
    dtype = np.dtype(typestr)
    n = int(np.prod(shape)) if shape else 1
    raw = (np.arange(n * dtype.itemsize, dtype=np.uint32) * 37 % 251).astype(np.uint8).tobytes()
    if dtype.kind == "b":
        raw = bytes(b & 1 for b in raw)
    if dtype.kind == "U":  # valid code points
        raw = np.arange(n * (dtype.itemsize // 4), dtype=dtype.byteorder.replace("|", "=") + "u4") % 1000 + 65
        raw = raw.astype(dtype.byteorder.replace("|", "=") + "u4").tobytes()
    if dtype.kind == "f" or dtype.kind == "c":  # no NaN payload games: array_equal needs equal values
        return (np.arange(n, dtype=np.float64) / 3 - 5).astype(dtype).reshape(shape)
    return np.frombuffer(raw, dtype=dtype, count=n).reshape(shape)


@pytest.mark.parametrize("typestr", DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3), (2, 0, 4), (1, 2, 1, 3)])
def test_every_fixed_width_dtype_and_shape_round_trips_exactly(np: Any, typestr: str, shape: tuple[int, ...]) -> None:
    value = sample(np, typestr, shape)
    json_bytes, attachments = codec.encode({"a": value})
    spec = placeholder(json_bytes)["a"][NDARRAY_KEY]
    assert spec == {"dtype": np.dtype(typestr).str, "shape": list(shape), "order": "C", "data": 0}
    assert len(attachments[0]) == value.nbytes
    back = codec.decode(json_bytes, attachments)["a"]
    assert isinstance(back, np.ndarray)
    assert back.dtype == value.dtype and back.dtype.str == value.dtype.str  # byte order kept
    assert back.shape == shape
    assert back.tobytes() == value.tobytes()


def test_fortran_order_is_kept_and_a_strided_array_is_made_contiguous_once(np: Any) -> None:
    c = np.arange(24, dtype="<f8").reshape(4, 6)
    f = np.asfortranarray(c)
    json_bytes, attachments = codec.encode(f)
    assert placeholder(json_bytes)[NDARRAY_KEY]["order"] == "F"
    assert attachments == [f.tobytes(order="F")]
    back = codec.decode(json_bytes, attachments)
    assert back.flags.f_contiguous and np.array_equal(back, c)

    strided = c[::2, ::3].T  # neither C- nor F-contiguous
    assert not strided.flags.c_contiguous and not strided.flags.f_contiguous
    json_bytes, attachments = codec.encode(strided)
    assert placeholder(json_bytes)[NDARRAY_KEY] == {"dtype": "<f8", "shape": [2, 2], "order": "C", "data": 0}
    assert np.array_equal(codec.decode(json_bytes, attachments), strided)


def test_received_arrays_are_read_only_views_over_the_attachment(np: Any) -> None:
    raw = np.arange(4, dtype="<f4").tobytes()
    spec = {"dtype": "<f4", "shape": [2, 2], "order": "C", "data": 0}
    back = codec.decode(json.dumps({NDARRAY_KEY: spec}).encode(), [raw])
    assert not back.flags.writeable
    assert back.base is not None  # a view over the bytes, not a copy
    assert np.shares_memory(back, np.frombuffer(raw, dtype=np.uint8))


def test_arrays_nest_in_dicts_and_lists_beside_bytes(np: Any) -> None:
    value = {
        "features": np.ones((3, 2), dtype="<f4"),
        "batch": [np.arange(3), {"ids": np.array([1, 2], dtype=">u8"), "blob": b"xy"}],
        "n": 3,
    }
    back = roundtrip(value)
    assert np.array_equal(back["features"], value["features"])
    assert np.array_equal(back["batch"][0], value["batch"][0])
    assert back["batch"][1]["ids"].dtype.str == ">u8"
    assert back["batch"][1]["blob"] == b"xy"
    assert back["n"] == 3


def test_numpy_scalars_become_json_numbers_or_0d_arrays(np: Any) -> None:
    json_bytes, attachments = codec.encode(
        [np.int64(5), np.uint8(7), np.float32(1.5), np.bool_(True), np.int64(2**60), np.complex64(1j)]
    )
    decoded = placeholder(json_bytes)
    assert decoded[:5] == [5, 7, 1.5, True, {"$snakepit:bigint": str(2**60)}]
    assert decoded[5][NDARRAY_KEY] == {"dtype": "<c8", "shape": [], "order": "C", "data": 0}
    with pytest.raises(EncodeError, match="nan"):
        codec.encode(np.float32("nan"))


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda np: np.array([1, "a", None], dtype=object), "dtype object is not supported"),
        (lambda np: np.zeros(2, dtype=[("x", "<i4"), ("y", "<f8")]), "structured dtype"),
        (lambda np: np.ma.masked_array([1, 2], mask=[0, 1]), "masked array is not supported"),
    ],
)
def test_arrays_that_cannot_travel_say_why_with_the_path(np: Any, make: Any, fragment: str) -> None:
    with pytest.raises(EncodeError) as info:
        codec.encode({"out": [make(np)]}, root="result")
    assert info.value.path == "result['out'][0]"
    assert fragment in info.value.reason


def test_arraydata_becomes_a_numpy_array_without_a_copy(np: Any) -> None:
    c = ArrayData("<i4", (2, 3), "C", memoryview(np.arange(6, dtype="<i4").tobytes()))
    assert np.array_equal(np.asarray(c), np.arange(6).reshape(2, 3))
    f = ArrayData("<i4", (2, 3), "F", memoryview(np.array([1, 4, 2, 5, 3, 6], dtype="<i4").tobytes()))
    assert np.array_equal(np.asarray(f), [[1, 2, 3], [4, 5, 6]])


def test_a_large_array_round_trips(np: Any) -> None:
    value = np.random.default_rng(1).standard_normal((1024, 1024 * 4)).astype("<f4")  # 16 MiB
    back = roundtrip(value)
    assert back.shape == value.shape and np.array_equal(back, value)
