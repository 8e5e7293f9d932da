"""Exit promptly when the Node parent goes away, so no worker outlives its pool."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import stat
import sys
import threading
from collections.abc import Callable

log = logging.getLogger("snakepit_bridge")

_PR_SET_PDEATHSIG = 1
# How long a best-effort server stop may delay the exit once the parent is gone.
_STOP_BUDGET_S = 0.05


class ParentWatch:
    """Reads ``fd`` on a daemon thread; EOF means the parent died or closed it: exit(0)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._before_exit: Callable[[], None] | None = None

    def set_before_exit(self, callback: Callable[[], None]) -> None:
        """A quick cleanup to attempt (bounded to a few ms) before exiting."""
        self._before_exit = callback

    def start(self) -> bool:
        """Start watching; False when ``fd`` is not a pipe or socket (nothing to watch)."""
        try:
            mode = os.fstat(self.fd).st_mode
        except OSError:
            log.info("parent watch disabled: fd %d is not open", self.fd)
            return False
        # /dev/null or a terminal never signal the parent's death; watching them would
        # exit at once (EOF) or swallow keyboard input.
        if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
            log.info("parent watch disabled: fd %d is not a pipe or socket", self.fd)
            return False
        threading.Thread(target=self._run, name="snakepit-parent-watch", daemon=True).start()
        return True

    def _run(self) -> None:
        # os.read, not sys.stdin.buffer.read: a thread blocked in a buffered read can
        # abort the interpreter at shutdown.
        while True:
            try:
                data = os.read(self.fd, 4096)
            except InterruptedError:
                continue
            except OSError:
                break
            if not data:
                break
        self._exit()

    def _exit(self) -> None:
        callback = self._before_exit
        if callback is not None:
            stopper = threading.Thread(target=callback, daemon=True)
            stopper.start()
            stopper.join(_STOP_BUDGET_S)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(0)


def set_parent_death_signal() -> None:
    """Linux: have the kernel SIGKILL us if the parent dies (a second guard; best effort)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except Exception:
        pass
