"""Values <-> Payload (JSON text + binary attachments), exactly as the wire contract says.

* ``{"$snakepit:bytes": N}`` stands for ``attachments[N]`` (Python ``bytes``).
* ``{"$snakepit:bigint": "<decimal>"}`` carries ints outside JavaScript's safe range.
* ``{"$snakepit:ndarray": {"dtype", "shape", "order", "data": N}}`` is an array whose
  elements are ``attachments[N]`` (see :mod:`snakepit_bridge.ndarray`): a numpy array,
  or without numpy a memoryview / :class:`~snakepit_bridge.ndarray.ArrayData`.
* ``{"$snakepit:arrow": N}`` is a ``pyarrow.Table`` whose Arrow IPC stream is
  ``attachments[N]`` (see :mod:`snakepit_bridge.arrow`).
* Everything else is plain JSON; nothing is pickled.
"""

from __future__ import annotations

import array
import json
import math
from collections.abc import Sequence
from typing import Any

from . import arrow, ndarray, shm
from .arrow import ARROW_KEY
from .ndarray import NDARRAY_KEY, ArrayData

BYTES_KEY = "$snakepit:bytes"
BIGINT_KEY = "$snakepit:bigint"
MAX_SAFE_INTEGER = 2**53 - 1

_SEPARATORS = (",", ":")
# Shared instances: building an encoder/decoder per call costs more than the call.
_ENCODER = json.JSONEncoder(ensure_ascii=True, separators=_SEPARATORS, allow_nan=False)
_MARKER = b'"$snakepit:'



