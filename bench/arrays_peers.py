"""The Python side of bench/arrays.mjs: the same two array tools behind three transports.

* ``ArraysBenchAdapter``: a snakepit adapter (``bench/`` on PYTHONPATH).
* ``python arrays_peers.py pipe``: the JSON-lines pipe baseline (as bench/pipe_server.py:
  one request per line, ``{"id", "tool", "args"}``; arrays as lists of numbers).
* ``python arrays_peers.py http PORT``: FastAPI under uvicorn, JSON lists and raw bytes.

The tools: ``roundtrip`` returns its float32 array; ``score`` takes a 500 x 64 float32
matrix and returns one float32 score per row (x @ w). numpy does the arithmetic
everywhere; what differs is how the numbers travel.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import numpy as np

W = np.linspace(-1.0, 1.0, 64, dtype=np.float32)


def score(x: np.ndarray) -> np.ndarray:
    return x @ W


# ---- snakepit --------------------------------------------------------------------------

try:
    from snakepit_bridge import Adapter, tool
except ImportError:  # the pipe and HTTP peers need only numpy
    Adapter = object  # type: ignore[assignment,misc]

    def tool(f):  # type: ignore[no-untyped-def]
        return f


class ArraysBenchAdapter(Adapter):  # type: ignore[misc,valid-type]
    @tool
    def noop(self) -> None:
        """Nothing."""

    @tool
    def roundtrip(self, x: np.ndarray) -> np.ndarray:
        """Return the array as it came."""
        return x

    @tool
    def score(self, x: np.ndarray) -> np.ndarray:
        """One float32 score per row."""
        return score(x)

    @tool
    def roundtrip_list(self, x: list[float]) -> list[float]:
        """The same through the JSON codec, as a list of numbers."""
        return np.asarray(x, dtype=np.float32).tolist()

    @tool
    def score_list(self, rows: list[list[float]]) -> list[float]:
        """The same through the JSON codec, rows as lists."""
        return score(np.asarray(rows, dtype=np.float32)).tolist()


# ---- the JSON-lines pipe -------------------------------------------------------------


def pipe() -> None:
    out = sys.stdout
    for line in sys.stdin:
        req = json.loads(line)
        args = req["args"]
        if req["tool"] == "roundtrip":
            result = np.asarray(args["x"], dtype=np.float32).tolist()
        elif req["tool"] == "score":
            result = score(np.asarray(args["rows"], dtype=np.float32)).tolist()
        else:
            result = None
        out.write(json.dumps({"id": req["id"], "result": result}) + "\n")
        out.flush()


# ---- FastAPI -----------------------------------------------------------------------------


def http(port: int) -> None:
    import uvicorn

    app = make_app()
    # Keep idle connections open for the whole run: the client reuses them between cases.
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, timeout_keep_alive=600)


def make_app() -> Any:
    # FastAPI reads the handlers' annotations: Request and Response must be module globals.
    global Request, Response
    from fastapi import FastAPI, Request, Response

    app = FastAPI()

    @app.get("/health")
    async def health() -> dict:
        return {"pid": os.getpid()}

    @app.post("/roundtrip.json")
    async def roundtrip_json(request: Request) -> Response:
        body = await request.json()
        out = np.asarray(body["x"], dtype=np.float32).tolist()
        return Response(json.dumps(out), media_type="application/json")

    @app.post("/score.json")
    async def score_json(request: Request) -> Response:
        body = await request.json()
        out = score(np.asarray(body["rows"], dtype=np.float32)).tolist()
        return Response(json.dumps(out), media_type="application/json")

    @app.post("/roundtrip.bin")
    async def roundtrip_bin(request: Request) -> Response:
        x = np.frombuffer(await request.body(), dtype="<f4")
        return Response(x.tobytes(), media_type="application/octet-stream")

    @app.post("/score.bin")
    async def score_bin(request: Request) -> Response:
        rows, cols = (int(v) for v in request.headers["x-shape"].split(","))
        x = np.frombuffer(await request.body(), dtype="<f4").reshape(rows, cols)
        return Response(score(x).astype("<f4").tobytes(), media_type="application/octet-stream")

    return app


if __name__ == "__main__":
    if sys.argv[1] == "pipe":
        pipe()
    else:
        http(int(sys.argv[2]))
