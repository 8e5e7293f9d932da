"""The worker's own cost of one no-op call, hot: the engine's Execute in a loop.

No transport and no thread switches: what the call path costs when nothing else
happens between calls (decode the frame, run the tool, encode the reply frame, as
the local transport's reader does). Prints microseconds per call.
"""

import sys
import time

from snakepit_bridge import wire
from snakepit_bridge._proto import worker_pb2
from snakepit_bridge.adapters.showcase import ShowcaseAdapter
from snakepit_bridge.engine import Engine
from snakepit_bridge.local_transport import _frame


def main(calls: int) -> None:
    adapter = ShowcaseAdapter()
    adapter.setup()
    engine = Engine(adapter, adapter_spec="bench", threads=1)
    deadline = int((time.time() + 600) * 1000)
    frames = [
        worker_pb2.DataFrame(
            call_id=str(i),
            execute=worker_pb2.CallRequest(call_id=str(i), tool="noop", args=worker_pb2.Payload(json=b"{}"), deadline_unix_ms=deadline),
        ).SerializeToString()
        for i in range(calls)
    ]

    def one(data: bytes) -> bytes:
        frame = wire.decode_data_frame(data)
        return _frame(frame.call_id, 6, engine.execute_encoded(frame.body))

    for data in frames[: calls // 10]:
        one(data)
    started = time.perf_counter()
    for data in frames:
        one(data)
    print(f"{(time.perf_counter() - started) / calls * 1e6:.1f}")
    engine.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)
