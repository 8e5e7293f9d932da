"""The one JSON line that tells the Node parent the worker is ready (or why it is not)."""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any

READY_PREFIX = "SNAKEPIT_READY "

# Why startup failed; the "phase" of a failure handshake.
PHASE_ARGUMENTS = "arguments"
PHASE_IMPORT_ADAPTER = "import_adapter"
PHASE_CREATE_ADAPTER = "create_adapter"
PHASE_SETUP = "setup"
PHASE_BIND = "bind"


def write_handshake(message: dict[str, Any], control_fd: int | None) -> None:
    """Write ``message`` as one JSON line to ``control_fd``, or to stderr with a prefix.

    Never to stdout: stdout belongs to the tools' own output. The control fd is closed
    afterwards so the parent also sees EOF.
    """
    line = json.dumps(message, separators=(",", ":"), ensure_ascii=False) + "\n"
    if control_fd is None:
        sys.stderr.write(READY_PREFIX + line)
        sys.stderr.flush()
        return
    with os.fdopen(control_fd, "w", encoding="utf-8", closefd=True) as control:
        control.write(line)
        control.flush()


def failure_message(
    phase: str, exc: BaseException, *, with_traceback: bool = True
) -> dict[str, Any]:
    tb = traceback.format_exception(type(exc), exc, exc.__traceback__) if with_traceback else []
    error: dict[str, Any] = {
        "phase": phase,
        "type": type(exc).__name__,
        "message": str(exc),
        "traceback": "".join(tb),
    }
    if isinstance(exc, ModuleNotFoundError):
        # Where the import looked, so the pool's error can name the directories.
        if exc.name:
            error["module"] = exc.name
        error["sys_path"] = list(sys.path)
    return {"ready": False, "error": error}
