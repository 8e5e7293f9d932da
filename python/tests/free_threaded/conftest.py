"""Tests of the worker on a free-threaded CPython (python/.venv-ft); most also run on a GIL build.

Self-contained, so they also run alone (``pytest --confcutdir tests/free_threaded
tests/free_threaded``): this only puts the fixture adapters on sys.path. Shared helpers
are in ``ft_support.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

FIXTURES_DIR = Path(__file__).parent.parent / "fixtures"
if str(FIXTURES_DIR) not in sys.path:
    sys.path.insert(0, str(FIXTURES_DIR))
