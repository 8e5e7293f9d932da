"""snakepit_bridge: the Python worker side of Snakepit.

Write an :class:`Adapter` subclass and mark methods with :func:`tool`. A Node.js pool
spawns the worker itself (``python -m snakepit_bridge --adapter pkg.mod:MyAdapter
--data-fd 4 --control-lane-fd 5``); for pools on other hosts, run
``python -m snakepit_bridge serve --adapter pkg.mod:MyAdapter --listen 0.0.0.0:50051``.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .adapter import Adapter, ThreadSafeAdapter
from .call_context import CallContext, current_call
from .errors import CancelledError
from .tool import tool

__all__ = [
    "Adapter",
    "CallContext",
    "CancelledError",
    "ThreadSafeAdapter",
    "__version__",
    "current_call",
    "tool",
]
