"""The build and the GIL as the worker reports them, and an extension that turns the GIL back on."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from ft_support import FREE_THREADED_BUILD, child_env, free_threaded_only, gil_enabled
from snakepit_fixtures.free_threaded import GIL_EXTENSION, build_gil_extension

from snakepit_bridge import runtime_info, thread_safety


def test_runtime_info_reports_the_real_build_flag_and_gil_state() -> None:
    assert runtime_info.free_threaded() is (sysconfig.get_config_var("Py_GIL_DISABLED") == 1)
    assert runtime_info.gil_enabled() is gil_enabled()
    if not FREE_THREADED_BUILD:
        assert runtime_info.gil_enabled() is True


@free_threaded_only
def test_a_free_threaded_build_runs_this_suite_with_the_gil_off() -> None:
    # If an import of this suite (pytest's plugins, protobuf, opentelemetry) had turned
    # the GIL back on, every parallelism test below would prove nothing.
    assert runtime_info.free_threaded() is True
    assert runtime_info.gil_enabled() is False
    assert not any("GIL is enabled" in w for w in thread_safety.startup_warnings(4))


_IMPORT_SCRIPT = r"""
import json, sys
from snakepit_bridge import runtime_info, thread_safety
directory, name = sys.argv[1], sys.argv[2]
before = runtime_info.gil_enabled()
sys.path.insert(0, directory)
module = __import__(name)
print(json.dumps({
    "before": before,
    "after": runtime_info.gil_enabled(),
    "free_threaded": runtime_info.free_threaded(),
    "answer": module.answer(),
    "warnings": thread_safety.startup_warnings(2),
}))
"""


def _import_in_child(directory: Path, name: str, *extra_args: str) -> tuple[dict[str, object], str]:
    done = subprocess.run(
        [sys.executable, *extra_args, "-c", _IMPORT_SCRIPT, str(directory), name],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


@free_threaded_only
def test_importing_an_extension_without_free_threading_support_turns_the_gil_on(tmp_path: Path) -> None:
    # In a child: the GIL, once on, stays on for the rest of the process.
    build_gil_extension(tmp_path, GIL_EXTENSION)
    seen, stderr = _import_in_child(tmp_path, GIL_EXTENSION)
    assert seen["free_threaded"] is True
    assert seen["before"] is False
    assert seen["after"] is True
    assert seen["answer"] == 42
    # CPython names the module in its RuntimeWarning...
    assert "RuntimeWarning" in stderr
    assert f"The global interpreter lock (GIL) has been enabled to load module '{GIL_EXTENSION}'" in stderr
    # ...and the worker's start-up check sees the GIL on.
    warnings = seen["warnings"]
    assert isinstance(warnings, list)
    assert any("free-threaded Python build but the GIL is enabled" in w for w in warnings), warnings


@free_threaded_only
def test_pythongil_0_keeps_the_gil_off_for_that_extension(tmp_path: Path) -> None:
    build_gil_extension(tmp_path, "snakepit_gil_ext_forced")
    seen, stderr = _import_in_child(tmp_path, "snakepit_gil_ext_forced", "-X", "gil=0")
    assert seen["before"] is False and seen["after"] is False
    assert "has been enabled to load module" not in stderr
    assert not any("GIL is enabled" in w for w in seen["warnings"])  # type: ignore[union-attr]


@free_threaded_only
def test_with_x_gil_1_the_gil_is_on_from_the_start_and_the_start_up_check_says_so(tmp_path: Path) -> None:
    build_gil_extension(tmp_path, "snakepit_gil_ext_x1")
    seen, stderr = _import_in_child(tmp_path, "snakepit_gil_ext_x1", "-X", "gil=1")
    assert seen["before"] is True and seen["after"] is True
    assert "has been enabled to load module" not in stderr  # it was never off
    assert any("GIL is enabled (PYTHON_GIL=1, -X gil=1" in w for w in seen["warnings"])  # type: ignore[union-attr]


@pytest.mark.skipif(FREE_THREADED_BUILD, reason="on a free-threaded build this import turns the GIL on (tested above)")
def test_on_a_gil_build_the_same_extension_imports_quietly(tmp_path: Path) -> None:
    build_gil_extension(tmp_path, "snakepit_gil_ext_g")
    seen, stderr = _import_in_child(tmp_path, "snakepit_gil_ext_g")
    assert seen["free_threaded"] is False
    assert seen["before"] is True and seen["after"] is True
    assert "has been enabled to load module" not in stderr
    assert seen["warnings"] == []
