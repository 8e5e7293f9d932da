"""Races the GIL hides, and the thread-safety checker catching them where they are real.

``UnsafeCounter.bump`` does ``self.count += 1`` with no lock. On a GIL build of CPython
3.10+ that statement has no point inside it where another thread can take over, so
the counter *looks* safe: no update is ever lost. Without the GIL two threads run it at
the same time and lose most of their updates. The checker (``SNAKEPIT_THREAD_CHECK``)
does not depend on luck either way: it sees two threads inside a tool of an adapter
that is not declared thread-safe.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from ft_support import FREE_THREADED_BUILD, free_threaded_only, gil_enabled
from snakepit_fixtures import free_threaded as fx

from snakepit_bridge import thread_safety

# ~0.2 s per thread on a free-threaded build: long enough that two threads overlap.
N = 1_000_000


def on_threads(*calls: Callable[[], Any]) -> list[Any]:
    """Run each call on its own thread; the results (or exceptions) in order."""
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            results[i] = call()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, c), name=f"tool-{i}") for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a tool thread did not finish"
    return results


def unsafe() -> fx.UnsafeCounter:
    adapter = fx.UnsafeCounter()
    adapter.setup()
    return adapter


@free_threaded_only
def test_an_unlocked_counter_loses_updates_without_the_gil() -> None:
    counter = unsafe()
    on_threads(lambda: counter.bump(N, together=2), lambda: counter.bump(N, together=2))
    lost = 2 * N - counter.count
    assert lost > 0, "two threads ran `self.count += 1` at once and lost nothing"


@pytest.mark.skipif(FREE_THREADED_BUILD and not gil_enabled(), reason="the GIL half: run on python/.venv")
def test_under_the_gil_the_same_counter_looks_safe() -> None:
    counter = unsafe()
    on_threads(lambda: counter.bump(N // 4, together=2), lambda: counter.bump(N // 4, together=2))
    assert counter.count == 2 * (N // 4)


@free_threaded_only
def test_a_check_then_act_on_a_dict_builds_the_same_entry_twice_without_the_gil() -> None:
    counter = unsafe()
    # Both threads find the key missing and build it: ~90 ms of pure-Python work, so they
    # overlap even when a loaded machine deschedules one of them for a while.
    on_threads(*(lambda: counter.get_or_build("k", work=500_000, together=2) for _ in range(2)))
    assert counter.counts() == {"count": 0, "builds": 2, "keys": 1}


@free_threaded_only
def test_the_locked_counter_is_exact_without_the_gil() -> None:
    locked = fx.LockedCounter()
    locked.setup()
    on_threads(lambda: locked.bump(N // 4, together=2), lambda: locked.bump(N // 4, together=2))
    on_threads(*(lambda: locked.get_or_build("k", work=100_000, together=2) for _ in range(2)))
    assert locked.counts() == {"count": 2 * (N // 4), "builds": 1, "keys": 1}


def test_warn_mode_records_the_race_while_updates_are_lost() -> None:
    counter = unsafe()
    checker = thread_safety.ThreadChecker(counter, mode=thread_safety.MODE_WARN, threads=2)
    checker.instrument(counter)
    # The barrier inside the tool holds both threads inside `bump` at once: the race is
    # there on every build; the lost updates only where the GIL is off.
    on_threads(lambda: counter.bump(N, together=2), lambda: counter.bump(N, together=2))
    assert checker.race_count >= 1
    race = checker.races[0]
    assert race.adapter == "snakepit_fixtures.free_threaded.UnsafeCounter"
    assert race.method == "bump" and [m for _, m in race.others] == ["bump"]
    if not gil_enabled():
        assert counter.count < 2 * N
    else:
        assert counter.count == 2 * N


def test_strict_mode_refuses_the_second_call_so_the_first_stays_exact() -> None:
    counter = unsafe()
    checker = thread_safety.ThreadChecker(counter, mode=thread_safety.MODE_STRICT, threads=2)
    checker.instrument(counter)
    first: list[Any] = []
    holder = threading.Thread(target=lambda: first.append(counter.bump(N // 4, together=2)), name="tool-first")
    holder.start()
    # The first call is inside `bump`, waiting at the barrier for a second party.
    wait_for(lambda: fx.waiting(2) == 1)
    refused = on_threads(lambda: counter.bump(1))[0]
    assert isinstance(refused, thread_safety.ThreadSafetyError)
    assert "concurrent calls into snakepit_fixtures.free_threaded.UnsafeCounter" in str(refused)
    assert "'bump' was entered on thread tool-0 while 'bump' on thread tool-first was running" in str(refused)
    fx.start_together(2)  # this thread is the second party: the first call goes on
    holder.join(60)
    assert first == [N // 4]
    assert counter.count == N // 4


def test_a_declared_thread_safe_adapter_is_not_watched_for_races() -> None:
    locked = fx.LockedCounter()
    locked.setup()
    checker = thread_safety.ThreadChecker(locked, mode=thread_safety.MODE_STRICT, threads=2)
    checker.instrument(locked)
    on_threads(lambda: locked.bump(1000, together=2), lambda: locked.bump(1000, together=2))
    assert checker.race_count == 0
    assert locked.counts()["count"] == 2000


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    import time

    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "condition not met"
        time.sleep(0.002)
