"""The FastAPI peer: the same functions behind FastAPI, served by uvicorn.

    uvicorn fastapi_app:app --app-dir bench/http --workers 2 --no-access-log

The body is a pydantic model (``{"rows": [[float, ...], ...]}``), as FastAPI's own
documentation writes it; handlers are ``async def`` (the work is short and CPU-bound,
so a thread-pool hop would only add cost). The model is trained at import, in each
worker, before it accepts connections.
"""

import os
import sys

from fastapi import FastAPI
from pydantic import BaseModel

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import bench_model  # noqa: E402

bench_model.load_model()
app = FastAPI()


class Rows(BaseModel):
    rows: list[list[float]]


@app.get("/health")
async def health() -> dict:
    return {"pid": os.getpid()}


@app.post("/score_matrix")
async def score_matrix(body: Rows) -> list[float]:
    return bench_model.score_matrix(body.rows)


@app.post("/predict")
async def predict(body: Rows) -> list[int]:
    return bench_model.predict(body.rows)
