"""Generate the Python protobuf module from proto/ into snakepit_bridge/_proto.

Run with the project's venv: `python/.venv/bin/python python/scripts/generate_proto.py`.
The output is committed; CI regenerates it and fails when anything changes.
grpcio-tools (the dev extra) is used only as the code generator: no gRPC stubs are
written, and the worker imports nothing from grpc.
"""

from __future__ import annotations

import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[2]
PROTO_ROOT = ROOT / "proto"
OUT = ROOT / "python" / "src" / "snakepit_bridge" / "_proto"
PROTO = "snakepit/worker/v1/worker.proto"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    include = Path(protoc.__file__).parent / "_proto"
    code = protoc.main(
        [
            "grpc_tools.protoc",
            f"-I{PROTO_ROOT}",
            f"-I{include}",
            f"--python_out={OUT}",
            f"--pyi_out={OUT}",
            str(PROTO_ROOT / PROTO),
        ]
    )
    if code != 0:
        return code
    # protoc writes a package tree (snakepit/worker/v1/...); flatten it into _proto.
    nested = OUT / "snakepit" / "worker" / "v1"
    for f in nested.iterdir():
        (OUT / f.name).write_text(f.read_text())
    (OUT / "worker_pb2_grpc.py").unlink(missing_ok=True)  # from older versions of this script
    for d in (nested, nested.parent, nested.parent.parent):
        for f in d.iterdir():
            if f.is_file():
                f.unlink()
        d.rmdir()
    (OUT / "__init__.py").write_text('"""Generated from proto/snakepit/worker/v1/worker.proto. Do not edit."""\n')
    return 0


if __name__ == "__main__":
    sys.exit(main())
