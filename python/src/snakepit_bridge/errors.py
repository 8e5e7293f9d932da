"""Exceptions shared by the bridge modules and exposed to tool authors."""

from __future__ import annotations

import json
from typing import Any

from ._proto import worker_pb2

# Error codes from the wire contract (proto ToolError.code), generated from the one
# list of codes (proto/snakepit/worker/v1/error_codes.json) that Node shares.
from ._proto.error_codes import (
    ABORTED as ABORTED,
    DEADLINE_EXCEEDED as DEADLINE_EXCEEDED,
    INTERNAL as INTERNAL,
    INVALID_ARGUMENT as INVALID_ARGUMENT,
    PAYLOAD_TOO_LARGE as PAYLOAD_TOO_LARGE,
    PYTHON_ERROR as PYTHON_ERROR,
    UNKNOWN_TOOL as UNKNOWN_TOOL,
    WORKER_ERROR_CODES as WORKER_ERROR_CODES,
)


class CancelledError(Exception):
    """Raised inside a tool (by ``current_call().check()``) once its call is cancelled.

    A plain ``Exception`` rather than ``BaseException`` so tool authors can treat it
    like any other error; the worker reports it as ``aborted`` or
    ``deadline_exceeded`` instead of ``python_error``.
    """


# Reported (python_type) and documented under the name users import it by.
CancelledError.__module__ = "snakepit_bridge"


class ToolError(Exception):
    """A failure the worker understood; becomes a ``ToolError`` message on the wire."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        python_type: str = "",
        traceback: str = "",
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.python_type = python_type
        self.traceback = traceback
        self.details = details

    def to_proto(self) -> worker_pb2.ToolError:
        details_json = b""
        if self.details is not None:
            details_json = json.dumps(self.details, separators=(",", ":")).encode("utf-8")
        return worker_pb2.ToolError(
            code=self.code,
            python_type=self.python_type,
            message=self.message,
            traceback=self.traceback,
            details_json=details_json,
        )
