"""Baseline: a plain Python process answering JSON lines on stdin/stdout.

This is how the simplest Node-to-Python bridges work (python-shell). Each request
is {"id": n, "tool": ..., "args": {...}}; each reply is {"id": n, "result": ...}.
Requests are answered in order, so many can be in flight on the one pipe. JSON
has no bytes, so binary data travels base64-encoded, as users of such bridges do.
"""

import base64
import json
import sys


def run(tool: str, args: dict) -> object:
    if tool == "noop":
        return None
    if tool == "echo":
        return args["value"]
    if tool == "consume":
        data = args["data"]
        return len(base64.b64decode(data["b64"])) if isinstance(data, dict) else len(data)
    if tool == "produce":
        if args.get("kind") == "text":
            return "x" * args["size"]
        return {"b64": base64.b64encode(bytes(args["size"])).decode()}
    if tool == "echo_bytes":
        return {"b64": base64.b64encode(base64.b64decode(args["data"]["b64"])).decode()}
    raise ValueError(f"unknown tool {tool}")


def main() -> None:
    out = sys.stdout
    for line in sys.stdin:
        req = json.loads(line)
        out.write(json.dumps({"id": req["id"], "result": run(req["tool"], req["args"])}) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
