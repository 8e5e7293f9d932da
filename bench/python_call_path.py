"""The worker's own cost of one no-op call, hot: the engine's Execute in a loop.

No transport and no thread switches: what the call path costs when nothing else
happens between calls (decode the frame, run the tool, encode the reply frame, as
the local transport's reader does). Prints microseconds per call, the best of
--rounds rounds (the least disturbed by other work on the machine).

    python python_call_path.py 20000             # us per call
    python python_call_path.py 20000 --profile   # Python function calls per call
"""

import argparse
import cProfile
import pstats
import time

from snakepit_bridge import wire
from snakepit_bridge._proto import worker_pb2
from snakepit_bridge.adapters.showcase import ShowcaseAdapter
from snakepit_bridge.engine import Engine
from snakepit_bridge.local_transport import _frame


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("calls", type=int, nargs="?", default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="count function calls per call instead")
    args = parser.parse_args()
    adapter = ShowcaseAdapter()
    adapter.setup()
    engine = Engine(adapter, adapter_spec="bench", threads=1)
    try:
        frames = call_frames(args.calls)

        def one(data: bytes) -> bytes:
            frame = wire.decode_data_frame(data)
            return _frame(frame.call_id, 6, engine.execute_encoded(frame.body))

        for data in frames[: args.calls // 10]:
            one(data)
        if args.profile:
            print(f"{function_calls(one, frames):.1f}")
            return
        best = min(seconds(one, frames) for _ in range(args.rounds))
        print(f"{best / args.calls * 1e6:.1f}")
    finally:
        engine.close()


def call_frames(calls: int) -> list[bytes]:
    deadline = int((time.time() + 600) * 1000)
    return [
        worker_pb2.DataFrame(
            call_id=str(i),
            execute=worker_pb2.CallRequest(
                call_id=str(i), tool="noop", args=worker_pb2.Payload(json=b"{}"), deadline_unix_ms=deadline
            ),
        ).SerializeToString()
        for i in range(calls)
    ]


def seconds(one, frames: list[bytes]) -> float:
    started = time.perf_counter()
    for data in frames:
        one(data)
    return time.perf_counter() - started


def function_calls(one, frames: list[bytes]) -> float:
    """Python and built-in function calls per call, the loop's own call of ``one`` included."""
    profile = cProfile.Profile()
    profile.enable()
    for data in frames:
        one(data)
    profile.disable()
    stats = pstats.Stats(profile)
    return (stats.total_calls - 1) / len(frames)  # -1: profile.disable itself


if __name__ == "__main__":
    main()
