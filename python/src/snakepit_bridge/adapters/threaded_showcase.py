"""The three patterns of a thread-safe adapter, for the thread profile.

Run it with ``--adapter snakepit_bridge.adapters.threaded_showcase:ThreadedShowcaseAdapter``
and ``--threads N`` (``profile: "thread"`` in the Node.js pool). One instance of the
adapter serves every thread of the worker process, so each piece of its state follows
one of three rules:

1. Shared, read-only data loaded once in ``setup()``: a lexicon (a read-only mapping)
   and a blob of bytes. Threads read them without locks because nobody writes them.
2. Per-thread state with ``threading.local()``: a client object that, like a
   ``sqlite3`` connection, must only be used by the thread that created it.
3. Mutable shared state behind a lock: counters updated with a read-modify-write.

See docs/thread-safe-adapters.md.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
import time
from types import MappingProxyType
from typing import Any

from snakepit_bridge import CancelledError, ThreadSafeAdapter, current_call, tool
from ._workloads import burn, cancellable_sleep

#: Size of the shared blob (``SNAKEPIT_SHOWCASE_BLOB_BYTES`` overrides it).
DEFAULT_BLOB_BYTES = 4 * 1024 * 1024

_WORDS = (
    "adder asp boa cobra krait mamba python rattlesnake taipan viper "
    "anaconda boomslang copperhead garter kingsnake racer sidewinder"
).split()

# How many times setup() ran in this process, across instances (it should be once).
_setups = 0
_setups_lock = threading.Lock()

NATIVE_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


class ThreadBoundClient:
    """Stands in for a client that must stay on its thread (sqlite3, requests.Session, ...).

    Using it from another thread raises, the way ``sqlite3`` does with
    ``check_same_thread=True``: keep one per thread with ``threading.local``.
    """

    _ids = itertools.count(1)

    def __init__(self) -> None:
        self.id = next(self._ids)
        self.owner = threading.get_ident()
        self.calls = 0

    def use(self) -> int:
        if threading.get_ident() != self.owner:
            raise RuntimeError(f"client {self.id} was created in another thread; it must not be shared")
        self.calls += 1
        return self.calls


class ThreadedShowcaseAdapter(ThreadSafeAdapter):
    """Tools that are safe on several threads at once, one pattern each."""

    def setup(self) -> None:
        global _setups
        with _setups_lock:
            _setups += 1
        # 1. Shared read-only data: built once, never written afterwards.
        size = int(os.environ.get("SNAKEPIT_SHOWCASE_BLOB_BYTES", DEFAULT_BLOB_BYTES))
        pattern = bytes(range(256))
        self._blob = (pattern * (size // len(pattern) + 1))[:size]
        self._blob_sha256 = hashlib.sha256(self._blob).hexdigest()
        self._lexicon = MappingProxyType({word: i for i, word in enumerate(sorted(_WORDS))})
        # 2. Per-thread state: each thread lazily gets its own client.
        self._local = threading.local()
        self._clients_created = 0
        # 3. Mutable shared state, only touched under the lock.
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    # ---- 1. shared read-only data -----------------------------------------------------

    @tool
    def lookup(self, word: str) -> int | None:
        """Index of `word` in the shared lexicon loaded at setup, or None (read-only, no lock)."""
        return self._lexicon.get(word)

    @tool
    def digest_blob(self, rounds: int = 1) -> str:
        """SHA-256 over the shared blob, `rounds` times chained; returns the hex digest.

        hashlib releases the GIL while it hashes a large buffer, so concurrent calls
        run in parallel on a GIL build too: a CPU-bound tool that threads speed up.
        """
        view = memoryview(self._blob)
        digest = b""
        for _ in range(max(1, rounds)):
            h = hashlib.sha256(digest)
            h.update(view)
            digest = h.digest()
        return digest.hex()

    @tool
    def setup_info(self) -> dict[str, Any]:
        """How this process was set up: pid, setup() runs, blob size and digest."""
        return {
            "pid": os.getpid(),
            "setups": _setups,
            "blob_bytes": len(self._blob),
            "blob_sha256": self._blob_sha256,
            "words": len(self._lexicon),
        }

    # ---- 2. thread-local state ------------------------------------------------------------

    def _client(self) -> ThreadBoundClient:
        client: ThreadBoundClient | None = getattr(self._local, "client", None)
        if client is None:
            client = ThreadBoundClient()
            self._local.client = client
            with self._lock:
                self._clients_created += 1
        return client

    @tool
    def thread_client(self, work_seconds: float = 0.0) -> dict[str, Any]:
        """Use this thread's own client (created on first use), then wait `work_seconds`.

        Returns `{"thread", "client", "client_calls", "clients_created"}`.
        """
        client = self._client()
        calls = client.use()
        if work_seconds > 0 and current_call().cancel_event.wait(work_seconds):
            raise CancelledError("thread_client was cancelled")
        client.use()  # still this thread's client after the wait
        with self._lock:
            created = self._clients_created
        return {
            "thread": threading.current_thread().name,
            "client": client.id,
            "client_calls": calls,
            "clients_created": created,
        }

    # ---- 3. mutable state behind a lock ------------------------------------------------------

    @tool
    def increment(self, key: str = "hits", pause: float = 0.0) -> int:
        """Add 1 to counter `key` with a read-modify-write under the lock; returns the new value.

        `pause` waits between the read and the write (inside the lock): without the lock,
        concurrent calls would read the same value and lose updates.
        """
        with self._lock:
            value = self._counts.get(key, 0)
            if pause > 0:
                time.sleep(pause)
            self._counts[key] = value + 1
            return value + 1

    @tool
    def counts(self) -> dict[str, int]:
        """A consistent copy of all counters (taken under the lock)."""
        with self._lock:
            return dict(self._counts)

    @tool
    def reset_counts(self) -> None:
        """Clear every counter."""
        with self._lock:
            self._counts.clear()

    # ---- stateless helpers -------------------------------------------------------------------

    @tool
    def sleep(self, seconds: float) -> float:
        """Wait `seconds` (an I/O stand-in; cancellable); returns the seconds waited."""
        return cancellable_sleep(seconds)

    @tool
    def cpu_burn(self, n: int) -> int:
        """A pure-Python loop of `n` iterations: holds the GIL, so threads do not speed it up."""
        return burn(n)

    @tool
    def hash_bytes(self, data: bytes) -> str:
        """SHA-256 hex digest of `data` (hashlib releases the GIL for large inputs)."""
        return hashlib.sha256(data).hexdigest()

    @tool
    def native_threads(self) -> dict[str, str | None]:
        """The worker's native thread-pool caps (OPENBLAS/OMP/MKL/NUMEXPR_NUM_THREADS)."""
        return {name: os.environ.get(name) for name in NATIVE_THREAD_VARS}

    @tool
    def whoami(self) -> dict[str, Any]:
        """`{"pid", "thread"}` of the process and thread running the call."""
        return {"pid": os.getpid(), "thread": threading.current_thread().name}
