"""The cost of our instrumentation per SDK call, as a ratio measured side by side.

Calls against the `instant` simulator scenario alternate mode by mode
(plain, instrumented, cProfile, pyinstrument, in a fresh random order each time), so every mode meets
the same drifts of a small, noisy machine whose cores the simulator shares.
Each round's per-mode median gives one ratio to plain; the median of those
ratios and their spread are reported, for wall time and for the client's CPU
time per call (which the simulator disturbs less). The last line is the ratio
of the medians over all calls, the steadiest figure.

    python benchmarks/overhead.py [--rounds 20] [--calls 25] [--stream]

The last line is ``instrumented/plain ratio: X.XXX`` (median wall-time ratio).
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import random
import statistics
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import openai
from _common import call, spread
from pyinstrument import Profiler

from profiler.simulator import SimulatorProcess, load_scenario
from profiler.trace.instrument import collecting
from profiler.trace.recording import Collector


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


READS: list[int] = []  # reads per call in the arrivals mode


class _Arrivals(AbstractContextManager[None]):
    """Instrumented with kernel arrival times on (as a profiling run records): our network backend."""

    def __enter__(self) -> None:
        self.scope = collecting(Collector(arrival_times=True))
        self.collector = self.scope.__enter__()

    def __exit__(self, *exc: object) -> None:
        self.scope.__exit__(*exc)
        READS.extend(len(r.read_returned) for r in self.collector.recordings)


MODES: dict[str, Callable[[], AbstractContextManager[object]]] = {
    "plain": nullcontext,
    "instrumented": collecting,
    "arrivals": _Arrivals,
    "cprofile": lambda: _Profiled(cProfile.Profile),
    "pyinstrument": lambda: _Profiled(lambda: Profiler(interval=0.001)),
}


def _one(clients: dict[str, openai.OpenAI], mode: str, stream: bool) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one call in this mode."""
    # The arrivals mode puts our backend under its client's pool for good: it has a client of its own.
    client = clients["arrivals" if mode == "arrivals" else "other"]
    with MODES[mode]():
        wall, cpu = time.perf_counter(), time.thread_time()
        call(client, stream)
        return time.perf_counter() - wall, time.thread_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=20, help="rounds (default: 20)")
    parser.add_argument("--calls", type=int, default=25, help="calls per mode per round (default: 25)")
    parser.add_argument("--stream", action="store_true", help="streamed calls")
    parser.add_argument(
        "--token-ms",
        type=float,
        default=0.0,
        help="the simulator's gap between tokens (default 0: every chunk queued at once)",
    )
    args = parser.parse_args()

    # per mode: one list per round of (wall, cpu) per call
    samples: dict[str, list[list[tuple[float, float]]]] = {mode: [] for mode in MODES}
    modes = list(MODES)
    shuffler = random.Random(0)
    scenario = dataclasses.replace(load_scenario("instant"), token_ms=args.token_ms)
    with SimulatorProcess(scenario) as simulator:
        clients = {
            name: openai.OpenAI(base_url=simulator.base_url, api_key="sk-bench", max_retries=0)
            for name in ("arrivals", "other")
        }
        for _ in range(3 * args.calls):  # warm up: imports, model building, the connection pools
            _one(clients, "instrumented", args.stream)
            _one(clients, "arrivals", args.stream)
        READS.clear()
        for _ in range(args.rounds):
            for mode in MODES:
                samples[mode].append([])
            for _ in range(args.calls):
                # A fresh random order each time, so that every mode follows every other equally
                # often: a profiler stopping leaves work behind for whichever call comes next.
                # (Rotating the order would not do: it keeps the cyclic order, plain always after
                # pyinstrument.)
                shuffler.shuffle(modes)
                for mode in modes:
                    samples[mode][-1].append(_one(clients, mode, args.stream))

    def per_round(mode: str, index: int) -> list[float]:
        return [statistics.median(s[index] for s in round_) for round_ in samples[mode]]

    def overall(mode: str, index: int) -> float:
        return statistics.median(s[index] for round_ in samples[mode] for s in round_)

    kind = "streamed" if args.stream else "plain"
    spacing = f", {args.token_ms:g} ms between tokens" if args.token_ms else ""
    print(
        f"{args.rounds} rounds × {args.calls} {kind} calls per mode, interleaved, instant scenario{spacing}"
    )
    plain_wall, plain_cpu = overall("plain", 0), overall("plain", 1)
    print(f"plain: {plain_wall * 1000:.3f} ms/call wall, {plain_cpu * 1000:.3f} ms/call client CPU")
    for mode in ("instrumented", "arrivals", "cprofile", "pyinstrument"):
        ratios = [
            [m / p for m, p in zip(per_round(mode, i), per_round("plain", i), strict=True)] for i in (0, 1)
        ]
        print(
            f"{mode:>12}/plain  wall {overall(mode, 0) / plain_wall:.3f} (rounds: {spread(ratios[0])})"
            f"  CPU {overall(mode, 1) / plain_cpu:.3f} (rounds: {spread(ratios[1])})"
        )
    extra = (overall("instrumented", 1) - plain_cpu) * 1e6
    print(f"instrumentation CPU per call (difference of medians): {extra:.0f} µs")
    per_read = (overall("arrivals", 1) - overall("instrumented", 1)) * 1e6 / statistics.mean(READS)
    print(
        f"arrival times: {statistics.mean(READS):.1f} reads per call, "
        f"{per_read:+.1f} µs of CPU per read over the instrumented SDK's own backend"
    )
    print(f"instrumented/plain ratio: {overall('instrumented', 0) / plain_wall:.3f}")


if __name__ == "__main__":
    main()
