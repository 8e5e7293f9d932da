"""A scikit-learn model served on arrays: the adapter of examples/sklearn-ndarray.

The model (a logistic regression on scikit-learn's bundled 8 x 8 digits, no download)
is trained in ``setup()``, before the worker reports ready, as a real service loads
its model. Its tools take and return numpy arrays; in Node they are ``NDArray``s.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from snakepit_bridge import Adapter, tool


class DigitsModel(Adapter):
    def setup(self) -> None:
        digits = load_digits()
        x = (digits.data / 16.0).astype(np.float32)  # pixels scaled to 0..1
        x_train, self.x_test, y_train, self.y_test = train_test_split(
            x, digits.target, test_size=0.25, random_state=0
        )
        self.model = LogisticRegression(max_iter=1000).fit(x_train, y_train)

    @tool
    def held_out(self, n: int) -> dict[str, np.ndarray]:
        """`n` rows of the test split: pixels (n x 64 float32) and their labels (int64)."""
        return {"x": self.x_test[:n], "y": self.y_test[:n].astype(np.int64)}

    @tool
    def predict(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """The digit each row of 64 pixels shows, and the probability of each of the 10 digits."""
        if x.ndim != 2 or x.shape[1] != 64:
            raise ValueError(f"expected an (n, 64) array of pixels, got shape {x.shape}")
        proba = self.model.predict_proba(x).astype(np.float32)
        return {"label": proba.argmax(axis=1).astype(np.int64), "proba": proba}
