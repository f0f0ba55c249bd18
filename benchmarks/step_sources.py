"""What recording a call costs the calling thread, and what reporting its network steps adds.

Sources, each with an SDK client of its own against the `instant` simulator on loopback, called
in turn in random order:

- `none`: no collector, the SDK alone;
- `no-steps`: recorded, but no step of the exchange reported (the trace extension left unset,
  by patching it out here: the product never runs so; a call would be known only from its
  start to its headers);
- `trace`: recorded as the monitor and profiling runs record it, with httpcore's trace
  extension (without kernel arrival times, as the monitor).

Reported: the calling thread's CPU time per call (median, p90) and what each adds to `none`.
At 93eb350 this script also measured a fourth source, a pass-through network backend noting
each connect, write and read (`profiler/trace/netsteps.py` there): it cost what the trace
extension costs, and was reverted (docs/performance.md).

    python benchmarks/step_sources.py [--calls 3000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import openai

from profiler.simulator import SimulatorProcess, load_scenario
from profiler.trace import instrument
from profiler.trace.instrument import collecting
from profiler.trace.recording import CallRecording, Collector

SOURCES = ("none", "no-steps", "trace")


class _Steps:
    """httpcore's trace extension, switched off for the `no-steps` calls by the tracer maker's patch."""

    def __init__(self) -> None:
        self.reported = True

    def patch(self, make_tracer: Callable[..., Any]) -> Callable[..., Any]:
        def make(recording: CallRecording, chained: Any) -> Any:
            return make_tracer(recording, chained) if self.reported else chained

        return make


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=3000, help="calls per source (default: 3000)")
    args = parser.parse_args()
    rng = random.Random(7)
    cpu_us: dict[str, list[float]] = {source: [] for source in SOURCES}
    leaked: list[int] = []  # `no-steps` calls that reported a step anyway: the patch did not hold

    def check(recording: CallRecording) -> None:
        if len(recording.codes) != recording.attempts:
            leaked.append(recording.call_id)

    collectors = {"no-steps": Collector(check, keep=False), "trace": Collector(keep=False)}
    steps = _Steps()
    instrument._make_tracer = steps.patch(instrument._make_tracer)  # type: ignore[assignment]
    messages = [{"role": "user", "content": "Two books?"}]
    with SimulatorProcess(load_scenario("instant")) as simulator:
        clients = {
            source: openai.OpenAI(base_url=simulator.base_url, api_key="sk-bench", max_retries=0)
            for source in SOURCES
        }
        order = list(SOURCES)
        for round_ in range(args.calls + 50):
            rng.shuffle(order)
            for source in order:
                create = clients[source].chat.completions.create
                collector = collectors.get(source)
                steps.reported = source != "no-steps"
                began = time.thread_time_ns()
                if collector is None:
                    create(model="gpt-3.5-turbo", messages=messages)
                else:
                    with collecting(collector):
                        create(model="gpt-3.5-turbo", messages=messages)
                if round_ >= 50:  # the first rounds warm up
                    cpu_us[source].append((time.thread_time_ns() - began) / 1000)
        for client in clients.values():
            client.close()
    medians = {source: statistics.median(values) for source, values in cpu_us.items()}
    print(f"{args.calls} calls per source, in random order, instant scenario, loopback HTTP")
    for source, values in cpu_us.items():
        p90 = statistics.quantiles(values, n=10)[-1]
        extra = "" if source == "none" else f"  (+{medians[source] - medians['none']:.0f} µs over none)"
        figures = f"median {medians[source]:.0f} µs, p90 {p90:.0f} µs"
        print(f"{source:>8}: calling thread CPU per call, {figures}{extra}")
    print(f"the trace extension's steps: {medians['trace'] - medians['no-steps']:+.0f} µs a call")
    print(f"`no-steps` calls that reported a step: {len(leaked)}")


if __name__ == "__main__":
    main()
