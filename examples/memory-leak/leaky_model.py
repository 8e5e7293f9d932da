"""A model server with a classic leak: a cache that is never evicted.

Each prediction keeps its input features alive (about `size_mb` MiB), so the
worker's memory grows with every call until lifecycle replaces it.
"""

from __future__ import annotations

import os
import time
from typing import Any

from snakepit_bridge import Adapter, tool

MIB = 1024 * 1024


class LeakyModel(Adapter):
    def setup(self) -> None:
        self.cache: list[bytearray] = []  # the bug: nothing ever leaves it

    @tool
    def predict(self, size_mb: int = 8) -> dict[str, Any]:
        """Pretend to predict; caches `size_mb` MiB of "features" forever."""
        features = bytearray(size_mb * MIB)
        for offset in range(0, len(features), 4096):
            features[offset] = 1  # touch every page so it is really resident
        self.cache.append(features)
        time.sleep(0.04)  # the "inference"
        return {"pid": os.getpid(), "cached_mb": sum(len(f) for f in self.cache) // MIB}
