"""Cheap memory readings of this process for Health (no third-party deps)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class MemoryUsage:
    rss_bytes: int
    pss_bytes: int = 0
    uss_bytes: int = 0


def read_memory() -> MemoryUsage:
    """RSS/PSS/USS from /proc/self/smaps_rollup on Linux; RSS only elsewhere."""
    usage = _from_smaps_rollup()
    if usage is not None:
        return usage
    rss = _rss_from_statm()
    if rss is not None:
        return MemoryUsage(rss_bytes=rss)
    return MemoryUsage(rss_bytes=_rss_from_rusage())


def _from_smaps_rollup() -> MemoryUsage | None:
    try:
        with open("/proc/self/smaps_rollup", "rb") as f:
            text = f.read().decode("ascii", "replace")
    except OSError:
        return None
    fields: dict[str, int] = {}
    for line in text.splitlines():
        name, sep, rest = line.partition(":")
        if not sep:
            continue
        parts = rest.split()
        if len(parts) == 2 and parts[1] == "kB" and parts[0].isdigit():
            fields[name] = int(parts[0]) * 1024
    if "Rss" not in fields:
        return None
    return MemoryUsage(
        rss_bytes=fields["Rss"],
        pss_bytes=fields.get("Pss", 0),
        uss_bytes=fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0),
    )


def _rss_from_statm() -> int | None:
    try:
        with open("/proc/self/statm", "rb") as f:
            resident_pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def _rss_from_rusage() -> int:
    # Peak rather than current RSS, but the best the platform offers without psutil.
    try:
        import resource
    except ImportError:  # Windows
        return 0
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return maxrss if sys.platform == "darwin" else maxrss * 1024
