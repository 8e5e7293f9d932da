"""The worker's thread-safety check: the compat matrix at start-up and the opt-in checker."""

from __future__ import annotations

import json
import logging
import sys
import sysconfig
import threading
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from serving import LanesFactory
from helpers import chunk_value, request, result_of, spawn_worker

from snakepit_bridge import Adapter, ThreadSafeAdapter, runtime_info, thread_safety, tool
from snakepit_bridge._proto import worker_pb2
from snakepit_bridge.thread_safety import (
    LibraryInfo,
    ThreadChecker,
    ThreadSafetyError,
    compare_versions,
    library_warning,
    startup_warnings,
)
from snakepit_fixtures.thread_check import RacyCounter

REPO = Path(__file__).resolve().parents[2]


def entry(**overrides: Any) -> LibraryInfo:
    row: dict[str, Any] = dict(
        name="lib",
        distribution="lib",
        alternative_distributions=(),
        stdlib=False,
        classification="safe",
        min_version=None,
        releases_gil=True,
        notes="n",
        workaround="do the thing",
        source="https://example.org/docs",
    )
    row.update(overrides)
    return LibraryInfo(**row)


class Gate(Adapter):
    """Not thread-safe; `hold` stays inside until released, so a race is certain."""

    def __init__(self) -> None:
        self.inside = threading.Event()
        self.release = threading.Event()

    @tool
    def hold(self) -> str:
        self.inside.set()
        assert self.release.wait(5)
        return "held"

    @tool
    def quick(self) -> str:
        return "quick"

    @tool
    async def later(self) -> int:
        return 1


# ---- the matrix -------------------------------------------------------------------------


def test_the_matrix_ships_with_the_package_and_matches_compat() -> None:
    matrix = thread_safety.compat_matrix()
    by_name = {e.name: e for e in matrix}
    assert len(matrix) >= 25
    assert by_name["sqlite3"].classification == "conditional" and by_name["sqlite3"].stdlib
    assert by_name["matplotlib"].classification == "unsafe"
    assert by_name["numpy"].classification == "safe"
    assert by_name["xgboost"].min_version == "1.4.0"
    assert by_name["sklearn"].distribution == "scikit-learn"
    # The installed copy is the generated file in the source tree (packages/compat writes it).
    generated = REPO / "python/src/snakepit_bridge/compat_matrix.json"
    assert thread_safety.parse_matrix(generated.read_text("utf-8")) == matrix
    assert json.loads(generated.read_text("utf-8"))["generated_from"] == "packages/compat/src/matrix.ts"


def test_parse_matrix_refuses_another_format() -> None:
    with pytest.raises(ValueError, match="format"):
        thread_safety.parse_matrix('{"format": 99, "libraries": []}')


@pytest.mark.parametrize(
    ("a", "b", "sign"),
    [
        ("1.4.0", "1.4", 0),
        ("1.3.2", "1.4.0", -1),
        ("2.10.2", "2.5", 1),
        ("1.4.0rc1", "1.4.0", -1),
        ("1.4.0.post1", "1.4.0", 1),
        ("1.4.0.dev3", "1.4.0a1", -1),
        ("2.0+cpu", "2.0", 0),
    ],
)
def test_compare_versions_like_compat(a: str, b: str, sign: int) -> None:
    result = compare_versions(a, b)
    assert result is not None
    assert (result > 0) - (result < 0) == sign


def test_compare_versions_unknown() -> None:
    assert compare_versions("unknown", "1.0") is None


def test_library_warnings_by_classification() -> None:
    assert library_warning(entry(), 4, "1.0") is None
    conditional = library_warning(entry(classification="conditional"), 4, None)
    assert conditional is not None and "conditional" in conditional and "do the thing" in conditional
    assert "up to 4 tool calls" in conditional and "https://example.org/docs" in conditional
    unsafe = library_warning(entry(classification="unsafe"), 2, None)
    assert unsafe is not None and "unsafe" in unsafe and "process profile" in unsafe
    old = library_warning(entry(min_version="1.4.0"), 4, "1.3.9")
    assert old is not None and "older than 1.4.0" in old and "counts as unsafe" in old
    unchecked = library_warning(entry(min_version="1.4.0"), 4, None)
    assert unchecked is not None and "installed version is unknown" in unchecked
    assert library_warning(entry(min_version="1.4.0"), 4, "1.5") is None


