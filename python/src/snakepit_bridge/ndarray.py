"""N-dimensional arrays on the wire: numpy arrays (or memoryviews) <-> ``NDArray`` in Node.

An array travels as a JSON placeholder pointing at one binary attachment that holds
its elements (worker.proto says the same)::

    {"$snakepit:ndarray": {"dtype": "<f4", "shape": [500, 64], "order": "C", "data": 0}}

* ``dtype``: numpy's array-interface type string (``dtype.str``): byte order
  (``<``, ``>``, or ``|`` where it does not apply), kind (``b i u f c m M S U V``)
  and item size (bytes; characters for ``U``), plus a unit for datetime64 and
  timedelta64 (``<M8[ns]``). Byte order is kept as it is: a ``>f8`` array arrives
  as ``>f8``.
* ``shape``: a list of non-negative ints; ``[]`` is a 0-d array.
* ``order``: ``"C"`` (row-major) or ``"F"`` (column-major): how the bytes are laid out.
* ``data``: the index of the attachment; its length is exactly itemsize * prod(shape).

numpy is optional. Without it, an incoming array is a ``memoryview`` cast to its
format and shape where Python's memoryview can express it (native-endian
integers, float32/float64 and bool, C order, no zero-length axis; not a 1-d uint8
array, which as a memoryview would go back as bytes); any other
array arrives as an :class:`ArrayData` (dtype, shape, order and the raw bytes),
which numpy reads with ``numpy.asarray`` if it is installed later. Both encode
back exactly. numpy is never imported here: a numpy array can only exist if the
tool imported numpy.
"""

from __future__ import annotations

import re
import struct
import sys
from dataclasses import dataclass
from math import prod
from typing import Any

NDARRAY_KEY = "$snakepit:ndarray"

_TYPESTR = re.compile(r"^([<>|=])([biufcmMSUV])(\d+)(\[[A-Za-z0-9]+\])?$")
_NATIVE = "<" if sys.byteorder == "little" else ">"
#: (kind, itemsize) -> the memoryview format that holds it natively.
_CASTABLE = {
    ("i", 1): "b", ("u", 1): "B", ("b", 1): "?",
    ("i", 2): "h", ("u", 2): "H",
    ("i", 4): "i", ("u", 4): "I",
    ("i", 8): "q", ("u", 8): "Q",
    ("f", 4): "f", ("f", 8): "d",
}  # fmt: skip
_SIGNED, _UNSIGNED, _FLOATS = "bhilqn", "BHILQN", "fde"


class ArrayError(ValueError):
    """An array that this codec cannot carry; the message says why and what to do."""


@dataclass(frozen=True)
class ArrayData:
    """An array without numpy: its numpy type string, shape, layout and raw bytes.

    ``numpy.asarray(a)`` turns it into an ndarray (through ``__array_interface__``)
    without a copy.
    """

    dtype: str
    shape: tuple[int, ...]
    order: str
    data: memoryview

    def __post_init__(self) -> None:
        itemsize, _, _ = parse_dtype(self.dtype)
        if self.order not in ("C", "F"):
            raise ArrayError(f"order must be 'C' or 'F', got {self.order!r}")
        data = memoryview(self.data).cast("B") if not isinstance(self.data, memoryview) else self.data
        if data.format != "B" or data.ndim != 1:
            data = data.cast("B")
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "shape", check_shape(list(self.shape)))
        expected = itemsize * prod(self.shape)
        if data.nbytes != expected:
            raise ArrayError(
                f"shape {list(self.shape)} of {self.dtype} needs {expected} bytes, data has {data.nbytes}"
            )

    @property
    def __array_interface__(self) -> dict[str, Any]:
        itemsize, _, _ = parse_dtype(self.dtype)
        strides = None
        if self.order == "F" and len(self.shape) > 1:
            step, out = itemsize, []
            for n in self.shape:
                out.append(step)
                step *= n
            strides = tuple(out)
        return {
            "version": 3,
            "shape": self.shape,
            "typestr": self.dtype,
            "data": self.data if self.data.nbytes else (0, True),
            "strides": strides,
        }


