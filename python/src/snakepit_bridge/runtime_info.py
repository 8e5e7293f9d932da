"""Facts about this interpreter, reported by the handshake and Describe."""

from __future__ import annotations

import platform
import sys
import sysconfig
import time

# Imported at interpreter start-up by `python -m snakepit_bridge`: close to process start.
_STARTED_AT = time.monotonic()


def uptime_seconds() -> float:
    return time.monotonic() - _STARTED_AT


def python_version() -> str:
    return platform.python_version()


def implementation() -> str:
    return platform.python_implementation()


def free_threaded() -> bool:
    """The interpreter was built without the GIL (PEP 703, ``python3.13t``)."""
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def gil_enabled() -> bool:
    """Whether the GIL is on right now (a free-threaded build can re-enable it)."""
    is_enabled = getattr(sys, "_is_gil_enabled", None)
    return bool(is_enabled()) if is_enabled is not None else True
