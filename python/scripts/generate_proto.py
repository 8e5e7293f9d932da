"""Generate the Python protobuf and gRPC modules from proto/ into snakepit_bridge/_proto.

Run with the project's venv: `python/.venv/bin/python python/scripts/generate_proto.py`.
The output is committed; CI regenerates it and fails when anything changes.
"""

from __future__ import annotations

import re
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
            f"--grpc_python_out={OUT}",
            str(PROTO_ROOT / PROTO),
        ]
    )
    if code != 0:
        return code
    # protoc writes a package tree (snakepit/worker/v1/...); flatten it into _proto
    # and make the gRPC module import its sibling relatively.
    nested = OUT / "snakepit" / "worker" / "v1"
    for f in nested.iterdir():
        target = OUT / f.name
        text = f.read_text()
        text = re.sub(
            r"^from snakepit\.worker\.v1 import worker_pb2 as",
            "from . import worker_pb2 as",
            text,
            flags=re.M,
        )
        target.write_text(text)
    for d in (nested, nested.parent, nested.parent.parent):
        for f in d.iterdir():
            if f.is_file():
                f.unlink()
        d.rmdir()
    (OUT / "__init__.py").write_text('"""Generated from proto/snakepit/worker/v1/worker.proto. Do not edit."""\n')
    return 0


if __name__ == "__main__":
    sys.exit(main())