def parse_dtype(dtype: object) -> tuple[int, str, str]:
    """``(itemsize, kind, byteorder)`` of a numpy type string; :class:`ArrayError` if it is not one."""
    if not isinstance(dtype, str):
        raise ArrayError(f"dtype must be a string like '<f4', got {type(dtype).__name__}")
    m = _TYPESTR.match(dtype)
    if m is None:
        raise ArrayError(
            f"dtype {dtype!r} is not a fixed-width numpy type string like '<f4', '|u1' or '<c16'"
        )
    byteorder, kind, count, unit = m.groups()
    if unit is not None and kind not in "mM":
        raise ArrayError(f"dtype {dtype!r}: only datetime64 and timedelta64 take a unit")
    itemsize = int(count) * (4 if kind == "U" else 1)
    if itemsize == 0:
        raise ArrayError(f"dtype {dtype!r} has no item size")
    return itemsize, kind, _NATIVE if byteorder == "=" else byteorder


def check_shape(shape: object) -> tuple[int, ...]:
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise ArrayError(f"shape must be a list of non-negative integers, got {shape!r}")
    if len(shape) > 64:
        raise ArrayError(f"{len(shape)} dimensions is more than numpy's 64")
    return tuple(shape)


# ---- encoding ------------------------------------------------------------------------


def numpy_spec(value: Any) -> tuple[dict[str, Any], bytes]:
    """The placeholder body (without ``data``) and the bytes of a numpy array.

    The bytes are one copy of the array's memory, in C order, or in F order for an
    array that is Fortran-contiguous (and not also C-contiguous); a non-contiguous
    array is made contiguous by that same single copy.
    """
    spec = numpy_layout(value)
    return spec, value.tobytes(order=spec["order"])


def numpy_layout(value: Any) -> dict[str, Any]:
    """The placeholder body (without ``data``) of a numpy array, checked, without copying it."""
    np = sys.modules["numpy"]
    if isinstance(value, np.ma.MaskedArray):
        raise ArrayError(
            "a masked array is not supported (its mask would be lost): send arr.filled(...) "
            "and the mask as two arrays"
        )
    dtype = value.dtype
    if dtype.hasobject:
        raise ArrayError(
            f"numpy array of dtype {dtype} is not supported: only fixed-width dtypes travel as arrays "
            "(convert it, e.g. arr.astype(float), or send arr.tolist())"
        )
    if dtype.fields is not None or dtype.subdtype is not None:
        raise ArrayError(
            f"numpy array of structured dtype {dtype} is not supported "
            "(send each field as its own array)"
        )
    typestr = dtype.str
    parse_dtype(typestr)  # anything numpy spells another way is refused here
    order = "F" if value.flags.f_contiguous and not value.flags.c_contiguous else "C"
    return {"dtype": typestr, "shape": list(value.shape), "order": order}


def memoryview_spec(value: memoryview) -> tuple[dict[str, Any], bytes]:
    """The placeholder body and bytes of a typed memoryview (format and shape kept)."""
    fmt = value.format
    prefix, char = (fmt[0], fmt[1:]) if fmt[:1] in "@=<>!" else ("@", fmt)
    if len(char) != 1 or char not in _SIGNED + _UNSIGNED + _FLOATS + "?":
        raise ArrayError(
            f"a memoryview of format {fmt!r} is not supported (use a numpy array, or .cast('B') for bytes)"
        )
    itemsize = value.itemsize
    kind = "i" if char in _SIGNED else "u" if char in _UNSIGNED else "f" if char in _FLOATS else "b"
    order = _NATIVE if prefix in "@=" else ">" if prefix == "!" else prefix
    typestr = f"{'|' if itemsize == 1 else order}{kind}{itemsize}"
    layout = "F" if value.f_contiguous and not value.c_contiguous else "C"
    return {"dtype": typestr, "shape": list(value.shape), "order": layout}, value.tobytes(order=layout)


