"""Thread safety in a worker that runs several tools at once (``--threads N > 1``).

Two things live here:

- The start-up check (always on with ``--threads > 1``): which libraries of the
  thread-safety matrix the worker has imported once the adapter is imported and set
  up, and one warning per library the matrix classifies ``unsafe`` or ``conditional``
  (or too old). The warnings travel in the ready handshake (``warnings``) and the
  Node.js pool logs them. The matrix is ``compat_matrix.json``, generated from
  ``packages/compat/src/matrix.ts`` (the single source of truth), so the worker needs
  no Node package to check itself.

- The thread-safety checker (opt in, for development): ``SNAKEPIT_THREAD_CHECK=warn``
  or ``=strict`` in the worker's environment. It wraps the adapter instance's tools and
  records which threads are inside which tool. When a thread enters a tool of an
  adapter that is *not* declared thread-safe while another thread is inside one, that
  is a race: ``warn`` logs it (stderr, logger ``snakepit_bridge``, so it reaches the
  pool's log); ``strict`` makes the entering call fail with :class:`ThreadSafetyError`
  (a ``python_error`` naming the adapter, the methods and the threads). After every
  call it also notices matrix libraries that were imported since the last look and
  warns about unsafe/conditional ones (in both modes).

Async tools are not wrapped: they all run on the worker's one event-loop thread, so
they never run on two threads at once.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import logging
import os
import platform
import re
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Any

from . import gil_watch, runtime_info
from .tool import ToolSpec, instrument_tools

log = logging.getLogger("snakepit_bridge")

#: The environment variable that turns the checker on: ``warn``, ``strict`` or ``off``.
CHECK_ENV = "SNAKEPIT_THREAD_CHECK"
MODE_OFF = "off"
MODE_WARN = "warn"
MODE_STRICT = "strict"

_MATRIX_FILE = "compat_matrix.json"
_MATRIX_FORMAT = 1
# Races kept for inspection (tests, a debugger); later ones are counted only.
_MAX_RECORDED_RACES = 1000


# ---- the matrix ----------------------------------------------------------------------


@dataclass(frozen=True)
class LibraryInfo:
    """One row of the thread-safety matrix (see docs/compatibility.md)."""

    name: str
    distribution: str
    alternative_distributions: tuple[str, ...]
    stdlib: bool
    classification: str  # "safe" | "conditional" | "unsafe"
    min_version: str | None
    releases_gil: bool | str  # True, False or "partial"
    notes: str
    workaround: str
    source: str


def parse_matrix(text: str) -> tuple[LibraryInfo, ...]:
    """Parse the text of ``compat_matrix.json``; ValueError if it is not that format."""
    document = json.loads(text)
    if not isinstance(document, dict) or document.get("format") != _MATRIX_FORMAT:
        raise ValueError(f"{_MATRIX_FILE}: expected format {_MATRIX_FORMAT}")
    rows: list[LibraryInfo] = []
    for row in document["libraries"]:
        rows.append(
            LibraryInfo(
                name=str(row["name"]),
                distribution=str(row["distribution"]),
                alternative_distributions=tuple(row["alternative_distributions"]),
                stdlib=bool(row["stdlib"]),
                classification=str(row["classification"]),
                min_version=row["min_version"],
                releases_gil=row["releases_gil"],
                notes=str(row["notes"]),
                workaround=str(row["workaround"]),
                source=str(row["source"]),
            )
        )
    return tuple(rows)


@functools.lru_cache(maxsize=1)
def compat_matrix() -> tuple[LibraryInfo, ...]:
    """The matrix shipped with this package (generated from @snakepit/compat)."""
    text = resources.files(__package__ or "snakepit_bridge").joinpath(_MATRIX_FILE).read_text("utf-8")
    return parse_matrix(text)


def imported_libraries(
    modules: Mapping[str, object] | None = None,
    matrix: tuple[LibraryInfo, ...] | None = None,
) -> list[LibraryInfo]:
    """Matrix libraries whose top-level module is imported (in ``sys.modules``)."""
    mods = sys.modules if modules is None else modules
    return [entry for entry in (matrix or compat_matrix()) if entry.name in mods]


def installed_version(entry: LibraryInfo, modules: Mapping[str, object] | None = None) -> str | None:
    """The installed version, from package metadata (never importing anything)."""
    mods = sys.modules if modules is None else modules
    if entry.stdlib:
        if entry.name == "sqlite3":  # the matrix judges the linked SQLite library
            version = getattr(mods.get("sqlite3"), "sqlite_version", None)
            return version if isinstance(version, str) else None
        return platform.python_version()
    for dist in (entry.distribution, *entry.alternative_distributions):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
        except Exception:  # a broken distribution's metadata: treat as unknown
            break
    version = getattr(mods.get(entry.name), "__version__", None)
    return version if isinstance(version, str) else None


_VERSION_RE = re.compile(
    r"^v?(\d+(?:\.\d+)*)(?:[-_.]?(dev|alpha|beta|preview|pre|rc|a|b|c|post|rev|r)[-_.]?(\d*))?",
    re.IGNORECASE,
)
_PHASES = {"dev": 0, "a": 1, "alpha": 1, "b": 2, "beta": 2, "c": 3, "rc": 3, "pre": 3}
_PHASES.update({"preview": 3, "": 4, "post": 5, "rev": 5, "r": 5})


def compare_versions(a: str, b: str) -> int | None:
    """Negative, zero or positive like ``a - b``; None when either is not a version.

    The same rules as ``compareVersions`` in @snakepit/compat (release numbers, then
    dev < a < b < rc < final < post; local labels ignored).
    """

    def parse(text: str) -> tuple[tuple[int, ...], int, int] | None:
        match = _VERSION_RE.match(text.strip().split("+")[0])
        if match is None:
            return None
        release = tuple(int(part) for part in match.group(1).split("."))
        label = (match.group(2) or "").lower()
        return release, _PHASES.get(label, 4), int(match.group(3) or 0)

    left, right = parse(a), parse(b)
    if left is None or right is None:
        return None
    length = max(len(left[0]), len(right[0]))
    for i in range(length):
        x = left[0][i] if i < len(left[0]) else 0
        y = right[0][i] if i < len(right[0]) else 0
        if x != y:
            return x - y
    if left[1] != right[1]:
        return left[1] - right[1]
    return left[2] - right[2]


def library_warning(entry: LibraryInfo, threads: int, version: str | None) -> str | None:
    """The warning for one imported library in a worker with ``threads`` tool threads, or None."""
    where = f"{entry.name} is imported in this worker, which runs up to {threads} tool calls at once on threads"
    tail = f" What to do: {entry.workaround} (source: {entry.source})"
    if entry.min_version is not None and version is not None:
        cmp = compare_versions(version, entry.min_version)
        if cmp is not None and cmp < 0:
            return (
                f"{where}; version {version} is older than {entry.min_version}, from which the compat matrix "
                f"classifies it {entry.classification}, so it counts as unsafe: upgrade {entry.distribution} "
                f"or use the process profile.{tail}"
            )
    if entry.classification == "unsafe":
        return f"{where}; the compat matrix classifies it unsafe for the thread profile (prefer the process profile).{tail}"
    if entry.classification == "conditional":
        return f"{where}; the compat matrix classifies it conditional: safe only if you follow its advice.{tail}"
    if entry.min_version is not None and (version is None or compare_versions(version, entry.min_version) is None):
        return (
            f"{where}; the compat matrix classifies it {entry.classification} only from {entry.min_version}, "
            f"and the installed version is {'unknown' if version is None else repr(version)}.{tail}"
        )
    return None


def startup_warnings(threads: int, modules: Mapping[str, object] | None = None) -> list[str]:
    """The handshake's ``warnings``: one per imported matrix library that is not plainly safe.

    Empty with one tool thread (nothing runs concurrently). Call it after the adapter is
    imported and set up, so its imports count.
    """
    if threads <= 1:
        return []
    warnings: list[str] = []
    try:
        imported = imported_libraries(modules)
    except (OSError, ValueError, KeyError, TypeError) as exc:  # a damaged install: say so, start anyway
        return [f"could not read the thread-safety matrix ({_MATRIX_FILE}): {exc}"]
    for entry in imported:
        warning = library_warning(entry, threads, installed_version(entry, modules))
        if warning is not None:
            warnings.append(warning)
    if runtime_info.free_threaded() and runtime_info.gil_enabled():
        culprits = gil_watch.enabled_by()
        why = (
            "importing " + ", ".join(f"'{m}'" for m in culprits) + " (an extension module without "
            "free-threading support) turned it back on"
            if culprits
            else "PYTHON_GIL=1, -X gil=1, or an imported extension module without free-threading support "
            "turned it back on"
        )
        warnings.append(
            f"this is a free-threaded Python build but the GIL is enabled ({why}): the {threads} "
            "tool threads run Python code one at a time and overlap only where code releases the GIL."
        )
    return warnings


# ---- the checker ----------------------------------------------------------------------


class ThreadSafetyError(RuntimeError):
    """Strict mode: a tool of an adapter not declared thread-safe was entered concurrently."""

    def __init__(self, race: Race) -> None:
        super().__init__(race.describe() + f" ({CHECK_ENV}=strict refused the call)")
        self.race = race


@dataclass(frozen=True)
class Race:
    """A thread entered a tool while other threads were inside tools of the same adapter."""

    adapter: str
    method: str
    thread: str
    #: (thread name, method) pairs already running when ``thread`` entered ``method``.
    others: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        running = ", ".join(f"{method!r} on thread {thread}" for thread, method in self.others)
        return (
            f"concurrent calls into {self.adapter}, which is not declared thread-safe: "
            f"{self.method!r} was entered on thread {self.thread} while {running} was running. "
            "Guard its shared state with a lock (or use threading.local) and subclass ThreadSafeAdapter, "
            "or run it on the process profile."
        )


def check_mode(env: Mapping[str, str] | None = None) -> str:
    """The checker's mode from ``SNAKEPIT_THREAD_CHECK``; ValueError on a value it does not know."""
    raw = (os.environ if env is None else env).get(CHECK_ENV, "")
    value = raw.strip().lower()
    if value in ("", "0", "off", "false", "no"):
        return MODE_OFF
    if value in ("1", "on", "true", "yes", MODE_WARN):
        return MODE_WARN
    if value == MODE_STRICT:
        return MODE_STRICT
    raise ValueError(f"{CHECK_ENV} must be 'warn', 'strict' or 'off', got {raw!r}")


