"""The worker's error codes come from the one list that Node shares."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from snakepit_bridge import errors

SOURCE = Path(__file__).resolve().parents[2] / "proto" / "snakepit" / "worker" / "v1" / "error_codes.json"


@pytest.fixture(scope="module")
def sent_by_worker() -> list[str]:
    if not SOURCE.exists():
        pytest.skip("runs from the repository, beside proto/")
    codes = json.loads(SOURCE.read_text(encoding="utf-8"))["codes"]
    return [c["code"] for c in codes if c["sentByWorker"]]


def test_the_worker_sends_exactly_the_codes_the_list_marks_as_sent(sent_by_worker: list[str]) -> None:
    assert list(errors.WORKER_ERROR_CODES) == sent_by_worker


def test_each_code_has_its_constant_under_its_own_name(sent_by_worker: list[str]) -> None:
    for code in sent_by_worker:
        assert getattr(errors, code.upper()) == code
