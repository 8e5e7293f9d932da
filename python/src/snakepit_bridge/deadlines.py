"""One timer thread that cancels calls whose deadline passes (instead of a thread per call)."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("snakepit_bridge")

_TICK_S = 0.5


class DeadlineTimer:
    """Runs callbacks at absolute Unix times on a single daemon thread."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._live: set[int] = set()
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        # When the timer thread wakes next at the latest (it never sleeps longer than _TICK_S).
        self._next_wake = 0.0

    def schedule(self, when: float, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` at Unix time ``when``; returns a function that unschedules it."""
        key = next(self._counter)
        with self._cond:
            heap = self._heap
            if len(heap) > 1024 and len(heap) > 4 * len(self._live):
                # Unscheduled entries stay in the heap until they surface; drop them in bulk.
                heap[:] = [e for e in heap if e[1] in self._live]
                heapq.heapify(heap)
            heapq.heappush(heap, (when, key, callback))
            self._live.add(key)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="snakepit-deadlines", daemon=True
                )
                self._thread.start()
            # Wake the timer thread only when it must act before it wakes anyway:
            # waking it for every call would cost a thread switch (and the GIL) per call.
            if when < self._next_wake:
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
                    now = time.time()
                    if self._heap and self._heap[0][0] <= now:
                        _, key, callback = heapq.heappop(self._heap)
                        self._live.discard(key)
                        break
                    # Sleep until the next deadline, but at most a tick: then a new,
                    # later deadline never needs to wake us (see schedule()).
                    wake = min(self._heap[0][0], now + _TICK_S) if self._heap else now + _TICK_S
                    self._next_wake = wake
                    self._cond.wait(wake - now)
            try:
                callback()
            except Exception:  # a failing callback must not stop the timer thread
                log.exception("deadline callback failed")