def test_startup_warnings_name_imported_flagged_libraries_only() -> None:
    modules = {
        "sqlite3": types.SimpleNamespace(sqlite_version="3.45.1"),
        "matplotlib": object(),
        "numpy": object(),
        "snakepit_bridge": object(),
    }
    warnings = startup_warnings(4, modules)
    assert len(warnings) == 2
    assert any(w.startswith("matplotlib is imported") and "unsafe" in w for w in warnings)
    assert any(w.startswith("sqlite3 is imported") and "conditional" in w for w in warnings)
    assert startup_warnings(1, modules) == []  # one tool thread: nothing runs concurrently
    assert startup_warnings(4, {"numpy": object(), "grpc": object()}) == []


def test_a_free_threaded_build_with_the_gil_back_on_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime_info, "free_threaded", lambda: True)
    monkeypatch.setattr(runtime_info, "gil_enabled", lambda: True)
    [warning] = startup_warnings(4, {})
    assert "GIL is enabled" in warning
    monkeypatch.setattr(runtime_info, "gil_enabled", lambda: False)
    assert startup_warnings(4, {}) == []


@pytest.mark.parametrize(
    ("value", "mode"),
    [("", "off"), ("off", "off"), ("0", "off"), ("warn", "warn"), ("1", "warn"), ("STRICT", "strict")],
)
def test_check_mode(value: str, mode: str) -> None:
    assert thread_safety.check_mode({thread_safety.CHECK_ENV: value}) == mode


def test_check_mode_refuses_unknown_values() -> None:
    with pytest.raises(ValueError, match="SNAKEPIT_THREAD_CHECK must be"):
        thread_safety.check_mode({thread_safety.CHECK_ENV: "stict"})


# ---- the checker, in process --------------------------------------------------------------


def test_instrumenting_wraps_this_instance_only() -> None:
    adapter = Gate()
    checker = ThreadChecker(adapter, mode="warn", threads=4)
    wrapped = checker.instrument(adapter)
    assert sorted(wrapped) == ["hold", "quick"]  # the async tool is left alone
    assert "quick" in vars(adapter) and "later" not in vars(adapter)
    assert Gate().quick() == "quick"  # the class is untouched
    assert adapter.quick() == "quick"


def test_install_is_off_unless_asked() -> None:
    adapter = Gate()
    assert thread_safety.install(adapter, threads=4, env={}) is None
    assert "quick" not in vars(adapter)
    checker = thread_safety.install(adapter, threads=4, env={"SNAKEPIT_THREAD_CHECK": "strict"})
    assert checker is not None and checker.mode == "strict" and "quick" in vars(adapter)


def test_warn_mode_reports_a_concurrent_entry(lanes: LanesFactory, caplog: pytest.LogCaptureFixture) -> None:
    adapter = Gate()
    checker = ThreadChecker(adapter, mode="warn", threads=2)
    checker.instrument(adapter)
    stub = lanes(adapter, spec="tests:Gate", threads=2).client
    first = stub.execute_async(request("hold", call_id="a"))
    try:
        assert adapter.inside.wait(5)
        with caplog.at_level(logging.WARNING, logger="snakepit_bridge"):
            assert result_of(stub.execute(request("quick", call_id="b"), timeout=5)) == "quick"
    finally:
        adapter.release.set()
    assert result_of(first.result(timeout=5)) == "held"
    [race] = checker.races
    assert race.adapter.endswith("Gate") and race.method == "quick"
    assert [method for _, method in race.others] == ["hold"]
    assert race.thread != race.others[0][0]
    logged = [r.getMessage() for r in caplog.records if "thread check" in r.getMessage()]
    assert len(logged) == 1
    assert "'quick' was entered on thread" in logged[0] and "'hold' on thread" in logged[0]


