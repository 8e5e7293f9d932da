"""The worker's own cost of one no-op call, hot: the servicer's Execute in a loop.

No transport and no thread switches: what the call path costs when nothing else
happens between calls. Prints microseconds per call.
"""

import sys
import time

from snakepit_bridge._proto import worker_pb2
from snakepit_bridge.adapters.showcase import ShowcaseAdapter
from snakepit_bridge.local_transport import _LOCAL_CONTEXT
from snakepit_bridge.server import WorkerServicer


def main(calls: int) -> None:
    adapter = ShowcaseAdapter()
    adapter.setup()
    servicer = WorkerServicer(adapter, adapter_spec="bench", threads=1)
    deadline = int((time.time() + 600) * 1000)
    requests = [
        worker_pb2.CallRequest(call_id=str(i), tool="noop", args=worker_pb2.Payload(json=b"{}"), deadline_unix_ms=deadline)
        for i in range(calls)
    ]
    for r in requests[: calls // 10]:
        servicer.Execute(r, _LOCAL_CONTEXT)  # type: ignore[arg-type]
    started = time.perf_counter()
    for r in requests:
        servicer.Execute(r, _LOCAL_CONTEXT)  # type: ignore[arg-type]
    print(f"{(time.perf_counter() - started) / calls * 1e6:.1f}")
    servicer.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)
