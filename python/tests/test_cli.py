"""``python -m snakepit_bridge`` as a subprocess: handshake, lanes, Connect, failures, signals, serve."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from connect_client import ConnectClient
from helpers import request, result_of, spawn_worker, worker_env

from snakepit_bridge._proto import worker_pb2

SHOWCASE = "snakepit_bridge.adapters.showcase:ShowcaseAdapter"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process handling")


def test_ready_handshake_and_calls_over_the_local_lanes() -> None:
    args = ["--adapter", SHOWCASE, "--threads", "2", "--worker-id", "w-7", "--max-message-bytes", "1000000"]
    with spawn_worker(args, lanes=True) as worker:
        assert worker.control.endswith(b"\n") and worker.control.count(b"\n") == 1
        hs = worker.handshake
        assert hs is not None and hs["ready"] is True
        assert hs["pid"] == worker.proc.pid
        assert hs["address"] == ""  # no listening socket at all
        assert hs["worker_id"] == "w-7"
        assert hs["python_version"] == ".".join(map(str, sys.version_info[:3]))
        assert hs["implementation"] == "CPython"
        assert hs["free_threaded"] is bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
        assert hs["gil_enabled"] is getattr(sys, "_is_gil_enabled", lambda: True)()
        assert hs["threads"] == 2 and hs["adapter"] == SHOWCASE and hs["adapter_thread_safe"] is True
        assert "add" in hs["tools"] and "progress" in hs["tools"]
        memory = hs["memory"]
        assert memory["rss_bytes"] > 10 * 1024 * 1024
        if sys.platform.startswith("linux"):
            assert 0 < memory["uss_bytes"] <= memory["pss_bytes"] <= memory["rss_bytes"]
        client = worker.client
        assert client is not None
        assert result_of(client.execute(request("add", a=20, b=22))) == 42
        assert result_of(client.execute(request("whoami", call_id="who")))["pid"] == worker.proc.pid
        assert client.health().capacity == 2
        assert client.describe().worker.pid == worker.proc.pid
        too_big = client.execute(request("produce", call_id="big", size=2_000_000)).error
        assert too_big.code == "payload_too_large"


def test_closing_a_lane_ends_the_process() -> None:
    with spawn_worker(["--adapter", SHOWCASE, "--no-parent-watch"], lanes=True) as worker:
        assert worker.handshake is not None and worker.client is not None
        assert worker.client.health().status == "serving"
        worker.client.close()
        assert worker.proc.wait(timeout=5) == 0


def test_no_grpc_in_a_running_worker() -> None:
    with spawn_worker(["--adapter", "snakepit_fixtures.introspect:IntrospectAdapter"], lanes=True) as worker:
        assert worker.client is not None
        assert result_of(worker.client.execute(request("modules", prefix="grpc"))) == []
        assert "snakepit_bridge.engine" in result_of(worker.client.execute(request("modules", call_id="m", prefix="snakepit_bridge")))


def test_listen_serves_connect_and_reports_the_address(short_tmp: Path) -> None:
    sock = short_tmp / "w.sock"
    with spawn_worker(["--adapter", SHOWCASE, "--listen", f"unix:{sock}"]) as worker:
        assert worker.handshake is not None and worker.handshake["address"] == f"unix:{sock}"
        client = ConnectClient(worker.handshake["address"])
        assert result_of(client.execute(request("add", a=1, b=2))) == 3
        client.close()


def test_tcp_port_zero_reports_the_bound_port() -> None:
    with spawn_worker(["--adapter", SHOWCASE, "--listen", "127.0.0.1:0"]) as worker:
        assert worker.handshake is not None
        host, _, port = worker.handshake["address"].rpartition(":")
        assert host == "127.0.0.1" and int(port) > 0
        client = ConnectClient(worker.handshake["address"])
        assert client.call("Health", worker_pb2.HealthRequest()).status == "serving"
        client.close()


def test_the_old_control_fd_name_still_works(short_tmp: Path) -> None:
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-m", "snakepit_bridge", "--adapter", SHOWCASE, "--listen", f"unix:{short_tmp}/w.sock", "--control-fd", str(write_fd)],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(write_fd,), env=worker_env(),
    )
    try:
        os.close(write_fd)
        from helpers import read_until_eof

        assert json.loads(read_until_eof(read_fd, 20))["ready"] is True
    finally:
        proc.kill()
        proc.wait(5)
        os.close(read_fd)
        assert proc.stdin is not None
        proc.stdin.close()


def test_handshake_goes_to_stderr_without_a_handshake_fd(short_tmp: Path) -> None:
    args = ["--adapter", SHOWCASE, "--listen", f"unix:{short_tmp}/w.sock"]
    with spawn_worker(args, control_fd=False) as worker:
        assert worker.proc.stderr is not None
        line = worker.proc.stderr.readline().decode()
        assert line.startswith("SNAKEPIT_READY ")
        assert json.loads(line[len("SNAKEPIT_READY ") :])["ready"] is True
        worker.proc.send_signal(signal.SIGTERM)
        assert worker.finish() == 0
        assert b"SNAKEPIT_READY" not in worker.outputs["stdout"]


def failure(args: list[str]) -> tuple[dict[str, object], int, bytes]:
    with spawn_worker(args, lanes="--listen" not in args) as worker:
        code = worker.finish()
        assert worker.handshake is not None and worker.handshake["ready"] is False
        return worker.handshake["error"], code, worker.outputs["stderr"]  # type: ignore[return-value]


def test_broken_import_fails_with_module_not_found() -> None:
    error, code, stderr = failure(["--adapter", "snakepit_fixtures.broken_import:BrokenAdapter"])
    assert code == 3
    assert error["phase"] == "import_adapter"
    assert error["type"] == "ModuleNotFoundError"
    assert "snakepit_definitely_missing_module" in str(error["message"])
    assert "broken_import.py" in str(error["traceback"])
    assert b"Traceback" in stderr and b"snakepit_definitely_missing_module" in stderr


def test_failing_setup() -> None:
    error, code, _ = failure(["--adapter", "snakepit_fixtures.failing_setup:FailingSetupAdapter"])
    assert code == 3
    assert (error["phase"], error["type"]) == ("setup", "RuntimeError")
    assert error["message"] == "model file not found: /nonexistent/model.bin"


@pytest.mark.parametrize("spec", ["nocolon", "pkg.mod:", ":Class", "a b:C"])
def test_bad_adapter_spec_says_what_is_expected(spec: str) -> None:
    error, code, _ = failure(["--adapter", spec])
    assert code == 3 and error["phase"] == "import_adapter" and error["type"] == "ValueError"
    assert "--adapter must look like 'package.module:ClassName'" in str(error["message"])


def test_not_an_adapter() -> None:
    error, code, _ = failure(["--adapter", "snakepit_fixtures.not_adapter:NotAnAdapter"])
    assert code == 3 and error["phase"] == "import_adapter" and error["type"] == "TypeError"
    assert "not a subclass of snakepit_bridge.Adapter" in str(error["message"])


def test_missing_class() -> None:
    error, code, _ = failure(["--adapter", "snakepit_fixtures.basic:Nope"])
    assert code == 3 and error["type"] == "AttributeError" and "Nope" in str(error["message"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--threads", "0"], "--threads must be at least 1"),
        ([], "give --data-fd FD and --control-lane-fd FD (the local lanes), or --listen ADDRESS"),
        (["--data-fd", "9"], "--data-fd and --control-lane-fd go together"),
        (["--control-lane-fd", "9"], "--data-fd and --control-lane-fd go together"),
        (["--listen", "nowhere"], "--listen must be 'unix:/abs/path.sock' or 'HOST:PORT', got 'nowhere'"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_arguments_report_through_the_handshake(args: list[str], message: str) -> None:
    with spawn_worker(["--adapter", SHOWCASE, *args]) as worker:
        assert worker.finish() == 3
        assert worker.handshake is not None
        assert worker.handshake["error"]["phase"] == "arguments"
        assert message in worker.handshake["error"]["message"]


def test_a_bad_lane_fd_is_a_bind_failure() -> None:
    with spawn_worker(["--adapter", SHOWCASE, "--data-fd", "97", "--control-lane-fd", "98"]) as worker:
        assert worker.finish() == 3
        assert worker.handshake is not None and worker.handshake["error"]["phase"] == "bind"


def test_bind_failure() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        error, code, _ = failure(["--adapter", SHOWCASE, "--listen", f"127.0.0.1:{taken.getsockname()[1]}"])
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


def test_sigterm_exits_zero_after_running_calls() -> None:
    args = ["--adapter", SHOWCASE, "--grace-ms", "3000", "--log-level", "INFO"]
    with spawn_worker(args, lanes=True) as worker:
        assert worker.client is not None
        running = worker.client.execute_async(request("sleep", seconds=0.3))
        while worker.client.health().active_calls == 0:
            time.sleep(0.01)
        worker.proc.send_signal(signal.SIGTERM)
        assert result_of(running.result(timeout=5)) >= 0.29
        assert worker.finish() == 0
        assert b"shutting down" in worker.outputs["stderr"]


def test_print_goes_to_stdout_never_to_the_handshake_fd() -> None:
    with spawn_worker(["--adapter", "snakepit_fixtures.noisy:NoisyAdapter"], lanes=True) as worker:
        assert worker.handshake is not None and worker.client is not None
        assert result_of(worker.client.execute(request("chatter", lines=2))) == "ok"
        worker.proc.send_signal(signal.SIGTERM)
        assert worker.finish() == 0
        stdout = worker.outputs["stdout"].decode()
        assert stdout == '{"ready": true}\nstdout line 0\nstdout line 1\n'
        assert "stderr line 1" in worker.outputs["stderr"].decode()
        assert worker.control.count(b"\n") == 1 and b"stdout line" not in worker.control


def test_crash_exit_code_and_stderr_tail() -> None:
    with spawn_worker(["--adapter", "snakepit_fixtures.crash:CrashAdapter"], lanes=True) as worker:
        assert worker.client is not None
        with pytest.raises(EOFError):
            worker.client.execute(request("crash", how="exit", code=7), timeout=5)
        assert worker.finish() == 7
        assert b"about to crash: exit" in worker.outputs["stderr"]


def test_token_env_is_required_and_hidden_from_tools(short_tmp: Path) -> None:
    args = ["--adapter", "snakepit_fixtures.basic:EchoAdapter", "--listen", f"unix:{short_tmp}/w.sock", "--token-env", "SNAKEPIT_TEST_TOKEN"]
    with spawn_worker(args, env=worker_env(SNAKEPIT_TEST_TOKEN="t0ken")) as worker:
        assert worker.handshake is not None and worker.handshake["ready"]
        from connect_client import ConnectError

        anonymous = ConnectClient(worker.handshake["address"])
        with pytest.raises(ConnectError) as info:
            anonymous.call("Health", worker_pb2.HealthRequest())
        assert info.value.code == "unauthenticated"
        anonymous.close()
        client = ConnectClient(worker.handshake["address"], token="t0ken")
        assert result_of(client.execute(request("add", a=1, b=2))) == 3
        client.close()


def test_module_entry_point_help() -> None:
    out = subprocess.run([sys.executable, "-m", "snakepit_bridge", "--help"], capture_output=True, env=worker_env(), timeout=30, stdin=subprocess.DEVNULL)
    assert out.returncode == 0
    for flag in (b"--handshake-fd", b"--data-fd", b"--control-lane-fd", b"--listen"):
        assert flag in out.stdout
    out = subprocess.run([sys.executable, "-m", "snakepit_bridge", "serve", "--help"], capture_output=True, env=worker_env(), timeout=30, stdin=subprocess.DEVNULL)
    assert out.returncode == 0 and b"--token-file" in out.stdout and b"--tls-cert" in out.stdout


def test_drain_on_the_control_lane_exits_the_process_with_zero() -> None:
    with spawn_worker(["--adapter", SHOWCASE], lanes=True) as worker:
        assert worker.client is not None
        assert worker.client.drain(1000).active_calls == 0
        assert worker.finish() == 0


def test_sigterm_with_a_hung_tool_exits_after_the_grace() -> None:
    with spawn_worker(["--adapter", "snakepit_fixtures.hang:HangAdapter", "--grace-ms", "200", "--threads", "2"], lanes=True) as worker:
        assert worker.client is not None
        worker.client.execute_async(request("hang"))
        deadline = time.monotonic() + 5
        while worker.client.health().active_calls == 0:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        started = time.monotonic()
        worker.proc.send_signal(signal.SIGTERM)
        assert worker.finish() == 0
        assert time.monotonic() - started < 4


def test_a_tool_raising_keyboard_interrupt_leaves_the_worker_serving() -> None:
    with spawn_worker(["--adapter", "snakepit_fixtures.base_exceptions:BaseExceptionAdapter"], lanes=True) as worker:
        assert worker.client is not None
        error = worker.client.execute(request("raise_base", kind="keyboard_interrupt"), timeout=5).error
        assert error.python_type == "KeyboardInterrupt"
        error = worker.client.execute(request("async_raise", call_id="exit", kind="system_exit"), timeout=5).error
        assert error.python_type == "SystemExit"
        assert result_of(worker.client.execute(request("async_ping", call_id="p"), timeout=5)) == "pong"
        assert worker.proc.poll() is None


# ---- python -m snakepit_bridge serve ------------------------------------------------------


@contextmanager
def serve(args: list[str], env: dict[str, str] | None = None) -> Iterator[tuple[subprocess.Popen[bytes], str, list[bytes]]]:
    """Start ``serve``; yields the process, the address from its "listening on" line, and stderr so far."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "snakepit_bridge", "serve", *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env or worker_env(),
    )
    try:
        assert proc.stderr is not None
        address = ""
        lines: list[bytes] = []
        end = time.monotonic() + 20
        while not address and time.monotonic() < end:
            ready, _, _ = select.select([proc.stderr], [], [], 1)
            if ready:
                raw = proc.stderr.readline()
                lines.append(raw)
                line = raw.decode()
                if not line:
                    break
                if " listening on " in line:
                    address = line.rsplit(" listening on ", 1)[1].strip()
        yield proc, address, lines
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=5)


