"""On a free-threaded build, remember which imported extension turned the GIL back on.

CPython 3.13t re-enables the GIL when it loads an extension module that does not
declare free-threading support, and says so once with a RuntimeWarning naming
the module. The worker installs this watch before it imports the adapter, so its
start-up warning can name the culprit instead of guessing.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from . import runtime_info

_ENABLED_FOR = re.compile(r"The global interpreter lock \(GIL\) has been enabled to load module '([^']+)'")
_modules: list[str] = []
_installed = False


def install() -> None:
    """Watch RuntimeWarnings for the GIL being re-enabled (a no-op on GIL builds)."""
    global _installed
    if _installed or not runtime_info.free_threaded():
        return
    _installed = True
    shown = warnings.showwarning

    def showwarning(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        found = _ENABLED_FOR.search(str(message))
        if found and found.group(1) not in _modules:
            _modules.append(found.group(1))
        shown(message, category, filename, lineno, file, line)  # still shown as before

    warnings.showwarning = showwarning


def enabled_by() -> list[str]:
    """Modules whose import turned the GIL back on, in import order (empty when unknown)."""
    return list(_modules)
