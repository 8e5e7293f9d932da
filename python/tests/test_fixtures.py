"""The fixture adapters (shared with the TypeScript suite) load and behave as documented."""

from __future__ import annotations

import pytest
from snakepit_fixtures import cancel, leak, slow_start
from snakepit_fixtures.basic import EchoAdapter

from snakepit_bridge import codec
from snakepit_bridge.adapter import resolve_adapter_class
from snakepit_bridge.tool import discover_tools

EXPECTED_TOOLS = {
    "snakepit_fixtures.basic:EchoAdapter": {"echo", "noop", "add", "whoami", "types"},
    "snakepit_fixtures.crash:CrashAdapter": {"crash", "ping", "slow_ok", "crash_once"},
    "snakepit_fixtures.hang:HangAdapter": {"hang", "spin"},
    "snakepit_fixtures.slow_start:SlowStartAdapter": {"ping"},
    "snakepit_fixtures.failing_setup:FailingSetupAdapter": {"ping"},
    "snakepit_fixtures.leak:LeakAdapter": {"leak"},
    "snakepit_fixtures.noisy:NoisyAdapter": {"chatter"},
    "snakepit_fixtures.cancel:CancelAdapter": {
        "wait_for_cancel",
        "stream_until_closed",
        "state",
        "deadline_info",
        "async_wait_for_cancel",
    },
}


@pytest.mark.parametrize("spec", sorted(EXPECTED_TOOLS))
def test_fixture_adapters_resolve_with_their_tools(spec: str) -> None:
    assert set(discover_tools(resolve_adapter_class(spec))) == EXPECTED_TOOLS[spec]


def test_types_covers_every_value_kind() -> None:
    value = EchoAdapter().types()
    json_bytes, attachments = codec.encode(value)
    assert codec.decode(json_bytes, attachments) == value
    assert value["bigint"] == 2**60 and isinstance(value["bytes"], bytes)


def test_slow_start_delay_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNAKEPIT_FIXTURE_START_DELAY", "0")
    adapter = slow_start.SlowStartAdapter()
    adapter.setup()
    assert adapter.ping() == "pong"


def test_leak_holds_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(leak.LeakAdapter, "held", [])
    assert leak.LeakAdapter().leak(1) == 1
    assert leak.LeakAdapter().leak(2) == 3


def test_stream_until_closed_records_closing() -> None:
    gen = cancel.CancelAdapter().stream_until_closed("direct", n=10, delay=0)
    assert next(gen) == 0
    gen.close()
    assert cancel.CancelAdapter().state("direct") == "closed"
