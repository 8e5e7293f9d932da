"""Apache Arrow tables as values: ``{"$snakepit:arrow": N}`` is a table whose Arrow IPC
stream is ``attachments[N]``.

pyarrow is optional: only a tool that imported it can return a ``pyarrow.Table``
(or ``RecordBatch``), and an incoming table needs it installed
(``pip install pyarrow``, or the bridge's ``arrays`` extra).
"""

from __future__ import annotations

from typing import Any

from .ndarray import imported

ARROW_KEY = "$snakepit:arrow"


class ArrowError(ValueError):
    """A table that cannot be read or written here."""


def as_table(value: Any) -> Any | None:
    """``value`` as a pyarrow Table if it is a Table or RecordBatch, else None (pyarrow not imported: None)."""
    pa = imported("pyarrow")
    if pa is None:
        return None
    if isinstance(value, pa.Table):
        return value
    if isinstance(value, pa.RecordBatch):
        return pa.Table.from_batches([value])
    return None


def to_ipc(table: Any) -> Any:
    """The table as an Arrow IPC stream (a pyarrow Buffer: bytes-like, not copied again)."""
    import pyarrow as pa  # noqa: PLC0415 - imported already by whoever made the table

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def from_ipc(data: Any) -> Any:
    """A pyarrow Table over ``data`` (an IPC stream; its buffers are views, not copies)."""
    try:
        import pyarrow as pa  # noqa: PLC0415 - optional, and only once a table arrives
    except ImportError:
        raise ArrowError(
            "an Arrow table arrived, and reading it needs pyarrow in the worker "
            "(pip install pyarrow, or snakepit-bridge[arrays])"
        ) from None
    try:
        return pa.ipc.open_stream(pa.py_buffer(data)).read_all()
    except (pa.ArrowInvalid, OSError) as exc:
        raise ArrowError(f"not a readable Arrow IPC stream: {exc}") from None
