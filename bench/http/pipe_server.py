"""A python-shell-style back end: one plain Python process, JSON lines on stdin/stdout.

Each request is {"id": n, "tool": "predict" | "score_matrix" | "noop", "args": {"rows": ...}};
each reply is {"id": n, "result": ...} or {"id": n, "error": "..."}, in order, so many
requests can be in flight on the one pipe. Prints nothing until the model is trained,
then "ready" on stderr.
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import bench_model  # noqa: E402

TOOLS = {
    "noop": lambda: None,
    "score_matrix": bench_model.score_matrix,
    "predict": bench_model.predict,
}


def main() -> None:
    bench_model.load_model()
    sys.stderr.write("ready\n")
    sys.stderr.flush()
    out = sys.stdout
    for line in sys.stdin:
        req = json.loads(line)
        try:
            reply = {"id": req["id"], "result": TOOLS[req["tool"]](**req["args"])}
        except Exception as exc:  # noqa: BLE001 - the error travels back as text
            reply = {"id": req["id"], "error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
