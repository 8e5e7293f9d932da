"""The three thread-safe adapter patterns of ThreadedShowcaseAdapter, under real concurrency."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from serving import LanesFactory
from helpers import request, result_of

from snakepit_bridge.adapters import threaded_showcase
from snakepit_bridge.adapters.threaded_showcase import ThreadBoundClient, ThreadedShowcaseAdapter

SPEC = "snakepit_bridge.adapters.threaded_showcase:ThreadedShowcaseAdapter"
THREADS = 4


@pytest.fixture
def stub(lanes: LanesFactory, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("SNAKEPIT_SHOWCASE_BLOB_BYTES", str(256 * 1024))
    adapter = ThreadedShowcaseAdapter()
    adapter.setup()
    return lanes(adapter, spec=SPEC, threads=THREADS).client


def at_once(stub: Any, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """Send every call from its own client thread, released together; results in order."""
    start = threading.Barrier(len(calls))

    def send(i: int) -> Any:
        tool, args = calls[i]
        start.wait()
        return result_of(stub.execute(request(tool, call_id=f"c{i}", **args), timeout=10))

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(send, range(len(calls))))


def test_shared_read_only_data_is_loaded_once_and_read_concurrently(stub: Any) -> None:
    info = result_of(stub.execute(request("setup_info")))
    assert info["blob_bytes"] == 256 * 1024
    blob = (bytes(range(256)) * 1024)[: 256 * 1024]
    assert info["blob_sha256"] == hashlib.sha256(blob).hexdigest()
    expected = hashlib.sha256(hashlib.sha256(blob).digest() + blob).hexdigest()
    words = ["python", "viper", "cobra", "nope"] * 2
    results = at_once(
        stub,
        [("digest_blob", {"rounds": 2})] * 8 + [("lookup", {"word": w}) for w in words],
    )
    assert results[:8] == [expected] * 8
    lexicon = sorted(threaded_showcase._WORDS)
    assert results[8:] == [lexicon.index(w) if w in lexicon else None for w in words]
    # Nothing re-ran setup() along the way.
    assert result_of(stub.execute(request("setup_info")))["setups"] == info["setups"]


def test_thread_local_clients_are_never_shared(stub: Any) -> None:
    results = at_once(stub, [("thread_client", {"work_seconds": 0.02})] * 16)
    owner: dict[int, str] = {}
    for r in results:
        # A client stays with the thread that created it, and a thread keeps its client.
        assert owner.setdefault(r["client"], r["thread"]) == r["thread"]
    assert len(set(owner.values())) == len(owner)
    assert len(owner) >= 2, "the calls should have run on several threads"
    final = result_of(stub.execute(request("thread_client")))
    assert final["clients_created"] >= len(owner)


def test_a_thread_bound_client_refuses_other_threads() -> None:
    client = ThreadBoundClient()
    assert client.use() == 1
    errors: list[BaseException] = []
    other = threading.Thread(target=lambda: errors.append(pytest.raises(RuntimeError, client.use).value))
    other.start()
    other.join()
    assert "created in another thread" in str(errors[0])


def test_locked_read_modify_write_loses_no_update(stub: Any) -> None:
    results = at_once(stub, [("increment", {"key": "k", "pause": 0.005})] * 12)
    assert sorted(results) == list(range(1, 13))
    assert result_of(stub.execute(request("counts"))) == {"k": 12}
    result_of(stub.execute(request("reset_counts")))
    assert result_of(stub.execute(request("counts"))) == {}


def test_native_threads_reports_the_caps(stub: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    caps = result_of(stub.execute(request("native_threads")))
    assert caps["OMP_NUM_THREADS"] == "3" and caps["MKL_NUM_THREADS"] is None
    assert set(caps) == {"OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"}
