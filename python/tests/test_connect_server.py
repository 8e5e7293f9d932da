"""The Connect server (HTTP/1.1, standard library) in this process, driven with http.client."""

from __future__ import annotations

import http.client
import shutil
import socket
import ssl
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from serving import ConnectFactory
from connect_client import ConnectClient, ConnectError, connection
from helpers import chunk_value, request, result_of, wait_until
from sample_adapters import Probe
from snakepit_fixtures.cancel import CancelAdapter

from snakepit_bridge._proto import worker_pb2
from snakepit_bridge.adapters.showcase import ShowcaseAdapter
from snakepit_bridge.connect_server import BindError, tls_context

SHOWCASE = "snakepit_bridge.adapters.showcase:ShowcaseAdapter"


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked-body", "content-length"])
def test_unary_calls_on_one_keep_alive_connection(connect: ConnectFactory, chunked: bool) -> None:
    client = connect(ShowcaseAdapter(), spec=SHOWCASE).client(chunked=chunked)
    for i in range(20):
        assert result_of(client.execute(request("add", call_id=f"c{i}", a=i, b=1))) == i + 1
    sock = client.conn.sock
    assert result_of(client.execute(request("noop"))) is None
    assert client.conn.sock is sock  # the same connection all along
    assert client.call("Health", worker_pb2.HealthRequest()).requests_started == 21


def test_tool_errors_travel_in_the_response(connect: ConnectFactory) -> None:
    client = connect(ShowcaseAdapter(), spec=SHOWCASE).client()
    error = client.execute(request("fail", message="bad", kind="ValueError")).error
    assert (error.code, error.python_type, error.message) == ("python_error", "ValueError", "bad")
    assert client.execute(request("ad")).error.code == "unknown_tool"


def test_describe_cancel_drain_routes(connect: ConnectFactory) -> None:
    served = connect(CancelAdapter())
    client, other = served.client(), served.client()
    assert {t.name for t in client.call("Describe", worker_pb2.DescribeRequest()).tools} >= {"wait_for_cancel"}
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(other.execute, request("wait_for_cancel", call_id="v", marker="connect-1"))
        wait_until(lambda: client.call("Health", worker_pb2.HealthRequest()).active_calls == 1)
        reply = client.call("Cancel", worker_pb2.CancelRequest(call_id="v", wait_ms=2000))
        assert (reply.found, reply.finished) == (True, True)
        assert running.result(5).error.code == "aborted"
    assert client.call("Drain", worker_pb2.DrainRequest(timeout_ms=1000)).active_calls == 0
    assert served.worker.wait(5)


def test_health_is_answered_while_every_slot_is_busy(connect: ConnectFactory) -> None:
    probe = Probe()
    served = connect(probe, threads=1)
    with ThreadPoolExecutor(1) as pool:
        busy = pool.submit(served.client().execute, request("ignore_cancel_until_released"))
        try:
            assert probe.started.wait(5)
            started = time.monotonic()
            health = served.client().call("Health", worker_pb2.HealthRequest())
            assert time.monotonic() - started < 1
            assert (health.active_calls, health.capacity) == (1, 1)
        finally:
            probe.release.set()
        assert result_of(busy.result(5)) == "done"


def test_connect_timeout_ms_is_the_transport_deadline(connect: ConnectFactory) -> None:
    client = connect(CancelAdapter()).client()
    info = result_of(client.execute(request("deadline_info"), timeout_ms=5000))
    assert 4.5 < info["remaining"] <= 5
    started = time.monotonic()
    error = client.execute(request("wait_for_cancel", marker="connect-2"), timeout_ms=200).error
    assert error.code == "deadline_exceeded" and time.monotonic() - started < 2
    with pytest.raises(ConnectError) as info_bad:
        client.execute(request("noop"), headers={"Connect-Timeout-Ms": "soon"})
    assert (info_bad.value.status, info_bad.value.code) == (400, "invalid_argument")


def test_a_stream_is_enveloped_and_ends_with_end_stream(connect: ConnectFactory) -> None:
    client = connect(ShowcaseAdapter(), spec=SHOWCASE).client()
    chunks = [chunk_value(m) for m in client.stream(request("progress", steps=3))]
    assert chunks == [{"step": i, "of": 3} for i in range(1, 4)]
    # Tool errors stay inside a StreamMessage; the stream itself ends normally.
    (message,) = list(client.stream(request("add", a=1, b=2)))
    assert message.error.code == "invalid_argument"
    assert result_of(client.execute(request("add", a=1, b=2))) == 3  # the connection is still good


def test_a_client_that_goes_away_closes_the_generator(connect: ConnectFactory) -> None:
    probe = Probe()
    served = connect(probe)
    client = served.client()
    stream = client.stream(request("endless"))
    next(stream)
    client.conn.sock.shutdown(socket.SHUT_RDWR)
    client.close()
    assert probe.closed.wait(5)
    wait_until(lambda: served.engine.health().active_calls == 0)


