"""The instrumentation's cost per call, Responses API beside Chat Completions, in one run.

``responses.create`` and ``chat.completions.create`` with the same prompt against the
`instant` simulator scenario on loopback, plain and instrumented. The four (API, mode)
pairs alternate in a fresh random order for every call, as in ``overhead.py``, so each
meets the same drifts of a small, noisy machine. Per API: the median wall and client CPU
time per call in each mode, their ratio (with the per-round median ratios' spread) and
the instrumentation's CPU per call (difference of medians).

    python benchmarks/overhead_apis.py [--rounds 15] [--calls 20] [--stream]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import openai
from _common import spread

from profiler.simulator import SimulatorProcess, load_scenario
from profiler.trace.instrument import collecting
from profiler.workload import build_messages

MODES: dict[str, Callable[[], AbstractContextManager[object]]] = {
    "plain": nullcontext,
    "instrumented": collecting,
}


def chat_call(client: openai.OpenAI, stream: bool) -> None:
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=build_messages(), stream=stream)
    if stream:
        for _ in reply:  # type: ignore[union-attr]
            pass


def responses_call(client: openai.OpenAI, stream: bool) -> None:
    reply = client.responses.create(model="gpt-4o-mini", input=build_messages(), stream=stream)  # type: ignore[arg-type]
    if stream:
        for _ in reply:  # type: ignore[union-attr]
            pass


APIS: dict[str, Callable[[openai.OpenAI, bool], None]] = {
    "chat.completions.create": chat_call,
    "responses.create": responses_call,
}


def _one(client: openai.OpenAI, api: str, mode: str, stream: bool) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one call of this API in this mode."""
    with MODES[mode]():
        wall, cpu = time.perf_counter(), time.thread_time()
        APIS[api](client, stream)
        return time.perf_counter() - wall, time.thread_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=15, help="rounds (default: 15)")
    parser.add_argument(
        "--calls", type=int, default=20, help="calls per API and mode per round (default: 20)"
    )
    parser.add_argument("--stream", action="store_true", help="streamed calls")
    args = parser.parse_args()

    pairs = [(api, mode) for api in APIS for mode in MODES]
    samples: dict[tuple[str, str], list[list[tuple[float, float]]]] = {pair: [] for pair in pairs}
    shuffler = random.Random(0)
    with SimulatorProcess(load_scenario("instant")) as simulator:
        client = openai.OpenAI(base_url=simulator.base_url, api_key="sk-bench", max_retries=0)
        for _ in range(2 * args.calls):  # warm up: imports, model building, the connection pool
            for api, mode in pairs:
                _one(client, api, mode, args.stream)
        for _ in range(args.rounds):
            for pair in pairs:
                samples[pair].append([])
            for _ in range(args.calls):
                shuffler.shuffle(pairs)
                for api, mode in pairs:
                    samples[(api, mode)][-1].append(_one(client, api, mode, args.stream))

    def overall(pair: tuple[str, str], index: int) -> float:
        return statistics.median(s[index] for round_ in samples[pair] for s in round_)

    def per_round(pair: tuple[str, str], index: int) -> list[float]:
        return [statistics.median(s[index] for s in round_) for round_ in samples[pair]]

    kind = "streamed" if args.stream else "plain"
    print(f"{args.rounds} rounds × {args.calls} {kind} calls per API and mode, interleaved, instant scenario")
    for api in APIS:
        plain, instrumented = (api, "plain"), (api, "instrumented")
        ratios = [
            [i / p for i, p in zip(per_round(instrumented, k), per_round(plain, k), strict=True)]
            for k in (0, 1)
        ]
        print(
            f"{api:>23}: plain {overall(plain, 0) * 1000:.3f} ms wall, {overall(plain, 1) * 1000:.3f} ms CPU;"
            f" instrumented/plain wall {overall(instrumented, 0) / overall(plain, 0):.3f}"
            f" (rounds: {spread(ratios[0])})"
            f"  CPU {overall(instrumented, 1) / overall(plain, 1):.3f} (rounds: {spread(ratios[1])});"
            f" +{(overall(instrumented, 1) - overall(plain, 1)) * 1e6:.0f} µs CPU/call"
        )


if __name__ == "__main__":
    main()
