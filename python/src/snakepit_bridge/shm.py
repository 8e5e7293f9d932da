"""Shared-memory segments for large attachments on one host (the local transport only).

The pool offers them with ``SNAKEPIT_SHM=<prefix>:<min bytes>`` in the worker's
environment (worker.proto, "Shared memory"). A segment is a file under /dev/shm:

* an argument's segment is the pool's: the worker maps it read-only (no copy) and
  never unlinks it; the mapping lives as long as the arrays that view it;
* a result's segment is written here once (``<prefix>r<n>``) and belongs to the
  pool as soon as the frame naming it is written. Until then it is this worker's:
  :meth:`SharedMemory.discard` unlinks it if the frame is never written, and
  :meth:`SharedMemory.close` unlinks whatever is still unreported at exit.
"""

from __future__ import annotations

import itertools
import mmap
import os
import re
import threading
from collections.abc import Callable
from typing import Any

SHM_DIR = "/dev/shm"
OFFER_ENV = "SNAKEPIT_SHM"
# snakepit-<pool pid>-<worker>- : what a pool may offer (nothing that leaves SHM_DIR).
_PREFIX = re.compile(r"^snakepit-\d+-[\w.-]+-$")

_current = threading.local()


class SegmentError(ValueError):
    """A segment named by the pool cannot be used (gone, wrong size, bad name)."""


def parse_offer(value: str | None) -> tuple[str, int] | None:
    """``(prefix, min_bytes)`` from ``SNAKEPIT_SHM``, or None when absent or malformed."""
    if not value:
        return None
    prefix, sep, min_text = value.rpartition(":")
    if not sep or not _PREFIX.match(prefix) or not min_text.isdigit() or int(min_text) < 1:
        return None
    return prefix, int(min_text)


def usable() -> bool:
    """True when a segment can be created, mapped and removed here (a writable tmpfs)."""
    path = os.path.join(SHM_DIR, f"snakepit-probe-{os.getpid()}-{threading.get_ident()}")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return False
    try:
        os.ftruncate(fd, mmap.PAGESIZE)
        with mmap.mmap(fd, mmap.PAGESIZE) as mm:
            mm[0] = 1
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
        _unlink(path)


class ResultSegments:
    """The segments one call's result is written into (lent to the codec for that call)."""

    def __init__(self, owner: SharedMemory) -> None:
        self.owner = owner
        self.min_bytes = owner.min_bytes
        self.entries: list[tuple[int, str, int]] = []  # (attachment index, name, length)

    @property
    def nbytes(self) -> int:
        return sum(length for _, _, length in self.entries)

    def put(self, index: int, length: int, fill: Callable[[memoryview], None]) -> None:
        """A new segment of ``length`` bytes for attachment ``index``, filled by ``fill`` (one copy)."""
        name = self.owner.new_name()
        path = os.path.join(SHM_DIR, name)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        self.owner.unreported.add(name)
        try:
            os.ftruncate(fd, length)
            with mmap.mmap(fd, length) as mm, memoryview(mm) as view:
                fill(view)
        except BaseException:
            self.owner.forget(name, unlink=True)
            raise
        finally:
            os.close(fd)
        self.entries.append((index, name, length))

    def put_bytes(self, index: int, data: Any) -> None:
        with memoryview(data) as src:
            flat = src.cast("B") if src.ndim != 1 or src.format != "B" else src

            def fill(view: memoryview) -> None:
                view[:] = flat

            self.put(index, flat.nbytes, fill)

    def put_numpy(self, index: int, value: Any, order: str) -> None:
        """The array's elements straight into the segment (the only copy), in ``order``."""
        np = __import__("numpy")

        def fill(view: memoryview) -> None:
            target = np.ndarray(value.shape, dtype=value.dtype, buffer=view, order=order)
            target[...] = value
            del target

        self.put(index, value.nbytes, fill)

    def handed_over(self) -> None:
        """The frame naming these segments is written: they are the pool's now."""
        for _, name, _ in self.entries:
            self.owner.forget(name, unlink=False)
        self.entries.clear()

    def discard(self) -> None:
        """The frame will not be written (an error took the result's place): unlink them."""
        for _, name, _ in self.entries:
            self.owner.forget(name, unlink=True)
        self.entries.clear()


class SharedMemory:
    """One worker's side of the shared-memory offer: names, mappings and cleanup."""

    def __init__(self, prefix: str, min_bytes: int) -> None:
        self.prefix = prefix
        self.min_bytes = min_bytes
        self.unreported: set[str] = set()
        self._counter = itertools.count()
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> SharedMemory | None:
        """The offer in the environment, if any and if /dev/shm works here."""
        env = os.environ if environ is None else environ
        offer = parse_offer(env.get(OFFER_ENV))
        if offer is None or not usable():
            return None
        return cls(*offer)

    def new_name(self) -> str:
        with self._lock:
            return f"{self.prefix}r{next(self._counter)}"

    def forget(self, name: str, *, unlink: bool) -> None:
        with self._lock:
            self.unreported.discard(name)
        if unlink:
            _unlink(os.path.join(SHM_DIR, name))

    def open(self, name: str, length: int) -> memoryview:
        """A read-only view of the pool's segment ``name`` (it stays valid after the pool unlinks it)."""
        if not name.startswith(self.prefix) or "/" in name:
            raise SegmentError(f"segment name {name!r} is not one of this pool's ({self.prefix}*)")
        path = os.path.join(SHM_DIR, name)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            raise SegmentError(
                f"shared-memory segment {name} is gone (the pool unlinks a call's segments when the call ends)"
            ) from None
        try:
            size = os.fstat(fd).st_size
            if size != length:
                raise SegmentError(f"shared-memory segment {name} holds {size} bytes, the frame says {length}")
            if length == 0:
                return memoryview(b"")
            return memoryview(mmap.mmap(fd, length, access=mmap.ACCESS_READ))
        finally:
            os.close(fd)

    def writer(self) -> ResultSegments:
        return ResultSegments(self)

    def close(self, *, pool_gone: bool = False) -> None:
        """Unlink this worker's unreported segments; every segment of the prefix if the pool is gone."""
        with self._lock:
            names = list(self.unreported)
            self.unreported.clear()
        for name in names:
            _unlink(os.path.join(SHM_DIR, name))
        if pool_gone:
            try:
                leftovers = [n for n in os.listdir(SHM_DIR) if n.startswith(self.prefix)]
            except OSError:
                return
            for name in leftovers:
                _unlink(os.path.join(SHM_DIR, name))


def current() -> ResultSegments | None:
    """The segments lent to the call running on this thread, if any."""
    return getattr(_current, "segments", None)


def lend_to_thread(segments: ResultSegments | None) -> None:
    """Lend ``segments`` to the codec for the call this thread runs now; None ends the loan.

    The same as ``with lend(segments):``, without a context-manager object per call.
    """
    _current.segments = segments


class lend:  # noqa: N801 - used as a context manager, reads as a verb
    """Lend ``segments`` to the codec for the call this thread runs."""

    def __init__(self, segments: ResultSegments) -> None:
        self.segments = segments

    def __enter__(self) -> ResultSegments:
        _current.segments = self.segments
        return self.segments

    def __exit__(self, *exc: object) -> None:
        _current.segments = None


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError:
        pass  # best effort: the pool's sweep catches what is left
