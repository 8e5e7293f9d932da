"""``python -m snakepit_bridge``: start one worker process for a Node.js pool.

Startup order: parse args -> parent watch -> import adapter -> instantiate -> setup()
-> bind and start the server -> handshake -> serve until drained or signalled.
Any startup failure writes a failure handshake, prints the traceback to stderr and
exits with code 3.
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
from collections.abc import Sequence
from typing import Any, NoReturn

from . import __version__, handshake, runtime_info, thread_safety
from .adapter import Adapter, resolve_adapter_class
from .parent_watch import ParentWatch, set_parent_death_signal
from .tool import discover_tools
from .worker import DEFAULT_MAX_MESSAGE_BYTES, Worker

log = logging.getLogger("snakepit_bridge")

EXIT_OK = 0
EXIT_STARTUP_FAILED = 3


class ArgumentError(Exception):
    """Bad command line; reported through the failure handshake (phase "arguments")."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # report instead of exiting with code 2
        raise ArgumentError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m snakepit_bridge",
        description="Run a Snakepit worker: serve an adapter's tools over gRPC.",
    )
    parser.add_argument(
        "--adapter",
        required=True,
        metavar="MODULE:CLASS",
        help="the Adapter subclass to serve, e.g. 'mypkg.tools:MyAdapter'",
    )
    parser.add_argument(
        "--listen",
        required=True,
        metavar="ADDRESS",
        help="gRPC address: 'unix:/abs/path.sock' or 'HOST:PORT' (port 0 picks a free port)",
    )
    parser.add_argument("--threads", type=int, default=1, help="tool slots (default 1)")
    parser.add_argument(
        "--control-fd",
        type=int,
        default=None,
        metavar="FD",
        help="write the ready handshake to this fd (default: stderr, prefixed)",
    )
    parser.add_argument(
        "--max-message-bytes",
        type=int,
        default=DEFAULT_MAX_MESSAGE_BYTES,
        metavar="N",
        help=f"largest encoded result or chunk (default {DEFAULT_MAX_MESSAGE_BYTES})",
    )
    parser.add_argument(
        "--data-fd",
        type=int,
        default=None,
        metavar="FD",
        help="also serve Execute/Stream as length-prefixed frames on this socket fd (the local data plane)",
    )
    parser.add_argument("--worker-id", default="", metavar="ID", help="echoed in the handshake")
    parser.add_argument(
        "--grace-ms",
        type=int,
        default=5000,
        metavar="MS",
        help="on SIGTERM/SIGINT, how long running calls may finish (default 5000)",
    )
    parser.add_argument(
        "--token-env",
        default=None,
        metavar="NAME",
        help="require metadata x-snakepit-token equal to this environment variable",
    )
    watch = parser.add_mutually_exclusive_group()
    watch.add_argument(
        "--parent-watch-fd",
        type=int,
        default=0,
        metavar="FD",
        help="exit when this fd reaches EOF (default 0, stdin)",
    )
    watch.add_argument(
        "--no-parent-watch", action="store_true", help="do not watch for the parent's exit"
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get("SNAKEPIT_LOG_LEVEL", "WARNING"),
        help="level of the bridge's own stderr logs (default WARNING, or $SNAKEPIT_LOG_LEVEL)",
    )
    parser.add_argument("--version", action="version", version=f"snakepit_bridge {__version__}")
    return parser


def _validate(args: argparse.Namespace) -> str | None:
    """Check values argparse cannot; returns the token when --token-env is used."""
    if args.threads < 1:
        raise ArgumentError("--threads must be at least 1")
    if args.max_message_bytes < 1:
        raise ArgumentError("--max-message-bytes must be positive")
    if args.grace_ms < 0:
        raise ArgumentError("--grace-ms must not be negative")
    if not args.listen.startswith("unix") and ":" not in args.listen:
        raise ArgumentError(
            f"--listen must be 'unix:/abs/path.sock' or 'HOST:PORT', got {args.listen!r}"
        )
    if args.token_env is None:
        return None
    token = os.environ.get(args.token_env)
    if not token:
        raise ArgumentError(f"--token-env {args.token_env}: that environment variable is empty")
    # Tools (and processes they start) have no business seeing the secret.
    del os.environ[args.token_env]
    return token


