"""Baseline: a plain Python process answering JSON lines on stdin/stdout.

This is how the simplest Node-to-Python bridges work (python-shell). Each request
is {"id": n, "tool": "noop", "args": {...}}; each reply is {"id": n, "result": ...}.
Requests are answered in order, so many can be in flight on the one pipe.
"""

import json
import sys


def main() -> None:
    out = sys.stdout
    for line in sys.stdin:
        req = json.loads(line)
        out.write(json.dumps({"id": req["id"], "result": None}) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
