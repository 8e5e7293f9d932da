"""One timer thread that cancels calls whose deadline passes (instead of a thread per call)."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("snakepit_bridge")


class DeadlineTimer:
    """Runs callbacks at absolute Unix times on a single daemon thread."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._live: set[int] = set()
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def schedule(self, when: float, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` at Unix time ``when``; returns a function that unschedules it."""
        key = next(self._counter)
        with self._cond:
            heapq.heappush(self._heap, (when, key, callback))
            self._live.add(key)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="snakepit-deadlines", daemon=True
                )
                self._thread.start()
            self._cond.notify()

        def unschedule() -> None:
            with self._cond:
                self._live.discard(key)

        return unschedule

    def close(self) -> None:
        """Stop the timer thread; pending callbacks are dropped."""
        with self._cond:
            self._closed = True
            self._heap.clear()
            self._live.clear()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._closed:
                        return
                    while self._heap and self._heap[0][1] not in self._live:
                        heapq.heappop(self._heap)
                    if not self._heap:
                        self._cond.wait()
                        continue
                    delay = self._heap[0][0] - time.time()
                    if delay <= 0:
                        _, key, callback = heapq.heappop(self._heap)
                        self._live.discard(key)
                        break
                    self._cond.wait(delay)
            try:
                callback()
            except Exception:  # a failing callback must not stop the timer thread
                log.exception("deadline callback failed")
