"""The baseline to beat: the worker's engine behind a grpcio server (unary Execute).

Not part of snakepit_bridge, which never needs grpcio: this runs from the dev venv
(grpcio comes with grpcio-tools there) so that `pnpm bench` can compare the pool
with the unary gRPC call most Node-to-Python setups make.

    python bench/grpc_baseline_server.py ADAPTER UNIX_SOCKET_PATH
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

import grpc

from snakepit_bridge.adapter import resolve_adapter_class
from snakepit_bridge.engine import Engine
from snakepit_bridge._proto import worker_pb2


def main() -> None:
    spec, path = sys.argv[1], sys.argv[2]
    adapter = resolve_adapter_class(spec)()
    adapter.setup()
    engine = Engine(adapter, adapter_spec=spec, threads=1)

    def execute(request: worker_pb2.CallRequest, context: grpc.ServicerContext) -> worker_pb2.CallResponse:
        return engine.execute(request)

    handler = grpc.method_handlers_generic_handler(
        "snakepit.worker.v1.WorkerService",
        {
            "Execute": grpc.unary_unary_rpc_method_handler(
                execute,
                request_deserializer=worker_pb2.CallRequest.FromString,
                response_serializer=worker_pb2.CallResponse.SerializeToString,
            )
        },
    )
    server = grpc.server(ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"unix:{path}")
    server.start()
    print("ready", flush=True)
    sys.stdin.read()  # until the bench closes our stdin
    server.stop(grace=None)


if __name__ == "__main__":
    main()
