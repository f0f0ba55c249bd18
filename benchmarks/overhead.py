"""The cost of our instrumentation per SDK call, as a ratio measured side by side.

Plain and instrumented rounds alternate many times against the `instant`
simulator scenario; each round makes the same number of calls. The ratio of
each adjacent pair of rounds is taken, and the median with its spread is
reported, for wall time and for the client's CPU time per call (which the
simulator, sharing the cores, disturbs less). cProfile and pyinstrument are
measured the same way on the same loop.

    python benchmarks/overhead.py [--rounds 30] [--calls 20]

The last line is ``instrumented/plain ratio: X.XXX`` (median wall-time ratio).
"""

from __future__ import annotations

import argparse
import cProfile
import statistics
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import openai
from _common import call, spread
from pyinstrument import Profiler

from profiler.simulator import SimulatorProcess, load_scenario
from profiler.trace.instrument import collecting


class _Profiled(AbstractContextManager[None]):
    def __init__(self, make: Callable[[], object]) -> None:
        self.make = make

    def __enter__(self) -> None:
        self.profiler = self.make()
        self.profiler.enable() if isinstance(self.profiler, cProfile.Profile) else self.profiler.start()  # type: ignore[attr-defined]

    def __exit__(self, *exc: object) -> None:
        if isinstance(self.profiler, cProfile.Profile):
            self.profiler.disable()
        else:
            self.profiler.stop()  # type: ignore[attr-defined]


MODES: dict[str, Callable[[], AbstractContextManager[object]]] = {
    "plain": nullcontext,
    "instrumented": collecting,
    "cprofile": lambda: _Profiled(cProfile.Profile),
    "pyinstrument": lambda: _Profiled(lambda: Profiler(interval=0.001)),
}


def _round(client: openai.OpenAI, mode: str, calls: int, stream: bool) -> tuple[float, float]:
    """(wall seconds per call, CPU seconds per call) for one round."""
    with MODES[mode]():
        wall, cpu = time.perf_counter(), time.thread_time()
        for _ in range(calls):
            call(client, stream)
        return (time.perf_counter() - wall) / calls, (time.thread_time() - cpu) / calls


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=30, help="rounds per mode (default: 30)")
    parser.add_argument("--calls", type=int, default=20, help="calls per round (default: 20)")
    parser.add_argument("--stream", action="store_true", help="streamed calls")
    args = parser.parse_args()

    with SimulatorProcess(load_scenario("instant")) as simulator:
        client = openai.OpenAI(base_url=simulator.base_url, api_key="sk-bench", max_retries=0)
        for _ in range(3):  # warm up: imports, model building, the connection pool
            _round(client, "instrumented", args.calls, args.stream)
        wall: dict[str, list[float]] = {mode: [] for mode in MODES}
        cpu: dict[str, list[float]] = {mode: [] for mode in MODES}
        for _ in range(args.rounds):
            for mode in MODES:  # adjacent rounds of every mode: drifts hit all alike
                w, c = _round(client, mode, args.calls, args.stream)
                wall[mode].append(w)
                cpu[mode].append(c)

    print(
        f"{args.rounds} rounds × {args.calls} calls per mode, {'streamed' if args.stream else 'plain'} calls,"
        " instant scenario (median [p25 – p75])"
    )
    print(
        f"plain: {spread([w * 1000 for w in wall['plain']])} ms/call wall, "
        f"{spread([c * 1000 for c in cpu['plain']])} ms/call client CPU"
    )
    for mode in ("instrumented", "cprofile", "pyinstrument"):
        wall_ratios = [m / p for m, p in zip(wall[mode], wall["plain"], strict=True)]
        cpu_ratios = [m / p for m, p in zip(cpu[mode], cpu["plain"], strict=True)]
        print(f"{mode:>12}/plain  wall {spread(wall_ratios)}  CPU {spread(cpu_ratios)}")
    extra_us = [(m - p) * 1e6 for m, p in zip(cpu["instrumented"], cpu["plain"], strict=True)]
    print(f"instrumentation CPU per call: {spread(extra_us)} µs")
    ratios = [m / p for m, p in zip(wall["instrumented"], wall["plain"], strict=True)]
    print(f"instrumented/plain ratio: {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