def arraydata_spec(value: ArrayData) -> tuple[dict[str, Any], bytes]:
    data = value.data
    raw = data.obj if isinstance(data.obj, bytes) and len(data.obj) == data.nbytes else data.tobytes()
    return {"dtype": value.dtype, "shape": list(value.shape), "order": value.order}, raw


def is_bytes_view(value: memoryview) -> bool:
    """A memoryview that travels as plain bytes (1-d, unsigned bytes), as it always has."""
    return value.ndim == 1 and value.format in ("B", "c")


# ---- decoding ------------------------------------------------------------------------


def decode(spec: object, attachments: Any) -> Any:
    """A numpy array (read-only, over the received bytes), a memoryview, or an :class:`ArrayData`."""
    if not isinstance(spec, dict):
        raise ArrayError(f"{NDARRAY_KEY} must hold an object, got {spec!r}")
    unknown = set(spec) - {"dtype", "shape", "order", "data"}
    if unknown:
        raise ArrayError(f"{NDARRAY_KEY} has unknown field(s) {sorted(unknown)}")
    dtype = spec.get("dtype")
    itemsize, kind, byteorder = parse_dtype(dtype)
    shape = check_shape(spec.get("shape"))
    order = spec.get("order", "C")
    if order not in ("C", "F"):
        raise ArrayError(f"order must be 'C' or 'F', got {order!r}")
    index = spec.get("data")
    if type(index) is not int or not 0 <= index < len(attachments):
        raise ArrayError(
            f"data {index!r} does not match any of {len(attachments)} attachment(s)"
        )
    buf = attachments[index]
    size = prod(shape)
    if len(buf) != itemsize * size:
        raise ArrayError(
            f"shape {list(shape)} of {dtype} needs {itemsize * size} bytes, the attachment has {len(buf)}"
        )
    np = _numpy()
    if np is not None:
        try:
            array_dtype = np.dtype(dtype)
        except TypeError as exc:
            raise ArrayError(f"dtype {dtype!r} is not one numpy knows: {exc}") from None
        if array_dtype.itemsize != itemsize:
            raise ArrayError(f"dtype {dtype!r} has item size {array_dtype.itemsize} in numpy")
        flat = np.frombuffer(buf, dtype=array_dtype, count=size) if size else np.empty(0, array_dtype)
        return flat.reshape(shape, order=order)
    view = memoryview(buf)
    fmt = _CASTABLE.get((kind, itemsize))
    native = byteorder in ("|", _NATIVE)
    # A 1-d memoryview of unsigned bytes would go back as bytes: an ArrayData keeps it an array.
    bytes_like = fmt == "B" and len(shape) == 1
    if fmt is not None and native and (order == "C" or len(shape) <= 1) and size and not bytes_like:
        return view.cast("B").cast(fmt, list(shape))
    return ArrayData(dtype, shape, order, view)


def _numpy() -> Any:
    """numpy if it is installed (imported on the first array that arrives), else None.

    Always through ``import``: a module another thread is still importing is in
    sys.modules half made, and the import statement is what waits for it.
    """
    global _numpy_missing
    if _numpy_missing:
        return None
    try:
        import numpy  # noqa: PLC0415 - optional, and only once an array arrives
    except ImportError:
        _numpy_missing = True
        return None
    return numpy


_numpy_missing = False


def imported(name: str) -> Any:
    """The module ``name`` if some code has finished importing it, else None (never imports it).

    A value of its types can exist only once its import finished; a module that is
    still being imported by another thread does not count.
    """
    module = sys.modules.get(name)
    if module is None or getattr(getattr(module, "__spec__", None), "_initializing", False):
        return None
    return module
