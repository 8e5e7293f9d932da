"""Workloads shared by the demo adapters: a cancellable wait and a GIL-bound loop."""

from __future__ import annotations

import time

from ..call_context import current_call
from ..errors import CancelledError


def cancellable_sleep(seconds: float) -> float:
    """Wait ``seconds``, ending early with CancelledError if the call is cancelled.

    Returns the seconds actually waited.
    """
    call = current_call()
    started = time.monotonic()
    if call.cancel_event.wait(max(0.0, seconds)):
        call.check()
        raise CancelledError("sleep was cancelled")
    return time.monotonic() - started


def burn(n: int) -> int:
    """A pure-Python loop of ``n`` iterations (holds the GIL); returns a checksum."""
    checksum = 0
    for i in range(n):
        checksum = (checksum * 31 + i) & 0xFFFFFFFF
    return checksum
