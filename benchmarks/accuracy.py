"""The error of each measured phase against the simulator's ground truth, over the sweep.

For every configuration (server delay × streamed or not × concurrency), the
sample workload runs traced against a fresh simulator; each attempt is joined
to the simulator's log by x-request-id and the error measured − truth is
taken for server_wait, TTFT and each inter-token gap.

    python benchmarks/accuracy.py [--requests 16]

Targets (issue 3): |error| ≤ max(1 ms, 2%) for network and server phases;
TTFT p99 |error| ≤ 1 ms with 16 concurrent streams.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

from profiler.accuracy import compare_run, measure_against_simulator
from profiler.runs.stats import percentile
from profiler.simulator import load_scenario
from profiler.workload import WorkloadConfig


def _row(name: str, errors: list[float], truth_ms: float) -> str:
    if not errors:
        return f"  {name:<12} (none)"
    absolute = sorted(abs(e) for e in errors)
    allowance = max(1.0, 0.02 * truth_ms)
    within = sum(1 for e in absolute if e <= allowance) / len(absolute)
    return (
        f"  {name:<12} n={len(errors):<4} median {percentile(sorted(errors), 50):+7.3f}  "
        f"p99|e| {percentile(absolute, 99):7.3f}  max|e| {absolute[-1]:7.3f} ms   "
        f"within max(1 ms, 2%): {within:.0%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=16, help="requests per configuration (default: 16)")
    parser.add_argument(
        "--delays", default="0,50,200,1000", help="server delays in ms (default: 0,50,200,1000)"
    )
    args = parser.parse_args()
    base = load_scenario("instant")
    with tempfile.TemporaryDirectory() as scratch:
        for concurrency in (1, 16):
            for stream in (False, True):
                for delay in (float(d) for d in args.delays.split(",")):
                    scenario = dataclasses.replace(
                        base, ttft_ms=delay, token_ms=10.0 if stream else 0.0, jitter_ms=0.0, output_tokens=6
                    )
                    config = WorkloadConfig(requests=args.requests, concurrency=concurrency, stream=stream)
                    measured = measure_against_simulator(scenario, config, Path(scratch) / "truth.jsonl")
                    comparisons = compare_run(measured.recordings, measured.truth)
                    kind = "stream" if stream else "plain"
                    print(f"delay {delay:>6.0f} ms  {kind:<6} concurrency {concurrency}")
                    print(_row("server_wait", [e for c in comparisons for e in c.server_wait_ms], delay))
                    if stream:
                        ttft = [c.ttft_ms for c in comparisons if c.ttft_ms is not None]
                        print(_row("ttft", ttft, delay))
                        print(_row("itl", [e for c in comparisons for e in c.itl_ms], 10.0))


if __name__ == "__main__":
    main()
