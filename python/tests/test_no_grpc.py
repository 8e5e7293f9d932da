"""The worker needs Python and protobuf only: nothing in snakepit_bridge may import grpc."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "snakepit_bridge"

# Runs in a fresh interpreter: a meta-path finder refuses grpc, then every module is imported.
_IMPORT_ALL_WITHOUT_GRPC = r"""
import importlib, pkgutil, sys

class NoGrpc:
    def find_spec(self, name, path=None, target=None):
        if name == "grpc" or name.startswith("grpc.") or name.startswith("grpc_"):
            raise ImportError(f"{name} is blocked: the worker must not need grpc")
        return None

sys.meta_path.insert(0, NoGrpc())
import snakepit_bridge
names = [m.name for m in pkgutil.walk_packages(snakepit_bridge.__path__, "snakepit_bridge.")]
for name in names:
    importlib.import_module(name)
assert not [m for m in sys.modules if m == "grpc" or m.startswith("grpc")], "grpc got imported"
print(len(names))
"""


def test_every_module_imports_with_grpc_blocked() -> None:
    out = subprocess.run([sys.executable, "-c", _IMPORT_ALL_WITHOUT_GRPC], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    expected = [p for p in PACKAGE.rglob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert int(out.stdout) >= len(expected) - 1  # every module found (the count includes packages)


def test_no_source_file_mentions_a_grpc_import() -> None:
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if any(line.lstrip().startswith(("import grpc", "from grpc")) for line in p.read_text().splitlines())
    ]
    assert offenders == []
    assert not (PACKAGE / "_proto" / "worker_pb2_grpc.py").exists()


def test_the_package_depends_on_protobuf_only() -> None:
    import tomllib

    pyproject = tomllib.loads((PACKAGE.parents[1] / "pyproject.toml").read_text())
    assert [d.split(">")[0].split("=")[0].split("<")[0] for d in pyproject["project"]["dependencies"]] == ["protobuf"]