def test_protocol_errors(connect: ConnectFactory) -> None:
    served = connect(ShowcaseAdapter(), spec=SHOWCASE)
    client = served.client()
    with pytest.raises(ConnectError) as info:
        client.call("Nope", worker_pb2.HealthRequest())
    assert (info.value.status, info.value.code) == (404, "unimplemented")
    with pytest.raises(ConnectError) as info:
        client.call("Execute", worker_pb2.HealthRequest(), headers={"Content-Type": "application/json"})
    assert (info.value.status, info.value.code) == (415, "unimplemented")
    conn = connection(served.address)
    conn.request("POST", "/snakepit.worker.v1.WorkerService/Execute", body=b"\xff\xff\xff", headers={"Content-Type": "application/proto"})
    response = conn.getresponse()
    assert response.status == 400 and b'"invalid_argument"' in response.read()
    conn.close()


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked-body", "content-length"])
def test_a_body_over_the_limit_is_resource_exhausted(connect: ConnectFactory, chunked: bool) -> None:
    client = connect(Probe(), max_message_bytes=1000).client(chunked=chunked)
    with pytest.raises(ConnectError) as info:
        client.execute(request("echo", value="x" * (2 * 1024 * 1024)))
    assert (info.value.status, info.value.code) == (429, "resource_exhausted")
    assert result_of(client.execute(request("echo", value=1))) == 1  # the connection carries on


def test_the_token(connect: ConnectFactory) -> None:
    served = connect(ShowcaseAdapter(), spec=SHOWCASE, token="s3cret")
    assert result_of(served.client().execute(request("add", a=1, b=1))) == 2
    for token in (None, "wrong"):
        client = ConnectClient(served.address, token=token)
        with pytest.raises(ConnectError) as info:
            client.call("Health", worker_pb2.HealthRequest())
        assert (info.value.status, info.value.code) == (401, "unauthenticated")
        assert info.value.message == "missing or wrong x-snakepit-token"
        with pytest.raises(ConnectError) as info:  # a stream's error is in its end-stream message
            list(client.stream(request("progress")))
        assert info.value.code == "unauthenticated"
        client.close()


def test_healthz_and_draining(connect: ConnectFactory) -> None:
    probe = Probe()
    served = connect(probe, token="t", threads=2)
    conn = connection(served.address)
    conn.request("GET", "/healthz")  # no token needed
    response = conn.getresponse()
    assert (response.status, response.read()) == (200, b"serving")
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(served.client().execute, request("block", call_id="r"))
        assert probe.started.wait(5)
        client = served.client()
        assert client.call("Drain", worker_pb2.DrainRequest(timeout_ms=5000)).active_calls == 1
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        assert (response.status, response.read()) == (503, b"draining")
        with pytest.raises(ConnectError) as info:
            client.execute(request("echo", value=1))
        assert (info.value.status, info.value.code) == (503, "unavailable")
        with pytest.raises(ConnectError) as info:
            list(client.stream(request("numbers", n=1)))
        assert info.value.code == "unavailable"
        assert client.call("Health", worker_pb2.HealthRequest()).status == "draining"
        probe.release.set()
        assert result_of(running.result(5)) == "released"
    conn.close()
    assert served.worker.wait(5) and probe.torn_down.is_set()


def test_tcp_port_zero_reports_the_real_port(connect: ConnectFactory) -> None:
    served = connect(ShowcaseAdapter(), spec=SHOWCASE, listen="127.0.0.1:0")
    host, _, port = served.address.rpartition(":")
    assert host == "127.0.0.1" and int(port) > 0
    assert served.client().call("Health", worker_pb2.HealthRequest()).status == "serving"


def test_a_taken_port_is_a_bind_error(connect: ConnectFactory) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(BindError):
            connect(ShowcaseAdapter(), listen=f"127.0.0.1:{taken.getsockname()[1]}")


def test_the_unix_socket_file_is_removed_on_close(connect: ConnectFactory) -> None:
    served = connect(ShowcaseAdapter(), spec=SHOWCASE)
    path = Path(served.address[len("unix:") :])
    assert path.exists()
    served.worker.shutdown(0)
    assert not path.exists()


def _certificate(directory: Path, name: str, *, ca: tuple[Path, Path] | None = None) -> tuple[Path, Path]:
    key, cert = directory / f"{name}.key", directory / f"{name}.pem"
    if ca is None:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
             "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True,
        )
    else:
        csr = directory / f"{name}.csr"
        subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN={name}"], check=True, capture_output=True)
        subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca[1], "-CAkey", ca[0], "-CAcreateserial", "-out", cert, "-days", "1"], check=True, capture_output=True)
    return key, cert


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make certificates")
def test_tls_and_client_certificates(connect: ConnectFactory, short_tmp: Path) -> None:
    server_key, server_cert = _certificate(short_tmp, "server")
    ca_key, ca_cert = _certificate(short_tmp, "ca")
    client_key, client_cert = _certificate(short_tmp, "client", ca=(ca_key, ca_cert))
    served = connect(ShowcaseAdapter(), spec=SHOWCASE, listen="127.0.0.1:0", tls=tls_context(str(server_cert), str(server_key), str(ca_cert)))
    context = ssl.create_default_context(cafile=str(server_cert))
    context.load_cert_chain(str(client_cert), str(client_key))
    client = served.client(context=context)
    assert result_of(client.execute(request("add", a=2, b=2))) == 4
    without = ssl.create_default_context(cafile=str(server_cert))
    with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException, OSError)):
        ConnectClient(served.address, context=without).call("Health", worker_pb2.HealthRequest())
    plain = ConnectClient(served.address)
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        plain.call("Health", worker_pb2.HealthRequest())
    plain.close()
    assert result_of(client.execute(request("add", a=3, b=3))) == 6  # the server still serves
