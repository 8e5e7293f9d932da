"""The watch that names the extension module which turned the GIL back on."""

from __future__ import annotations

import warnings

import pytest

from snakepit_bridge import gil_watch, runtime_info

MESSAGE = (
    "The global interpreter lock (GIL) has been enabled to load module 'some_ext', which has not "
    "declared that it can run safely without the GIL."
)


@pytest.mark.skipif(not runtime_info.free_threaded(), reason="the watch only runs on a free-threaded build")
def test_records_the_module_named_by_cpythons_warning_and_still_shows_it(capsys: pytest.CaptureFixture[str]) -> None:
    gil_watch.install()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn_explicit(MESSAGE, RuntimeWarning, "x.py", 1)
        warnings.warn_explicit("an unrelated warning", RuntimeWarning, "x.py", 2)
    assert "some_ext" in gil_watch.enabled_by()
    assert len([m for m in gil_watch.enabled_by() if m == "some_ext"]) == 1


def test_is_a_no_op_on_a_gil_build() -> None:
    if runtime_info.free_threaded():
        pytest.skip("a GIL build only")
    gil_watch.install()
    warnings.warn_explicit(MESSAGE, RuntimeWarning, "x.py", 1)
    assert gil_watch.enabled_by() == []
