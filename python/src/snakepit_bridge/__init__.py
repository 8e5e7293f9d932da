"""snakepit_bridge: the Python worker side of Snakepit.

Write an :class:`Adapter` subclass, mark methods with :func:`tool`, and run it with
``python -m snakepit_bridge --adapter pkg.mod:MyAdapter --listen unix:/tmp/w.sock``
(normally the Node.js pool does that for you).
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