def test_serve_listens_once_set_up_and_drains_on_sigterm(short_tmp: Path) -> None:
    token_file = short_tmp / "token"
    token_file.write_text("s3cret\n")
    args = ["--adapter", SHOWCASE, "--listen", "127.0.0.1:0", "--threads", "2", "--token-file", str(token_file), "--grace-ms", "3000"]
    with serve(args) as (proc, address, _):
        assert address.startswith("127.0.0.1:") and int(address.rsplit(":", 1)[1]) > 0
        client = ConnectClient(address, token="s3cret")
        assert result_of(client.execute(request("add", a=2, b=2))) == 4
        other = ConnectClient(address, token="s3cret")
        other.conn.request(
            "POST", "/snakepit.worker.v1.WorkerService/Execute", body=request("sleep", seconds=0.5).SerializeToString(),
            headers={"Content-Type": "application/proto", "x-snakepit-token": "s3cret"},
        )
        while client.call("Health", worker_pb2.HealthRequest()).active_calls == 0:
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        response = other.conn.getresponse()  # the running call finishes within the grace
        assert response.status == 200 and result_of(worker_pb2.CallResponse.FromString(response.read())) >= 0.49
        assert proc.wait(timeout=5) == 0
        client.close()
        other.close()


def test_serve_reports_a_start_up_failure() -> None:
    with serve(["--adapter", "snakepit_fixtures.failing_setup:FailingSetupAdapter", "--listen", "127.0.0.1:0"]) as (proc, address, lines):
        assert address == "" and proc.wait(timeout=10) == 3
        stderr = b"".join(lines) + proc.communicate(timeout=5)[1]
        assert b"start-up failed (setup): model file not found" in stderr


def test_serve_rejects_half_a_tls_configuration() -> None:
    with serve(["--adapter", SHOWCASE, "--listen", "127.0.0.1:0", "--tls-cert", "x.pem"]) as (proc, _, lines):
        assert proc.wait(timeout=10) == 3
        stderr = b"".join(lines) + proc.communicate(timeout=5)[1]
        assert b"--tls-cert and --tls-key go together" in stderr
