"""``python -m snakepit_bridge``: one worker process, for a local pool or for pools on other hosts.

Two forms:

* ``python -m snakepit_bridge --adapter M:C --handshake-fd 3 --data-fd 4 --control-lane-fd 5``
  (the pool spawns this: the local lanes, no listening socket) or ``... --listen ADDRESS``
  (the Connect server). Startup order: parse args -> parent watch -> import adapter ->
  instantiate -> setup() -> start the transports -> handshake -> serve until drained,
  signalled, or the pool closes a lane. Any startup failure writes a failure handshake,
  prints the traceback to stderr and exits with code 3.
* ``python -m snakepit_bridge serve --adapter M:C --listen HOST:PORT``: serves one worker
  over Connect for pools on other hosts; listens only once the adapter is set up.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from . import __version__, gil_watch, handshake, runtime_info, thread_safety
from .adapter import Adapter, resolve_adapter_class
from .connect_server import tls_context
from .memory import read_memory
from .parent_watch import ParentWatch, set_parent_death_signal
from .tool import discover_tools
from .worker import DEFAULT_MAX_MESSAGE_BYTES, Worker

log = logging.getLogger("snakepit_bridge")

EXIT_OK = 0
# A local lane carried something that is not a frame: a broken pool, reported as a crash.
EXIT_BROKEN_LANE = 1
EXIT_STARTUP_FAILED = 3

Fail = Callable[..., NoReturn]


class ArgumentError(Exception):
    """Bad command line; reported through the failure handshake (phase "arguments")."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # report instead of exiting with code 2
        raise ArgumentError(message)


def _common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--adapter",
        required=True,
        metavar="MODULE:CLASS",
        help="the Adapter subclass to serve, e.g. 'mypkg.tools:MyAdapter'",
    )
    parser.add_argument("--threads", type=int, default=1, help="tool slots (default 1)")
    parser.add_argument(
        "--max-message-bytes",
        type=int,
        default=DEFAULT_MAX_MESSAGE_BYTES,
        metavar="N",
        help=f"largest encoded result or chunk (default {DEFAULT_MAX_MESSAGE_BYTES})",
    )
    parser.add_argument(
        "--grace-ms",
        type=int,
        default=5000,
        metavar="MS",
        help="on SIGTERM/SIGINT (and a Drain without a timeout), how long running calls may finish (default 5000)",
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get("SNAKEPIT_LOG_LEVEL", "WARNING"),
        help="level of the bridge's own stderr logs (default WARNING, or $SNAKEPIT_LOG_LEVEL)",
    )
    parser.add_argument("--version", action="version", version=f"snakepit_bridge {__version__}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m snakepit_bridge",
        description=(
            "Run a Snakepit worker for a local pool: the local lanes (--data-fd and "
            "--control-lane-fd) or the Connect server (--listen). "
            "See also: python -m snakepit_bridge serve --help"
        ),
    )
    _common_arguments(parser)
    parser.add_argument(
        "--handshake-fd",
        "--control-fd",  # the old name
        dest="handshake_fd",
        type=int,
        default=None,
        metavar="FD",
        help="write the ready handshake to this fd (default: stderr, prefixed)",
    )
    parser.add_argument(
        "--data-fd", type=int, default=None, metavar="FD", help="the data lane: a socket fd for calls"
    )
    parser.add_argument(
        "--control-lane-fd",
        type=int,
        default=None,
        metavar="FD",
        help="the control lane: a socket fd for cancel, describe, health and drain",
    )
    parser.add_argument(
        "--listen",
        default=None,
        metavar="ADDRESS",
        help="serve Connect on 'unix:/abs/path.sock' or 'HOST:PORT' (port 0 picks a free port)",
    )
    parser.add_argument("--worker-id", default="", metavar="ID", help="echoed in the handshake")
    parser.add_argument(
        "--token-env",
        default=None,
        metavar="NAME",
        help="(--listen) require header x-snakepit-token equal to this environment variable",
    )
    watch = parser.add_mutually_exclusive_group()
    watch.add_argument(
        "--parent-watch-fd",
        type=int,
        default=0,
        metavar="FD",
        help="exit when this fd reaches EOF (default 0, stdin)",
    )
    watch.add_argument("--no-parent-watch", action="store_true", help="do not watch for the parent's exit")
    return parser


