"""The pool's side of bench/matrix.mjs and bench/http-service.mjs.

Workers load it with ``python.env.PYTHONPATH`` set to ``bench/`` and the adapter
``bench_tools:BenchAdapter``; the model is trained in ``setup()``, before the worker
reports ready, as a real service loads its model.
"""

from __future__ import annotations

import bench_model
from snakepit_bridge import Adapter, tool


class BenchAdapter(Adapter):
    def setup(self) -> None:
        bench_model.load_model()

    @tool
    def noop(self) -> None:
        """Do nothing."""
        return None

    @tool
    def score_matrix(self, rows: list[list[float]]) -> list[float]:
        """One score per row of 64 floats."""
        return bench_model.score_matrix(rows)

    @tool
    def predict(self, rows: list[list[float]]) -> list[int]:
        """The digit each row of 64 pixels (0..1) shows, by the sklearn model."""
        return bench_model.predict(rows)