def test_strict_mode_fails_the_racing_call_with_a_python_error(lanes: LanesFactory) -> None:
    adapter = Gate()
    ThreadChecker(adapter, mode="strict", threads=2).instrument(adapter)
    stub = lanes(adapter, spec="tests:Gate", threads=2).client
    first = stub.execute_async(request("hold", call_id="a"))
    try:
        assert adapter.inside.wait(5)
        response = stub.execute(request("quick", call_id="b"), timeout=5)
    finally:
        adapter.release.set()
    assert result_of(first.result(timeout=5)) == "held"  # the call already inside goes on
    assert response.WhichOneof("outcome") == "error"
    error = response.error
    assert error.code == "python_error"
    assert error.python_type == "snakepit_bridge.thread_safety.ThreadSafetyError"
    assert "Gate" in error.message and "'quick'" in error.message and "'hold'" in error.message
    assert "snakepit-local" in error.message  # names the threads
    assert "SNAKEPIT_THREAD_CHECK=strict" in error.message
    # Alone again, the same call is fine.
    assert result_of(stub.execute(request("quick", call_id="c"), timeout=5)) == "quick"


def hammer(stub: Any, tool_name: str, *, threads: int = 4, calls: int = 6, **args: Any) -> list[Any]:
    """`threads` client threads each making `calls` calls of `tool_name` at once."""
    start = threading.Barrier(threads)

    def client(n: int) -> list[Any]:
        start.wait()
        return [stub.execute(request(tool_name, call_id=f"{n}-{i}", **args), timeout=10) for i in range(calls)]

    with ThreadPoolExecutor(threads) as pool:
        return [r for rs in pool.map(client, range(threads)) for r in rs]


def test_a_real_race_loses_updates_and_the_checker_sees_it(lanes: LanesFactory) -> None:
    adapter = RacyCounter()
    adapter.setup()
    checker = ThreadChecker(adapter, mode="warn", threads=4)
    checker.instrument(adapter)
    stub = lanes(adapter, spec="snakepit_fixtures.thread_check:RacyCounter", threads=4).client
    responses = hammer(stub, "increment", pause=0.005)
    assert all(r.WhichOneof("outcome") == "result" for r in responses)  # warn mode never fails calls
    final = result_of(stub.execute(request("value")))
    assert final < len(responses), "the unlocked read-modify-write should have lost updates"
    assert checker.race_count > 0
    assert {race.method for race in checker.races} == {"increment"}
    assert all(race.adapter.endswith("RacyCounter") for race in checker.races)


def test_strict_mode_lets_only_unraced_calls_run(lanes: LanesFactory) -> None:
    adapter = RacyCounter()
    adapter.setup()
    ThreadChecker(adapter, mode="strict", threads=4).instrument(adapter)
    stub = lanes(adapter, spec="snakepit_fixtures.thread_check:RacyCounter", threads=4).client
    responses = hammer(stub, "increment", pause=0.005)
    ok = [r for r in responses if r.WhichOneof("outcome") == "result"]
    refused = [r for r in responses if r.WhichOneof("outcome") == "error"]
    assert refused and all(r.error.python_type.endswith("ThreadSafetyError") for r in refused)
    assert "RacyCounter" in refused[0].error.message and "'increment'" in refused[0].error.message
    # Every call that ran, ran alone: none of their updates was lost.
    assert result_of(stub.execute(request("value"))) == len(ok)


def test_streaming_tools_are_watched_step_by_step(lanes: LanesFactory) -> None:
    adapter = RacyCounter()
    adapter.setup()
    checker = ThreadChecker(adapter, mode="warn", threads=2)
    checker.instrument(adapter)
    stub = lanes(adapter, spec="snakepit_fixtures.thread_check:RacyCounter", threads=2).client
    chunks = [chunk_value(m) for m in stub.stream(request("count_up", n=3, pause=0))]
    assert chunks == [1, 2, 3]
    assert checker.race_count == 0  # one stream alone is no race
    adapter.reset()
    start = threading.Barrier(2)

    def consume(n: int) -> list[Any]:
        start.wait()
        return [chunk_value(m) for m in stub.stream(request("count_up", call_id=f"s{n}", n=20, pause=0.003))]

    with ThreadPoolExecutor(2) as pool:
        both = list(pool.map(consume, range(2)))
    assert [len(c) for c in both] == [20, 20]
    assert checker.race_count > 0 and {r.method for r in checker.races} == {"count_up"}


def test_declared_thread_safe_adapters_are_trusted(lanes: LanesFactory) -> None:
    from snakepit_bridge.adapters.threaded_showcase import ThreadedShowcaseAdapter

    adapter = ThreadedShowcaseAdapter()
    adapter.setup()
    checker = ThreadChecker(adapter, mode="strict", threads=4)
    checker.instrument(adapter)
    assert not checker.watch_races
    stub = lanes(adapter, spec="threaded_showcase", threads=4).client
    responses = hammer(stub, "increment", pause=0.002)
    assert all(r.WhichOneof("outcome") == "result" for r in responses)
    assert checker.race_count == 0
    assert result_of(stub.execute(request("counts"))) == {"hits": len(responses)}