class EncodeError(TypeError):
    """A value has no JSON form. ``path`` is like ``result['items'][2]``."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class DecodeError(ValueError):
    """The incoming payload is not valid JSON or references a missing attachment."""


def encode(value: Any, *, root: str = "value") -> tuple[bytes, list[bytes]]:
    """Encode ``value`` to ``(json_bytes, attachments)``; raise :class:`EncodeError` if impossible.

    ``root`` names the value in error paths (e.g. ``"result"``).
    """
    # Fast path: a scalar needs no walk (bool before int: bool is an int).
    kind = type(value)
    if value is None or kind is bool or kind is str or (kind is int and -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER):
        # ensure_ascii output is pure ASCII and keeps lone surrogates exact as \u escapes.
        return _ENCODER.encode(value).encode("ascii"), []
    attachments: list[bytes] = []
    plain = _to_plain(value, root, attachments, set())
    try:
        text = json.dumps(plain, ensure_ascii=False, separators=_SEPARATORS, allow_nan=False)
        return text.encode("utf-8"), attachments
    except UnicodeEncodeError:
        # Lone surrogates cannot be UTF-8; \u escapes keep them exact.
        text = json.dumps(plain, ensure_ascii=True, separators=_SEPARATORS, allow_nan=False)
        return text.encode("ascii"), attachments


def encoded_size(json_bytes: bytes, attachments: Sequence[bytes]) -> int:
    """Bytes of a value just encoded on this thread, its shared-memory segments included."""
    segments = shm.current()
    shared = segments.nbytes if segments is not None else 0
    return len(json_bytes) + sum(len(a) for a in attachments) + shared


def _type_name(value: object) -> str:
    cls = type(value)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _to_plain(value: Any, path: str, attachments: list[bytes], seen: set[int]) -> Any:
    """Copy ``value`` into something ``json.dumps`` encodes exactly, replacing bytes/bigints."""
    # Order matters: bool is a subclass of int.
    if value is None or value is True or value is False:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        number = int(value)
        if abs(number) > MAX_SAFE_INTEGER:
            try:
                return {BIGINT_KEY: str(number)}
            except ValueError as exc:  # beyond sys.get_int_max_str_digits()
                raise EncodeError(path, f"int is too large to encode ({exc})") from None
        return number
    if isinstance(value, float):
        if not math.isfinite(value):
            raise EncodeError(
                path, f"float {value!r} is not supported (JSON has no NaN or Infinity)"
            )
        return float(value)
    if isinstance(value, (bytes, bytearray)) or (
        isinstance(value, memoryview) and ndarray.is_bytes_view(value)
    ):
        _attach(attachments, value)
        return {BYTES_KEY: len(attachments) - 1}
    if isinstance(value, (list, tuple, dict)):
        marker = id(value)
        if marker in seen:
            raise EncodeError(path, f"circular reference to a {_type_name(value)}")
        seen.add(marker)
        try:
            if isinstance(value, dict):
                return _dict_to_plain(value, path, attachments, seen)
            return [
                _to_plain(item, f"{path}[{i}]", attachments, seen) for i, item in enumerate(value)
            ]
        finally:
            seen.discard(marker)
    if isinstance(value, (set, frozenset)):
        raise EncodeError(path, f"{_type_name(value)} is not supported (return a list)")
    array_value = _array_to_plain(value, path, attachments, seen)
    if array_value is not _NOT_AN_ARRAY:
        return array_value
    table = arrow.as_table(value)
    if table is not None:
        _attach(attachments, arrow.to_ipc(table))
        return {ARROW_KEY: len(attachments) - 1}
    raise EncodeError(
        path,
        f"{_type_name(value)} is not supported "
        "(return None, bool, int, float, str, bytes, list, tuple, dict, a numpy array or a pyarrow Table)",
    )


_NOT_AN_ARRAY = object()


def _array_to_plain(value: Any, path: str, attachments: list[bytes], seen: set[int]) -> Any:
    """An ndarray placeholder for a numpy array, typed memoryview, array.array or ArrayData.

    A numpy scalar of a number kind (np.int64, np.float32, np.bool_) becomes the
    JSON number or bool it equals; one of another kind becomes a 0-d array.
    """
    try:
        np = ndarray.imported("numpy")  # only a tool that imported numpy can hand us its arrays
        if np is not None and isinstance(value, np.ndarray):
            segments = shm.current()
            if segments is not None and value.nbytes >= segments.min_bytes:
                # Straight into a shared-memory segment: the only copy of the elements.
                spec = ndarray.numpy_layout(value)
                try:
                    segments.put_numpy(len(attachments), value, spec["order"])
                except OSError:  # /dev/shm full, say: this one travels inline
                    spec, data = ndarray.numpy_spec(value)
                    attachments.append(data)
                else:
                    attachments.append(b"")
                spec["data"] = len(attachments) - 1
                return {NDARRAY_KEY: spec}
            spec, data = ndarray.numpy_spec(value)
        elif np is not None and isinstance(value, np.generic):
            if value.dtype.kind in "biuf":
                return _to_plain(value.item(), path, attachments, seen)
            spec, data = ndarray.numpy_spec(np.asarray(value))
        elif isinstance(value, memoryview):
            spec, data = ndarray.memoryview_spec(value)
        elif isinstance(value, array.array):
            spec, data = ndarray.memoryview_spec(memoryview(value))
        elif isinstance(value, ArrayData):
            spec, data = ndarray.arraydata_spec(value)
        else:
            return _NOT_AN_ARRAY
    except ndarray.ArrayError as exc:
        raise EncodeError(path, str(exc)) from None
    _attach(attachments, data)
    spec["data"] = len(attachments) - 1
    return {NDARRAY_KEY: spec}


def _attach(attachments: list[bytes], data: Any) -> None:
    """Append ``data`` as the next attachment, or put it in a segment lent for this call."""
    segments = shm.current()
    if segments is not None and len(data) >= segments.min_bytes:
        try:
            segments.put_bytes(len(attachments), data)
        except OSError:  # /dev/shm full, say: this one travels inline
            pass
        else:
            attachments.append(b"")
            return
    attachments.append(bytes(data))


def _dict_to_plain(
    value: dict[Any, Any], path: str, attachments: list[bytes], seen: set[int]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise EncodeError(
                path,
                f"dict key {key!r} of type {_type_name(key)} is not supported (keys must be str)",
            )
        out[str(key)] = _to_plain(item, f"{path}[{key!r}]", attachments, seen)
    if len(out) == 1 and (BYTES_KEY in out or BIGINT_KEY in out or NDARRAY_KEY in out or ARROW_KEY in out):
        # Would decode as a placeholder on the other side, i.e. not round-trip.
        (key,) = out
        raise EncodeError(path, f"a dict whose only key is {key!r} is reserved by snakepit")
    return out


def _reject_constant(name: str) -> Any:
    raise DecodeError(f"{name} is not valid JSON")


_PLAIN_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def decode(json_bytes: bytes, attachments: Sequence[bytes]) -> Any:
    """Decode a payload; raise :class:`DecodeError` if it is malformed."""
    if _MARKER not in json_bytes:
        # Fast path: no placeholders, so no per-object hook.
        try:
            return _PLAIN_DECODER.decode(json_bytes.decode("utf-8"))
        except DecodeError:
            raise
        except (ValueError, UnicodeDecodeError) as exc:
            raise DecodeError(f"payload is not valid JSON: {exc}") from None

    def hook(obj: dict[str, Any]) -> Any:
        if len(obj) != 1:
            return obj
        if BYTES_KEY in obj:
            index = obj[BYTES_KEY]
            if type(index) is not int or not 0 <= index < len(attachments):
                raise DecodeError(
                    f"{BYTES_KEY} placeholder {index!r} does not match any of "
                    f"{len(attachments)} attachment(s)"
                )
            return bytes(attachments[index])
        if NDARRAY_KEY in obj:
            try:
                return ndarray.decode(obj[NDARRAY_KEY], attachments)
            except ndarray.ArrayError as exc:
                raise DecodeError(f"{NDARRAY_KEY} placeholder: {exc}") from None
        if ARROW_KEY in obj:
            index = obj[ARROW_KEY]
            if type(index) is not int or not 0 <= index < len(attachments):
                raise DecodeError(
                    f"{ARROW_KEY} placeholder {index!r} does not match any of {len(attachments)} attachment(s)"
                )
            try:
                return arrow.from_ipc(attachments[index])
            except arrow.ArrowError as exc:
                raise DecodeError(f"{ARROW_KEY} placeholder: {exc}") from None
        if BIGINT_KEY in obj:
            digits = obj[BIGINT_KEY]
            if not isinstance(digits, str):
                raise DecodeError(f"{BIGINT_KEY} must be a decimal string, got {digits!r}")
            try:
                return int(digits, 10)
            except ValueError:
                raise DecodeError(
                    f"{BIGINT_KEY} must be a decimal string, got {digits!r}"
                ) from None
        return obj

    def reject_constant(name: str) -> Any:
        raise DecodeError(f"{name} is not valid JSON")

    try:
        return json.loads(json_bytes, object_hook=hook, parse_constant=reject_constant)
    except DecodeError:
        raise
    except (ValueError, UnicodeDecodeError) as exc:
        raise DecodeError(f"payload is not valid JSON: {exc}") from None
