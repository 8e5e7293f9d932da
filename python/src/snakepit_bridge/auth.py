"""Optional shared-secret check on every RPC (``--token-env``)."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

import grpc

TOKEN_METADATA_KEY = "x-snakepit-token"


class TokenAuthInterceptor(grpc.ServerInterceptor):  # type: ignore[type-arg]
    """Rejects RPCs whose ``x-snakepit-token`` metadata is missing or wrong (UNAUTHENTICATED)."""

    def __init__(self, token: str) -> None:
        self._token = token.encode("utf-8")

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        if self._authorised(handler_call_details.invocation_metadata or ()):
            return continuation(handler_call_details)
        handler = continuation(handler_call_details)
        return None if handler is None else _denying_handler(handler)

    def _authorised(self, metadata: Any) -> bool:
        for key, value in metadata:
            if key == TOKEN_METADATA_KEY:
                given = value.encode("utf-8") if isinstance(value, str) else bytes(value)
                return hmac.compare_digest(given, self._token)
        return False


def _deny(request: Any, context: grpc.ServicerContext) -> Any:
    context.abort(grpc.StatusCode.UNAUTHENTICATED, f"missing or wrong {TOKEN_METADATA_KEY}")


def _denying_handler(
    handler: grpc.RpcMethodHandler[Any, Any],
) -> grpc.RpcMethodHandler[Any, Any]:
    # No request deserializer: an unauthorised request is never parsed.
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(
            _deny, response_serializer=handler.response_serializer
        )
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(
            _deny, response_serializer=handler.response_serializer
        )
    if handler.stream_stream is not None:
        return grpc.stream_stream_rpc_method_handler(
            _deny, response_serializer=handler.response_serializer
        )
    return grpc.unary_unary_rpc_method_handler(
        _deny, response_serializer=handler.response_serializer
    )
