"""``python -m snakepit_bridge`` as a subprocess: handshake, failures, signals, parent watch."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from helpers import request, result_of, spawn_worker, worker_env

from snakepit_bridge._proto import worker_pb2, worker_pb2_grpc

SHOWCASE = "snakepit_bridge.adapters.showcase:ShowcaseAdapter"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process handling")


def stub_for(address: str) -> tuple[grpc.Channel, worker_pb2_grpc.WorkerServiceStub]:
    channel = grpc.insecure_channel(address)
    return channel, worker_pb2_grpc.WorkerServiceStub(channel)


def test_ready_handshake_on_the_control_fd(short_tmp: Path) -> None:
    sock = short_tmp / "w.sock"
    args = ["--adapter", SHOWCASE, "--listen", f"unix:{sock}", "--threads", "2"]
    args += ["--worker-id", "w-7"]
    with spawn_worker(args) as worker:
        assert worker.control.endswith(b"\n") and worker.control.count(b"\n") == 1
        hs = worker.handshake
        assert hs is not None and hs["ready"] is True
        assert hs["pid"] == worker.proc.pid
        assert hs["address"] == f"unix:{sock}"
        assert hs["worker_id"] == "w-7"
        assert hs["python_version"] == ".".join(map(str, sys.version_info[:3]))
        assert hs["implementation"] == "CPython"
        assert hs["free_threaded"] is False and hs["gil_enabled"] is True
        assert hs["threads"] == 2 and hs["adapter"] == SHOWCASE
        assert hs["adapter_thread_safe"] is True
        assert "add" in hs["tools"] and "progress" in hs["tools"]
        channel, stub = stub_for(hs["address"])
        with channel:
            assert result_of(stub.Execute(request("add", a=20, b=22))) == 42
            who = result_of(stub.Execute(request("whoami")))
            assert who["pid"] == worker.proc.pid


def test_tcp_port_zero_reports_the_bound_port() -> None:
    with spawn_worker(["--adapter", SHOWCASE, "--listen", "127.0.0.1:0"]) as worker:
        assert worker.handshake is not None
        host, _, port = worker.handshake["address"].rpartition(":")
        assert host == "127.0.0.1" and int(port) > 0
        channel, stub = stub_for(worker.handshake["address"])
        with channel:
            assert stub.Health(worker_pb2.HealthRequest(), timeout=5).status == "serving"


def test_handshake_goes_to_stderr_without_a_control_fd(short_tmp: Path) -> None:
    args = ["--adapter", SHOWCASE, "--listen", f"unix:{short_tmp}/w.sock"]
    with spawn_worker(args, control_fd=False) as worker:
        assert worker.proc.stderr is not None
        line = worker.proc.stderr.readline().decode()
        assert line.startswith("SNAKEPIT_READY ")
        assert json.loads(line[len("SNAKEPIT_READY ") :])["ready"] is True
        worker.proc.send_signal(signal.SIGTERM)
        assert worker.finish() == 0
        assert b"SNAKEPIT_READY" not in worker.outputs["stdout"]


def failure(args: list[str], short_tmp: Path) -> tuple[dict[str, object], int, bytes]:
    full = [*args, "--listen", f"unix:{short_tmp}/w.sock"] if "--listen" not in args else args
    with spawn_worker(full) as worker:
        code = worker.finish()
        assert worker.handshake is not None and worker.handshake["ready"] is False
        return worker.handshake["error"], code, worker.outputs["stderr"]  # type: ignore[return-value]


def test_broken_import_fails_with_module_not_found(short_tmp: Path) -> None:
    error, code, stderr = failure(
        ["--adapter", "snakepit_fixtures.broken_import:BrokenAdapter"], short_tmp
    )
    assert code == 3
    assert error["phase"] == "import_adapter"
    assert error["type"] == "ModuleNotFoundError"
    assert "snakepit_definitely_missing_module" in str(error["message"])
    assert "broken_import.py" in str(error["traceback"])
    assert b"Traceback" in stderr and b"snakepit_definitely_missing_module" in stderr


def test_failing_setup(short_tmp: Path) -> None:
    error, code, _ = failure(
        ["--adapter", "snakepit_fixtures.failing_setup:FailingSetupAdapter"], short_tmp
    )
    assert code == 3
    assert (error["phase"], error["type"]) == ("setup", "RuntimeError")
    assert error["message"] == "model file not found: /nonexistent/model.bin"


@pytest.mark.parametrize("spec", ["nocolon", "pkg.mod:", ":Class", "a b:C"])
def test_bad_adapter_spec_says_what_is_expected(spec: str, short_tmp: Path) -> None:
    error, code, _ = failure(["--adapter", spec], short_tmp)
    assert code == 3 and error["phase"] == "import_adapter" and error["type"] == "ValueError"
    assert "--adapter must look like 'package.module:ClassName'" in str(error["message"])


def test_not_an_adapter(short_tmp: Path) -> None:
    error, code, _ = failure(["--adapter", "snakepit_fixtures.not_adapter:NotAnAdapter"], short_tmp)
    assert code == 3 and error["phase"] == "import_adapter" and error["type"] == "TypeError"
    assert "not a subclass of snakepit_bridge.Adapter" in str(error["message"])


def test_missing_class(short_tmp: Path) -> None:
    error, code, _ = failure(["--adapter", "snakepit_fixtures.basic:Nope"], short_tmp)
    assert code == 3 and error["type"] == "AttributeError" and "Nope" in str(error["message"])


def test_bad_arguments_report_through_the_handshake(short_tmp: Path) -> None:
    error, code, _ = failure(["--adapter", SHOWCASE, "--threads", "0"], short_tmp)
    assert code == 3 and error["phase"] == "arguments"
    with spawn_worker(["--adapter", SHOWCASE]) as worker:  # no --listen
        assert worker.finish() == 3
        assert worker.handshake is not None and worker.handshake["error"]["phase"] == "arguments"


def test_bind_failure() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        error, code, _ = failure(
            ["--adapter", SHOWCASE, "--listen", f"127.0.0.1:{port}"], Path("/unused")
        )
    assert code == 3 and error["phase"] == "bind"


def test_parent_watch_exits_when_stdin_closes(short_tmp: Path) -> None:
    args = ["--adapter", SHOWCASE, "--listen", f"unix:{short_tmp}/w.sock"]
    with spawn_worker(args) as worker:
        assert worker.handshake is not None and worker.handshake["ready"]
        assert worker.proc.stdin is not None
        started = time.monotonic()
        worker.proc.stdin.close()
        assert worker.proc.wait(timeout=2) == 0
        assert time.monotonic() - started < 2
    assert not (short_tmp / "w.sock").exists()


def test_sigterm_exits_zero_after_running_calls(short_tmp: Path) -> None:
    args = ["--adapter", SHOWCASE, "--listen", f"unix:{short_tmp}/w.sock", "--grace-ms", "3000", "--log-level", "INFO"]
    with spawn_worker(args) as worker:
        assert worker.handshake is not None
        channel, stub = stub_for(worker.handshake["address"])
        with channel:
            running = stub.Execute.future(request("sleep", seconds=0.3))
            time.sleep(0.1)  # let the call start before the signal
            worker.proc.send_signal(signal.SIGTERM)
            assert result_of(running.result(timeout=5)) >= 0.29
        assert worker.finish() == 0
        assert b"shutting down" in worker.outputs["stderr"]


def test_print_goes_to_stdout_never_to_the_control_fd(short_tmp: Path) -> None:
    args = ["--adapter", "snakepit_fixtures.noisy:NoisyAdapter"]
    args += ["--listen", f"unix:{short_tmp}/w.sock"]
    with spawn_worker(args) as worker:
        assert worker.handshake is not None
        channel, stub = stub_for(worker.handshake["address"])
        with channel:
            assert result_of(stub.Execute(request("chatter", lines=2))) == "ok"
        worker.proc.send_signal(signal.SIGTERM)
        assert worker.finish() == 0
        stdout = worker.outputs["stdout"].decode()
        assert stdout == '{"ready": true}\nstdout line 0\nstdout line 1\n'
        assert "stderr line 1" in worker.outputs["stderr"].decode()
        assert worker.control.count(b"\n") == 1 and b"stdout line" not in worker.control


def test_crash_exit_code_and_stderr_tail(short_tmp: Path) -> None:
    args = ["--adapter", "snakepit_fixtures.crash:CrashAdapter"]
    args += ["--listen", f"unix:{short_tmp}/w.sock"]
    with spawn_worker(args) as worker:
        assert worker.handshake is not None
        channel, stub = stub_for(worker.handshake["address"])
        with channel, pytest.raises(grpc.RpcError):
            stub.Execute(request("crash", how="exit", code=7), timeout=5)
        assert worker.finish() == 7
        assert b"about to crash: exit" in worker.outputs["stderr"]


def test_token_env_is_required_and_hidden_from_tools(short_tmp: Path) -> None:
    args = [
        "--adapter",
        "snakepit_fixtures.basic:EchoAdapter",
        "--listen",
        f"unix:{short_tmp}/w.sock",
        "--token-env",
        "SNAKEPIT_TEST_TOKEN",
    ]
    with spawn_worker(args, env=worker_env(SNAKEPIT_TEST_TOKEN="t0ken")) as worker:
        assert worker.handshake is not None and worker.handshake["ready"]
        channel, stub = stub_for(worker.handshake["address"])
        with channel:
            with pytest.raises(grpc.RpcError) as info:
                stub.Health(worker_pb2.HealthRequest(), timeout=5)
            assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
            metadata = (("x-snakepit-token", "t0ken"),)
            assert result_of(stub.Execute(request("add", a=1, b=2), metadata=metadata)) == 3


def test_module_entry_point_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "snakepit_bridge", "--help"],
        capture_output=True,
        env=worker_env(),
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 0 and b"--control-fd" in out.stdout
    assert os.path.exists(sys.executable)


def test_drain_rpc_exits_the_process_with_zero(short_tmp: Path) -> None:
    args = ["--adapter", SHOWCASE, "--listen", f"unix:{short_tmp}/w.sock"]
    with spawn_worker(args) as worker:
        assert worker.handshake is not None
        channel, stub = stub_for(worker.handshake["address"])
        with channel:
            assert stub.Drain(worker_pb2.DrainRequest(timeout_ms=1000)).active_calls == 0
        assert worker.finish() == 0


def test_sigterm_with_a_hung_tool_exits_after_the_grace(short_tmp: Path) -> None:
    args = [
        "--adapter",
        "snakepit_fixtures.hang:HangAdapter",
        "--listen",
        f"unix:{short_tmp}/w.sock",
        "--grace-ms",
        "200",
    ]
    with spawn_worker(args) as worker:
        assert worker.handshake is not None
        channel, stub = stub_for(worker.handshake["address"])
        with channel:
            hung = stub.Execute.future(request("hang"))
            deadline = time.monotonic() + 5
            while stub.Health(worker_pb2.HealthRequest()).active_calls == 0:
                assert time.monotonic() < deadline
                time.sleep(0.01)
            started = time.monotonic()
            worker.proc.send_signal(signal.SIGTERM)
            assert worker.finish() == 0
            assert time.monotonic() - started < 4
            hung.cancel()
