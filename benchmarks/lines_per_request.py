"""Python lines executed per request by each route of `chat_overhead.py`: a cost that noise does not move.

Wall-clock ratios on a shared 2-core machine move by a point or two between runs,
more than one change to the instrumentation is worth. The number of Python lines
a request executes does not: it is counted with ``sys.settrace`` over warm
requests through Flask's test client (the monitor's worker does nothing here, so
what is counted is what the request's own thread runs). Lines are not
microseconds — a line that allocates or makes a system call costs more — but a
change that removes lines from the hot path shows here, run after run.

Prints each route's lines per request, then for each comparison the functions
whose counts differ most: where the instrumentation's lines are.

    python benchmarks/lines_per_request.py [--requests 10] [--top 15]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from types import FrameType
from typing import Any

import openai
from chat_overhead import routes

from profiler.monitor import worker
from profiler.simulator import SimulatorProcess, load_scenario

PAIRS = (("monitored", "bare"), ("chat", "chat-bare"), ("chat-timing", "chat"), ("chat-bare", "bare"))


def count_lines(client: Any, path: str, requests: int) -> Counter[str]:
    counts: Counter[str] = Counter()

    def local(frame: FrameType, event: str, _arg: Any) -> Any:
        if event == "line":
            code = frame.f_code
            counts[f"{code.co_filename.rsplit('site-packages/', 1)[-1]}:{code.co_name}"] += 1
        return local

    def calls(_frame: FrameType, event: str, _arg: Any) -> Any:
        return local if event == "call" else None

    for _ in range(10):  # warm: imports, caches, connections
        assert client.post(path, json={"prompt": "Two books?"}).status_code == 200
    sys.settrace(calls)
    try:
        for _ in range(requests):
            client.post(path, json={"prompt": "Two books?"})
    finally:
        sys.settrace(None)
    return Counter({name: count / requests for name, count in counts.items()})


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=10, help="requests counted per route (default: 10)")
    parser.add_argument("--top", type=int, default=15, help="functions listed per comparison (default: 15)")
    args = parser.parse_args()
    worker.Worker._run_batch = lambda self, items: None  # type: ignore[method-assign]  # the request's own lines
    with SimulatorProcess(load_scenario("instant")) as simulator:
        sdk = openai.OpenAI(base_url=simulator.base_url, api_key="sk-bench", max_retries=0)
        counted = {
            name: count_lines(app.test_client(), path, args.requests)
            for name, (app, path) in routes(sdk).items()
        }
    print(f"Python lines per request ({args.requests} warm requests each, Flask's test client)")
    for name, counts in counted.items():
        print(f"{name:>11}: {sum(counts.values()):8.1f}")
    for name, reference in PAIRS:
        difference = counted[name].copy()
        difference.subtract(counted[reference])
        print(f"\n{name} over {reference}: {sum(difference.values()):+.1f} lines; most different:")
        for function, lines in sorted(difference.items(), key=lambda item: -abs(item[1]))[: args.top]:
            if abs(lines) >= 0.5:
                print(f"  {lines:+7.1f}  {function}")


if __name__ == "__main__":
    main()