class ThreadChecker:
    """Watches one adapter instance's tools for concurrent entry (see the module doc)."""

    def __init__(
        self,
        adapter: object,
        *,
        mode: str = MODE_WARN,
        threads: int = 1,
        modules: Mapping[str, object] | None = None,
    ) -> None:
        if mode not in (MODE_WARN, MODE_STRICT):
            raise ValueError(f"mode must be {MODE_WARN!r} or {MODE_STRICT!r}, got {mode!r}")
        cls = type(adapter)
        self.adapter_name = f"{cls.__module__}.{cls.__qualname__}"
        self.mode = mode
        self.threads = threads
        #: Declared-safe adapters are trusted: only their imports are watched.
        self.watch_races = not bool(getattr(cls, "thread_safe", False))
        self.races: list[Race] = []
        self.race_count = 0
        self._lock = threading.Lock()
        self._inside: dict[int, list[str]] = {}  # thread ident -> methods it is in (nested calls)
        self._thread_names: dict[int, str] = {}
        self._reported: set[tuple[str, frozenset[str]]] = set()
        self._modules = modules
        self._imports_lock = threading.Lock()
        self._modules_seen = -1
        # Libraries already known at start-up are the handshake's business.
        self._known_libraries = {entry.name for entry in imported_libraries(modules)}
        self.library_notices: list[str] = []

    # -- wrapping ------------------------------------------------------------------------

    def instrument(self, adapter: object) -> list[str]:
        """Wrap the tools of ``adapter`` (this instance only); returns the wrapped attributes."""
        return instrument_tools(adapter, self._wrap)

    def _wrap(self, spec: ToolSpec, func: Callable[..., Any]) -> Callable[..., Any]:
        if spec.is_async:
            return func  # async tools share the one event-loop thread
        name = spec.name
        if spec.streaming:

            @functools.wraps(func)
            def stream(*args: Any, **kwargs: Any) -> Iterator[Any]:
                with self.entered(name):
                    gen = func(*args, **kwargs)
                items = iter(gen)
                try:
                    while True:
                        with self.entered(name):
                            try:
                                item = next(items)
                            except StopIteration:
                                return
                        yield item
                finally:
                    close = getattr(gen, "close", None)
                    if close is not None:
                        with self.entered(name, check=False):
                            close()

            return stream

        @functools.wraps(func)
        def call(*args: Any, **kwargs: Any) -> Any:
            with self.entered(name):
                return func(*args, **kwargs)

        return call

    # -- the race check ----------------------------------------------------------------------

    @contextmanager
    def entered(self, method: str, *, check: bool = True) -> Iterator[None]:
        """Mark this thread as inside ``method`` for the duration of the block."""
        me = threading.get_ident()
        race: Race | None = None
        with self._lock:
            if check and self.watch_races:
                others = tuple(
                    (self._thread_names[ident], name)
                    for ident, stack in self._inside.items()
                    if ident != me
                    for name in stack
                )
                if others:
                    race = Race(self.adapter_name, method, threading.current_thread().name, others)
                    self.race_count += 1
                    if len(self.races) < _MAX_RECORDED_RACES:
                        self.races.append(race)
            if race is None or self.mode != MODE_STRICT:
                self._inside.setdefault(me, []).append(method)
                self._thread_names[me] = threading.current_thread().name
        if race is not None:
            self._report(race)
            if self.mode == MODE_STRICT:
                raise ThreadSafetyError(race)
        try:
            yield
        finally:
            with self._lock:
                stack = self._inside.get(me)
                if stack:
                    stack.pop()
                    if not stack:
                        del self._inside[me]
            self.check_new_imports(method)

    def _report(self, race: Race) -> None:
        key = (race.method, frozenset(method for _, method in race.others))
        with self._lock:
            first = key not in self._reported
            self._reported.add(key)
        if first:
            log.warning(
                "thread check: %s (further races of these methods are counted, not logged)",
                race.describe(),
            )

    # -- libraries imported during calls ------------------------------------------------------

    def check_new_imports(self, method: str | None = None) -> list[str]:
        """Warn about matrix libraries imported since the last look; cheap when nothing changed."""
        mods = sys.modules if self._modules is None else self._modules
        size = len(mods)
        if size == self._modules_seen or not self._imports_lock.acquire(blocking=False):
            return []
        try:
            self._modules_seen = size
            found: list[str] = []
            for entry in compat_matrix():
                if entry.name in self._known_libraries or entry.name not in mods:
                    continue
                self._known_libraries.add(entry.name)
                if self.threads <= 1:
                    continue
                warning = library_warning(entry, self.threads, installed_version(entry, mods))
                if warning is None:
                    continue
                during = f" (first seen after a call to {method!r})" if method else ""
                found.append(warning)
                self.library_notices.append(warning)
                log.warning("thread check: %s%s", warning, during)
            return found
        finally:
            self._imports_lock.release()


def install(
    adapter: object, *, threads: int, env: Mapping[str, str] | None = None
) -> ThreadChecker | None:
    """Turn the checker on for ``adapter`` when ``SNAKEPIT_THREAD_CHECK`` asks for it.

    Returns the checker, or None when it is off. ValueError for an unknown mode.
    """
    mode = check_mode(env)
    if mode == MODE_OFF:
        return None
    checker = ThreadChecker(adapter, mode=mode, threads=threads)
    wrapped = checker.instrument(adapter)
    log.info(
        "thread check (%s): watching %d tool(s) of %s%s",
        mode,
        len(wrapped),
        checker.adapter_name,
        "" if checker.watch_races else " for new imports only (declared thread-safe)",
    )
    return checker
