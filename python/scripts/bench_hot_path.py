"""Per-call cost of the worker's hot path: decode a DataFrame, run a no-op tool, encode the reply frame.

No sockets, no threads: what the local transport's reader does per call, in a loop.
Compare protobuf implementations with the same interpreter:

    python/.venv/bin/python python/scripts/bench_hot_path.py
    PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python python/.venv/bin/python python/scripts/bench_hot_path.py
    python/.venv-ft/bin/python python/scripts/bench_hot_path.py      # free-threaded 3.13t

Each figure is the best of 5 rounds of 20,000 calls.
"""
import sys, time
from google.protobuf.internal import api_implementation
from snakepit_bridge import wire
from snakepit_bridge._proto import worker_pb2
from snakepit_bridge.engine import Engine
from snakepit_bridge.local_transport import _frame
from snakepit_bridge.adapters.showcase import ShowcaseAdapter

engine = Engine(ShowcaseAdapter(), adapter_spec="showcase")
req = worker_pb2.CallRequest(call_id="c-000123", tool="noop", args=worker_pb2.Payload(json=b"{}"),
                             deadline_unix_ms=int(time.time() * 1000) + 3_600_000)
data = worker_pb2.DataFrame(call_id="c-000123", execute=req).SerializeToString()

def via_protobuf():
    f = worker_pb2.DataFrame.FromString(data)
    kind = f.WhichOneof("kind")
    return _frame(f.call_id, 6, engine.execute(getattr(f, kind)).SerializeToString())

def via_wire():
    f = wire.decode_data_frame(data, by_hand=True)
    return _frame(f.call_id, 6, engine.execute_encoded(f.body))

def as_shipped():  # what local_transport does: hand decode only on pure-Python protobuf, hand encode always
    f = wire.decode_data_frame(data)
    return _frame(f.call_id, 6, engine.execute_encoded(f.body))

def decode_only_pb():
    f = worker_pb2.DataFrame.FromString(data); f.WhichOneof("kind"); e = f.execute; (e.call_id, e.tool, e.args.json, e.session_id, e.deadline_unix_ms, dict(e.headers))

def decode_only_wire():
    wire.decode_data_frame(data, by_hand=True)

def bench(fn, n=20000):
    for _ in range(2000): fn()
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(n): fn()
        best = min(best, (time.perf_counter() - t) / n)
    return best * 1e6

print(f"{sys.version.split()[0]} {'free-threaded' if not getattr(sys, '_is_gil_enabled', lambda: True)() else 'GIL'} protobuf={api_implementation.Type()}")
for name, fn in [("call via protobuf objects", via_protobuf), ("call via wire (hand codec)", via_wire), ("call as shipped", as_shipped), ("decode only, protobuf", decode_only_pb), ("decode only, wire", decode_only_wire)]:
    print(f"  {name:30s} {bench(fn):6.2f} us")
engine.close()
