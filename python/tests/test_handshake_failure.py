"""The failure handshake says where an import looked, so the pool's error can name it."""

import sys

from snakepit_bridge import handshake


def test_module_not_found_carries_the_module_and_sys_path() -> None:
    try:
        import snakepit_no_such_module  # type: ignore[import-not-found]  # noqa: F401
    except ModuleNotFoundError as exc:
        message = handshake.failure_message(handshake.PHASE_IMPORT_ADAPTER, exc)
    error = message["error"]
    assert message["ready"] is False
    assert error["type"] == "ModuleNotFoundError"
    assert error["module"] == "snakepit_no_such_module"
    assert error["sys_path"] == list(sys.path)


def test_other_errors_carry_no_sys_path() -> None:
    message = handshake.failure_message(handshake.PHASE_SETUP, RuntimeError("model file not found"))
    assert "sys_path" not in message["error"]
    assert message["error"]["message"] == "model file not found"