def build_serve_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m snakepit_bridge serve",
        description="Serve one worker over Connect (HTTP/1.1) for pools on other hosts.",
    )
    _common_arguments(parser)
    parser.set_defaults(log_level=os.environ.get("SNAKEPIT_LOG_LEVEL", "INFO"))
    parser.add_argument(
        "--listen", required=True, metavar="ADDRESS", help="'HOST:PORT' (port 0 picks one) or 'unix:/abs/path.sock'"
    )
    token = parser.add_mutually_exclusive_group()
    token.add_argument("--token-file", default=None, metavar="FILE", help="require header x-snakepit-token equal to this file's content")
    token.add_argument("--token-env", default=None, metavar="NAME", help="... or to this environment variable")
    parser.add_argument("--tls-cert", default=None, metavar="PEM", help="serve TLS with this certificate (chain)")
    parser.add_argument("--tls-key", default=None, metavar="PEM", help="the certificate's private key")
    parser.add_argument("--tls-client-ca", default=None, metavar="PEM", help="require client certificates signed by this CA (mTLS)")
    parser.add_argument(
        "--parent-watch-fd", type=int, default=None, metavar="FD", help="exit when this fd reaches EOF (default: no watch)"
    )
    return parser


# ---- validation --------------------------------------------------------------------------


def _validate_common(args: argparse.Namespace) -> None:
    if args.threads < 1:
        raise ArgumentError("--threads must be at least 1")
    if args.max_message_bytes < 1:
        raise ArgumentError("--max-message-bytes must be positive")
    if args.grace_ms < 0:
        raise ArgumentError("--grace-ms must not be negative")
    if args.listen is not None and not args.listen.startswith("unix:") and ":" not in args.listen:
        raise ArgumentError(f"--listen must be 'unix:/abs/path.sock' or 'HOST:PORT', got {args.listen!r}")


def _validate(args: argparse.Namespace) -> str | None:
    """Check what argparse cannot; returns the token when --token-env is used."""
    _validate_common(args)
    if (args.data_fd is None) != (args.control_lane_fd is None):
        raise ArgumentError("--data-fd and --control-lane-fd go together")
    if args.data_fd is None and args.listen is None:
        raise ArgumentError("give --data-fd FD and --control-lane-fd FD (the local lanes), or --listen ADDRESS")
    return _token_from_env(args.token_env)


def _validate_serve(args: argparse.Namespace) -> str | None:
    _validate_common(args)
    if (args.tls_cert is None) != (args.tls_key is None):
        raise ArgumentError("--tls-cert and --tls-key go together")
    if args.tls_client_ca is not None and args.tls_cert is None:
        raise ArgumentError("--tls-client-ca needs --tls-cert and --tls-key")
    if args.token_file is None:
        return _token_from_env(args.token_env)
    try:
        with open(args.token_file, encoding="utf-8") as f:
            token = f.read().strip()
    except OSError as exc:
        raise ArgumentError(f"--token-file: {exc}") from None
    if not token:
        raise ArgumentError(f"--token-file {args.token_file}: the file is empty")
    return token


def _token_from_env(name: str | None) -> str | None:
    if name is None:
        return None
    token = os.environ.get(name)
    if not token:
        raise ArgumentError(f"--token-env {name}: that environment variable is empty")
    # Tools (and processes they start) have no business seeing the secret.
    del os.environ[name]
    return token


