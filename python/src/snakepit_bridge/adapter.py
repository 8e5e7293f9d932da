"""The ``Adapter`` base class and loading an adapter class from a ``module:Class`` spec."""

from __future__ import annotations

import importlib
import re
from typing import ClassVar

_SPEC_RE = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")


class Adapter:
    """Base class for a worker's tools. Subclass it and mark methods with ``@tool``.

    One instance lives for the whole life of the worker process. With ``--threads N``
    (the thread profile) that one instance is shared by all N tool threads: its
    attributes are shared state. See docs/thread-safe-adapters.md.
    """

    #: True when tools may run concurrently on several threads of one worker. The thread
    #: profile refuses an adapter that does not say so (unless allowUnsafeAdapters), and
    #: the thread-safety checker (``SNAKEPIT_THREAD_CHECK``) watches those that do not.
    thread_safe: ClassVar[bool] = False

    def setup(self) -> None:
        """Called once after construction, before the worker reports ready (load models here)."""

    def teardown(self) -> None:
        """Called once on graceful shutdown (drain, SIGTERM)."""


class ThreadSafeAdapter(Adapter):
    """An adapter whose tools may run concurrently in one worker (``--threads > 1``).

    Subclassing it is a promise: shared state is read-only after ``setup()``, kept per
    thread (``threading.local``), or guarded by a lock. ``snakepit_bridge.adapters.
    threaded_showcase`` shows the three patterns.
    """

    thread_safe: ClassVar[bool] = True


def resolve_adapter_class(spec: str) -> type[Adapter]:
    """Import ``package.module:ClassName`` and check it is an ``Adapter`` subclass.

    Raises ValueError (bad spec), the import's own error, AttributeError (no such class)
    or TypeError (not an Adapter subclass).
    """
    if not _SPEC_RE.match(spec):
        raise ValueError(f"--adapter must look like 'package.module:ClassName', got {spec!r}")
    module_name, _, qualname = spec.partition(":")
    module = importlib.import_module(module_name)
    obj: object = module
    for part in qualname.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise AttributeError(
                f"module {module_name!r} has no attribute {qualname!r} (from --adapter {spec!r})"
            ) from None
    if not (isinstance(obj, type) and issubclass(obj, Adapter)):
        raise TypeError(
            f"{spec} is not a subclass of snakepit_bridge.Adapter "
            f"(got {obj!r}); declare it as 'class {qualname.rsplit('.', 1)[-1]}(Adapter)'"
        )
    return obj