def _control_fd_from_argv(argv: Sequence[str]) -> int | None:
    """Best effort, for reporting a command-line error through the handshake."""
    for i, arg in enumerate(argv):
        value: str | None = None
        if arg == "--control-fd" and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--control-fd="):
            value = arg.split("=", 1)[1]
        if value is not None:
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _fail(
    phase: str, exc: BaseException, control_fd: int | None, *, print_traceback: bool = True
) -> NoReturn:
    # An argument error's traceback shows argparse internals, not a cause: skip it.
    if print_traceback:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    try:
        message = handshake.failure_message(phase, exc, with_traceback=print_traceback)
        handshake.write_handshake(message, control_fd)
    except OSError as write_error:
        print(f"snakepit_bridge: could not write the handshake: {write_error}", file=sys.stderr)
    _exit(EXIT_STARTUP_FAILED)


def _exit(code: int) -> NoReturn:
    # os._exit: a tool thread that ignores cancellation must not keep the process alive
    # (the interpreter would join the gRPC pool's threads at exit).
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(f"snakepit_bridge[{os.getpid()}] %(levelname)s %(message)s")
    )
    log.addHandler(handler)
    numeric = getattr(logging, level.upper(), None)
    log.setLevel(numeric if isinstance(numeric, int) else logging.INFO)
    log.propagate = False


def main(argv: Sequence[str] | None = None) -> NoReturn:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        token = _validate(args)
    except ArgumentError as exc:
        parser.print_usage(sys.stderr)
        print(f"snakepit_bridge: error: {exc}", file=sys.stderr)
        _fail(handshake.PHASE_ARGUMENTS, exc, _control_fd_from_argv(argv), print_traceback=False)
    control_fd: int | None = args.control_fd
    _configure_logging(args.log_level)

    watch: ParentWatch | None = None
    if not args.no_parent_watch:
        set_parent_death_signal()
        watch = ParentWatch(args.parent_watch_fd)
        watch.start()

    try:
        adapter_class = resolve_adapter_class(args.adapter)
        discover_tools(adapter_class)  # a malformed class (duplicate tool names) fails here
    except Exception as exc:  # includes ImportError, SyntaxError, ValueError (bad spec)
        _fail(handshake.PHASE_IMPORT_ADAPTER, exc, control_fd)
    try:
        adapter: Adapter = adapter_class()
    except Exception as exc:
        _fail(handshake.PHASE_CREATE_ADAPTER, exc, control_fd)
    try:
        adapter.setup()
    except Exception as exc:
        _fail(handshake.PHASE_SETUP, exc, control_fd)
    try:  # opt-in race checker (SNAKEPIT_THREAD_CHECK=warn|strict)
        thread_safety.install(adapter, threads=args.threads)
    except ValueError as exc:
        _fail(handshake.PHASE_ARGUMENTS, exc, control_fd, print_traceback=False)

    try:
        worker = Worker(
            adapter,
            adapter_spec=args.adapter,
            threads=args.threads,
            max_message_bytes=args.max_message_bytes,
            token=token,
            grace_seconds=args.grace_ms / 1000.0,
        )
    except Exception as exc:
        _fail(handshake.PHASE_CREATE_ADAPTER, exc, control_fd)
    try:
        address = worker.start(args.listen)
        if args.data_fd is not None:
            worker.serve_local(args.data_fd)
    except Exception as exc:  # BindError, or grpc rejecting the address outright
        _fail(handshake.PHASE_BIND, exc, control_fd)
    if watch is not None:
        watch.set_before_exit(worker.stop_now)
    _install_signal_handlers(worker)

    try:
        handshake.write_handshake(_ready_message(args, worker, address), control_fd)
    except OSError as exc:
        log.error("could not write the ready handshake: %s", exc)
        worker.stop_now()
        _exit(EXIT_STARTUP_FAILED)
    log.info("serving %s on %s (threads=%d)", args.adapter, address, args.threads)

    # Wake up now and then so signal handlers run promptly on every platform.
    while not worker.wait(1.0):
        pass
    log.info("stopped")
    _exit(EXIT_OK)


def _ready_message(args: argparse.Namespace, worker: Worker, address: str) -> dict[str, Any]:
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
    }


def _install_signal_handlers(worker: Worker) -> None:
    def on_signal(signum: int, frame: object) -> None:
        log.info("received %s; shutting down", signal.Signals(signum).name)
        # Shut down off the main thread: the handler must return for wait() to resume.
        threading.Thread(target=worker.shutdown, name="snakepit-shutdown", daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