def _handshake_fd_from_argv(argv: Sequence[str]) -> int | None:
    """Best effort, for reporting a command-line error through the handshake."""
    for i, arg in enumerate(argv):
        value: str | None = None
        for name in ("--handshake-fd", "--control-fd"):
            if arg == name and i + 1 < len(argv):
                value = argv[i + 1]
            elif arg.startswith(name + "="):
                value = arg.split("=", 1)[1]
        if value is not None:
            try:
                return int(value)
            except ValueError:
                return None
    return None


# ---- start-up ----------------------------------------------------------------------------


def _exit(code: int) -> NoReturn:
    # os._exit: a tool thread that ignores cancellation must not keep the process alive
    # (the interpreter would join non-daemon threads at exit).
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"snakepit_bridge[{os.getpid()}] %(levelname)s %(message)s"))
    log.addHandler(handler)
    numeric = getattr(logging, level.upper(), None)
    log.setLevel(numeric if isinstance(numeric, int) else logging.INFO)
    log.propagate = False


def _load_adapter(spec: str, threads: int, fail: Fail) -> Adapter:
    """Import, instantiate and set up the adapter; ``fail(phase, exc)`` on any failure."""
    gil_watch.install()  # before the adapter's imports, which may turn the GIL back on
    try:
        adapter_class = resolve_adapter_class(spec)
        discover_tools(adapter_class)  # a malformed class (duplicate tool names) fails here
    except Exception as exc:  # includes ImportError, SyntaxError, ValueError (bad spec)
        fail(handshake.PHASE_IMPORT_ADAPTER, exc)
    try:
        adapter: Adapter = adapter_class()
    except Exception as exc:
        fail(handshake.PHASE_CREATE_ADAPTER, exc)
    try:
        adapter.setup()
    except Exception as exc:
        fail(handshake.PHASE_SETUP, exc)
    try:  # opt-in race checker (SNAKEPIT_THREAD_CHECK=warn|strict)
        thread_safety.install(adapter, threads=threads)
    except ValueError as exc:
        fail(handshake.PHASE_ARGUMENTS, exc, print_traceback=False)
    return adapter


def _install_signal_handlers(worker: Worker) -> None:
    def on_signal(signum: int, frame: object) -> None:
        log.info("received %s; shutting down", signal.Signals(signum).name)
        # Shut down off the main thread: the handler must return for wait() to resume.
        threading.Thread(target=worker.shutdown, name="snakepit-shutdown", daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)