def test_libraries_imported_during_calls_are_noticed(caplog: pytest.LogCaptureFixture) -> None:
    modules: dict[str, object] = {"grpc": object()}
    adapter = Gate()
    checker = ThreadChecker(adapter, mode="warn", threads=4, modules=modules)
    checker.instrument(adapter)
    with caplog.at_level(logging.WARNING, logger="snakepit_bridge"):
        assert adapter.quick() == "quick"
        assert checker.library_notices == []
        modules["matplotlib"] = object()  # as if the call had imported it
        adapter.quick()
        adapter.quick()  # noticed once
    [notice] = checker.library_notices
    assert notice.startswith("matplotlib is imported") and "unsafe" in notice
    messages = [r.getMessage() for r in caplog.records]
    assert sum("matplotlib is imported" in m for m in messages) == 1
    assert any("first seen after a call to 'quick'" in m for m in messages)


def test_libraries_imported_before_the_checker_started_are_left_to_the_handshake() -> None:
    modules: dict[str, object] = {"matplotlib": object()}
    adapter = Gate()
    checker = ThreadChecker(adapter, mode="warn", threads=4, modules=modules)
    checker.instrument(adapter)
    adapter.quick()
    assert checker.library_notices == []


# ---- the worker process --------------------------------------------------------------------


def test_handshake_warns_about_flagged_imports_with_several_threads() -> None:
    spec = "snakepit_fixtures.thread_check:SqliteTools"
    with spawn_worker(["--adapter", spec, "--threads", "2"], lanes=True) as w:
        assert w.handshake is not None and w.handshake["ready"] is True
        warnings = w.handshake["warnings"]
    assert len(warnings) == 1
    assert warnings[0].startswith("sqlite3 is imported in this worker") and "conditional" in warnings[0]
    with spawn_worker(["--adapter", spec, "--threads", "1"], lanes=True) as w:
        assert w.handshake is not None and w.handshake["warnings"] == []


def test_a_plain_thread_worker_has_nothing_to_warn_about() -> None:
    showcase = "snakepit_bridge.adapters.threaded_showcase:ThreadedShowcaseAdapter"
    with spawn_worker(["--adapter", showcase, "--threads", "4"], lanes=True) as w:
        assert w.handshake is not None
        assert w.handshake["warnings"] == []
        # The interpreter's real flags, not assumptions.
        assert w.handshake["free_threaded"] is bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
        is_enabled = getattr(sys, "_is_gil_enabled", None)
        assert w.handshake["gil_enabled"] is (bool(is_enabled()) if is_enabled else True)


def test_an_unknown_check_mode_fails_start_up() -> None:
    from helpers import worker_env

    env = worker_env(SNAKEPIT_THREAD_CHECK="sometimes")
    with spawn_worker(["--adapter", "snakepit_fixtures.basic:EchoAdapter"], env=env, lanes=True) as w:
        assert w.handshake is not None and w.handshake["ready"] is False
        assert w.handshake["error"]["phase"] == "arguments"
        assert "SNAKEPIT_THREAD_CHECK" in w.handshake["error"]["message"]


def test_the_checker_in_a_worker_process_logs_to_stderr() -> None:
    """End to end in a real worker: strict refusal as a python_error, a late import noticed."""
    from helpers import worker_env

    env = worker_env(SNAKEPIT_THREAD_CHECK="warn")
    spec = "snakepit_fixtures.late_import:LateImport"
    with spawn_worker(["--adapter", spec, "--threads", "2"], env=env, lanes=True) as w:
        assert w.handshake is not None and w.handshake["ready"] is True
        client = w.client
        assert client is not None
        assert result_of(client.execute(request("imported", call_id="i", name="sqlite3"))) is False
        assert result_of(client.execute(request("load", call_id="l", name="sqlite3"))) is True
        client.drain(1000)
        assert w.finish() == 0
    stderr = w.outputs["stderr"].decode()
    assert "thread check: sqlite3 is imported in this worker" in stderr
    assert "first seen after a call to 'load'" in stderr
