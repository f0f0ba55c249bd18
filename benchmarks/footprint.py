"""Memory per recorded call, and the time to write summary.json + requests.jsonl for 10,000 calls.

Memory: real calls against the `instant` simulator are recorded; the bytes
each recording holds (the object, its arrays of timestamps, its event codes,
its response facts, counted deeply) are averaged (plain and streamed).

Writing: 10,000 recordings (copies of real ones, with their own ids) go
through the whole path: traces derived, the run's figures built, both files written.

    python benchmarks/footprint.py [--calls 200] [--write-calls 10000]

Targets (issue 3): ≤ 2 KB per recorded call; ≤ 2 s to write for 10,000 calls.
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path

import openai
from _common import call

from profiler.output import OutputContext, requests_jsonl, summary_json, write_run
from profiler.runs import Run
from profiler.simulator import SimulatorProcess, load_scenario
from profiler.trace.derive import trace_call
from profiler.trace.instrument import collecting
from profiler.trace.recording import CallRecording


def deep_size(obj: object, seen: set[int] | None = None) -> int:
    """Bytes held by an object and everything it alone refers to (shared interned values count once)."""
    seen = set() if seen is None else seen
    if id(obj) in seen or obj is None or isinstance(obj, bool | int | type):
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, dict):
        size += sum(deep_size(k, seen) + deep_size(v, seen) for k, v in obj.items())
    elif isinstance(obj, list | tuple):
        size += sum(deep_size(item, seen) for item in obj)
    elif hasattr(obj, "__slots__"):
        size += sum(deep_size(getattr(obj, name, None), seen) for name in obj.__slots__)
    return size


def _record(client: openai.OpenAI, calls: int, stream: bool) -> tuple[list[CallRecording], float]:
    """(recordings, bytes held per recording)."""
    with collecting() as collector:
        for _ in range(calls):
            call(client, stream)
    seen: set[int] = set()
    held = sum(deep_size(recording, seen) for recording in collector.recordings)
    return collector.recordings, held / calls


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=200, help="calls recorded for the memory figure")
    parser.add_argument("--write-calls", type=int, default=10_000, help="calls written for the time figure")
    args = parser.parse_args()
    scenario = load_scenario("instant")
    with SimulatorProcess(scenario) as simulator:
        client = openai.OpenAI(base_url=simulator.base_url, api_key="sk-bench", max_retries=0)
        plain, plain_bytes = _record(client, args.calls, stream=False)
        streamed, stream_bytes = _record(client, args.calls, stream=True)
    chunks = sum(len(r.chunk_ready) for r in streamed) / len(streamed)
    print(
        f"memory per recorded call: plain {plain_bytes:,.0f} B, streamed {stream_bytes:,.0f} B "
        f"({chunks:.0f} chunks per call, {scenario.output_tokens} tokens × 3 choices)"
    )

    recordings = []
    for index in range(args.write_calls):
        recording = copy.copy(plain[index % len(plain)])
        recording.call_id = index + 1
        recordings.append(recording)
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        started = time.perf_counter()
        origin = min(r.entered for r in recordings)
        traces = [trace_call(r, origin) for r in recordings]
        run = Run.build(traces, wall=(0.0, max(t.end for t in traces)), cpu_s=0.0, started_at=0.0)
        write_run(run, OutputContext(out), writers=(requests_jsonl, summary_json))
        elapsed = time.perf_counter() - started
        size = (out / "requests.jsonl").stat().st_size
    print(
        f"write summary.json + requests.jsonl for {args.write_calls:,} calls: {elapsed:.3f} s "
        f"(phases derived included; requests.jsonl {size / 1e6:.1f} MB)"
    )


if __name__ == "__main__":
    main()