def _serve_until_stopped(worker: Worker) -> NoReturn:
    # Wake up now and then so signal handlers run promptly on every platform.
    while not worker.wait(1.0):
        pass
    log.info("stopped")
    lost = worker.lost_reason
    _exit(EXIT_BROKEN_LANE if lost is not None and lost != "eof" else EXIT_OK)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["serve"]:
        serve_main(argv[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        token = _validate(args)
    except ArgumentError as exc:
        parser.print_usage(sys.stderr)
        print(f"snakepit_bridge: error: {exc}", file=sys.stderr)
        _fail(handshake.PHASE_ARGUMENTS, exc, _handshake_fd_from_argv(argv), print_traceback=False)
    handshake_fd: int | None = args.handshake_fd
    _configure_logging(args.log_level)

    def fail(phase: str, exc: BaseException, *, print_traceback: bool = True) -> NoReturn:
        _fail(phase, exc, handshake_fd, print_traceback=print_traceback)

    watch: ParentWatch | None = None
    if not args.no_parent_watch:
        set_parent_death_signal()
        watch = ParentWatch(args.parent_watch_fd)
        watch.start()

    adapter = _load_adapter(args.adapter, args.threads, fail)
    try:
        worker = Worker(
            adapter,
            adapter_spec=args.adapter,
            threads=args.threads,
            max_message_bytes=args.max_message_bytes,
            grace_seconds=args.grace_ms / 1000.0,
        )
    except Exception as exc:
        fail(handshake.PHASE_CREATE_ADAPTER, exc)
    address = ""
    try:
        if args.listen is not None:
            address = worker.listen(args.listen, token=token)
        if args.data_fd is not None:
            worker.serve_local(args.data_fd, args.control_lane_fd)
    except Exception as exc:  # BindError, or a bad fd
        worker.stop_now()
        fail(handshake.PHASE_BIND, exc)
    if watch is not None:
        watch.set_before_exit(worker.stop_now)
    _install_signal_handlers(worker)

    try:
        handshake.write_handshake(_ready_message(args, worker, address), handshake_fd)
    except OSError as exc:
        log.error("could not write the ready handshake: %s", exc)
        worker.stop_now()
        _exit(EXIT_STARTUP_FAILED)
    log.info("serving %s on %s (threads=%d)", args.adapter, address or "the local lanes", args.threads)
    _serve_until_stopped(worker)


def serve_main(argv: Sequence[str]) -> NoReturn:
    parser = build_serve_parser()
    try:
        args = parser.parse_args(argv)
        token = _validate_serve(args)
    except ArgumentError as exc:
        parser.print_usage(sys.stderr)
        print(f"snakepit_bridge serve: error: {exc}", file=sys.stderr)
        _exit(EXIT_STARTUP_FAILED)
    _configure_logging(args.log_level)

    def fail(phase: str, exc: BaseException, *, print_traceback: bool = True) -> NoReturn:
        if print_traceback:
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        print(f"snakepit_bridge serve: start-up failed ({phase}): {exc}", file=sys.stderr)
        _exit(EXIT_STARTUP_FAILED)

    if args.parent_watch_fd is not None:
        watch = ParentWatch(args.parent_watch_fd)
        watch.start()
    try:
        tls = tls_context(args.tls_cert, args.tls_key, args.tls_client_ca) if args.tls_cert else None
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        fail(handshake.PHASE_ARGUMENTS, exc, print_traceback=False)
    adapter = _load_adapter(args.adapter, args.threads, fail)
    worker = Worker(
        adapter,
        adapter_spec=args.adapter,
        threads=args.threads,
        max_message_bytes=args.max_message_bytes,
        grace_seconds=args.grace_ms / 1000.0,
    )
    try:
        address = worker.listen(args.listen, token=token, tls=tls)
    except Exception as exc:
        fail(handshake.PHASE_BIND, exc, print_traceback=False)
    _install_signal_handlers(worker)
    # Printed whatever the log level: scripts and humans wait for this line.
    print(f"snakepit_bridge[{os.getpid()}] listening on {address}", file=sys.stderr, flush=True)
    _serve_until_stopped(worker)


def _fail(phase: str, exc: BaseException, handshake_fd: int | None, *, print_traceback: bool = True) -> NoReturn:
    # An argument error's traceback shows argparse internals, not a cause: skip it.
    if print_traceback:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    try:
        message = handshake.failure_message(phase, exc, with_traceback=print_traceback)
        handshake.write_handshake(message, handshake_fd)
    except OSError as write_error:
        print(f"snakepit_bridge: could not write the handshake: {write_error}", file=sys.stderr)
    _exit(EXIT_STARTUP_FAILED)


def _ready_message(args: argparse.Namespace, worker: Worker, address: str) -> dict[str, Any]:
    # Measured by the worker itself after setup() and before any call: the baseline
    # the pool's memory-based recycling compares later Health readings with.
    memory = read_memory()
    return {
        "ready": True,
        "pid": os.getpid(),
        "address": address,
        "worker_id": args.worker_id,
        "python_version": runtime_info.python_version(),
        "implementation": runtime_info.implementation(),
        "free_threaded": runtime_info.free_threaded(),
        "gil_enabled": runtime_info.gil_enabled(),
        "threads": args.threads,
        "adapter": args.adapter,
        "adapter_thread_safe": bool(type(worker.adapter).thread_safe),
        "tools": worker.tool_names,
        # With several tool threads: imported libraries the compat matrix flags.
        "warnings": thread_safety.startup_warnings(args.threads),
        "memory": {"rss_bytes": memory.rss_bytes, "pss_bytes": memory.pss_bytes, "uss_bytes": memory.uss_bytes},
    }
