"""The work behind bench/matrix.mjs and bench/http-service.mjs, shared by every back end.

Plain numpy and scikit-learn, no snakepit_bridge: the pool's adapter (bench_tools.py),
the JSON-lines process (http/pipe_server.py) and the FastAPI app (http/fastapi_app.py)
all call these same functions, so only the way the call travels differs.

- ``score_matrix(rows)``: rows of 64 floats in, one float per row out (a fixed linear
  scorer: ``rows @ w + b``, w drawn from a seeded generator).
- ``predict(rows)``: rows of 64 floats (8x8 digit images scaled to 0..1) in, the class
  each is predicted to be out, from a ``LogisticRegression`` trained on
  ``sklearn.datasets.load_digits`` (shipped with scikit-learn, no download) at load.

``python bench_model.py rows N`` prints N digit rows as JSON (the HTTP bodies).
"""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np

FEATURES = 64
_weights = np.random.default_rng(7).standard_normal(FEATURES)
_model = None


def load_model():
    """Train the digits classifier (about a second); later calls return the same model."""
    global _model
    if _model is None:
        from sklearn.datasets import load_digits
        from sklearn.linear_model import LogisticRegression

        digits = load_digits()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # lbfgs may stop at max_iter; the model is good enough
            _model = LogisticRegression(max_iter=500).fit(digits.data / 16.0, digits.target)
    return _model


def score_matrix(rows: list[list[float]]) -> list[float]:
    x = np.asarray(rows, dtype=np.float64)
    return (x @ _weights + 0.5).tolist()


def predict(rows: list[list[float]]) -> list[int]:
    return load_model().predict(np.asarray(rows, dtype=np.float64)).tolist()


def digit_rows(n: int) -> list[list[float]]:
    from sklearn.datasets import load_digits

    data = load_digits().data / 16.0
    return [data[i % len(data)].tolist() for i in range(n)]


if __name__ == "__main__":
    if sys.argv[1:2] == ["rows"]:
        print(json.dumps(digit_rows(int(sys.argv[2]))))
