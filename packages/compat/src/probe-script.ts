/** Prefix of the one stdout line that carries the probe result. */
export const PROBE_MARKER = "__SNAKEPIT_PROBE__";

/**
 * Python source run with `python -c`. It receives the library requests as JSON in
 * argv[1] and prints one `PROBE_MARKER{json}` line.
 *
 * Not run with `-I`: isolated mode ignores PYTHON* variables (PYTHON_GIL,
 * PYTHONPATH) and user site-packages, and the probe must see the interpreter
 * exactly as a worker will. Instead the first statement drops the script
 * directory entry ('') so files in the working directory cannot shadow the
 * stdlib modules imported next.
 *
 * Versions come from importlib.metadata, so probing never imports (and never
 * runs import-time code of) the libraries themselves. Python 3.8+ is enough for
 * the script; packages_distributions() (3.10+) is only a fallback.
 */
export const PROBE_SCRIPT = String.raw`
import sys
sys.path[:] = [p for p in sys.path if p]
import json, platform, sysconfig
from importlib import metadata

_pkgs = None

def _dist_version(dist):
    try:
        return metadata.version(dist)
    except Exception:
        return None

def _by_import_name(name):
    global _pkgs
    if _pkgs is None:
        fn = getattr(metadata, "packages_distributions", None)
        try:
            _pkgs = fn() if fn else {}
        except Exception:
            _pkgs = {}
    for dist in _pkgs.get(name, []):
        version = _dist_version(dist)
        if version is not None:
            return version
    return None

def _library_version(spec):
    kind = spec.get("stdlib")
    if kind == "sqlite":
        import sqlite3
        return sqlite3.sqlite_version
    if kind == "python":
        return platform.python_version()
    for dist in spec.get("dists", []):
        version = _dist_version(dist)
        if version is not None:
            return version
    name = spec.get("importName")
    if name:
        if name in getattr(sys, "stdlib_module_names", ()):
            return platform.python_version()
        return _by_import_name(name)
    return None

requests = json.loads(sys.argv[1]) if len(sys.argv) > 1 else []
gil_check = getattr(sys, "_is_gil_enabled", None)
result = {
    "version": platform.python_version(),
    "versionInfo": {
        "major": sys.version_info.major,
        "minor": sys.version_info.minor,
        "micro": sys.version_info.micro,
        "releaseLevel": sys.version_info.releaselevel,
    },
    "implementation": platform.python_implementation(),
    "freeThreaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    "gilEnabled": bool(gil_check()) if gil_check else True,
    "platform": sys.platform,
    "machine": platform.machine(),
    "libraries": {spec["key"]: _library_version(spec) for spec in requests},
}
sys.stdout.write("${PROBE_MARKER}" + json.dumps(result) + "\n")
sys.stdout.flush()
`;
