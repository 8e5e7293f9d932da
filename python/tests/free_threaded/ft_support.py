"""Helpers for the free-threaded tests: build facts, markers, and CPU-over-wall measurements."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

FIXTURES_DIR = Path(__file__).parent.parent / "fixtures"

#: This interpreter was built with --disable-gil (python3.13t).
FREE_THREADED_BUILD = sysconfig.get_config_var("Py_GIL_DISABLED") == 1

#: PYTHON_GIL=1 asks for the GIL whatever the build.
GIL_FORCED = os.environ.get("PYTHON_GIL", "") == "1"

free_threaded_only = pytest.mark.skipif(
    not FREE_THREADED_BUILD or GIL_FORCED,
    reason="needs a free-threaded build with the GIL off (python/.venv-ft; see docs/free-threading.md)",
)


def gil_enabled() -> bool:
    is_enabled = getattr(sys, "_is_gil_enabled", None)
    return bool(is_enabled()) if is_enabled is not None else True


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child interpreter: fixture adapters and snakepit_bridge importable."""
    env = dict(os.environ)
    import snakepit_bridge

    paths = [str(FIXTURES_DIR), str(Path(snakepit_bridge.__file__).resolve().parent.parent)]
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("PYTHON_GIL", None)
    env.update(extra)
    return env


# Runs N pure-Python loops at once, on threads or on processes, and prints how many
# cores they used: the CPU seconds of the process (or of its children) over the wall
# seconds of the whole run.
_CPU_SCRIPT = r"""
import json, os, resource, subprocess, sys, threading, time
from snakepit_fixtures.free_threaded import burn
how, n, iterations = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if how == "one":
    burn(iterations)
    sys.exit(0)
if how == "threads":
    barrier = threading.Barrier(n + 1)
    def work():
        barrier.wait()
        burn(iterations)
    threads = [threading.Thread(target=work) for _ in range(n)]
    for t in threads:
        t.start()
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    barrier.wait()
    for t in threads:
        t.join()
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
else:
    usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", "import sys; from snakepit_fixtures.free_threaded import burn; burn(int(sys.argv[1]))", str(iterations)]) for _ in range(n)]
    for p in procs:
        p.wait()
    wall = time.perf_counter() - wall0
    usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (usage1.ru_utime + usage1.ru_stime) - (usage0.ru_utime + usage0.ru_stime)
gil = getattr(sys, "_is_gil_enabled", lambda: True)()
print(json.dumps({"cores": cpu / wall, "cpu": cpu, "wall": wall, "gil_enabled": gil}))
"""


def cores_used(how: str, n: int, iterations: int, *, gil: bool | None = None) -> dict[str, float]:
    """Run ``n`` pure-Python loops on ``how`` ("threads" or "processes") in a child interpreter.

    ``gil`` True/False passes ``-X gil=1/0`` (free-threaded builds only).
    """
    args = [sys.executable]
    if gil is not None:
        args += ["-X", f"gil={1 if gil else 0}"]
    done = subprocess.run(
        [*args, "-c", _CPU_SCRIPT, how, str(n), str(iterations)],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def median(values: list[float]) -> float:
    return statistics.median(values)
