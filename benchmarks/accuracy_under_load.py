"""Truth under load: the server share of TTFT, ITL and contention at 32 concurrent streams.

Streams of 20 tokens (server TTFT 100 ms, 10 ms between tokens, no jitter), n=1,
``--concurrency`` calls in flight, threads and async, plain HTTP and TLS. Every
call is joined to the simulator's ground truth by x-request-id:

- the server share of TTFT (request sent → first content byte arrived, from
  kernel arrival times) − the server's own TTFT;
- ITL p50 from arrival times − the truth's token gaps;
- contention − the rest of the TTFT (TTFT − truth − the call's own local parts).

Beside them, the TTFT a caller saw over the server's (what a benchmark client
reports). Run as root, a packet capture on loopback (``profiler.simulator.wire_truth``)
also gives the *wire truth*: the server's TTFT counted from when the request's
last byte crossed the wire rather than from when the simulator's event loop read
it, so the simulator's own read lag, which its log cannot see, is on the server's
side of the comparison, where the client rightly counts it. The reference
aiohttp client (``benchmarks/reference_client.py``) runs against the same
scenario in the same run for comparison.

    python benchmarks/accuracy_under_load.py [--concurrency 32] [--rounds 3] [--busy 0]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from profiler.accuracy import compare_run, measure_against_simulator
from profiler.runs.stats import percentile
from profiler.simulator import load_scenario
from profiler.simulator.wire_truth import capture_wire_truth
from profiler.trace.derive import trace_call
from profiler.workload import WorkloadConfig

HERE = Path(__file__).resolve().parent


def scenario():  # type: ignore[no-untyped-def]
    return dataclasses.replace(
        load_scenario("instant"), name="load", ttft_ms=100.0, token_ms=10.0, jitter_ms=0.0, output_tokens=20
    )


def _q(values: list[float]) -> str:
    ordered = sorted(values)
    if not ordered:
        return "—"
    magnitude = sorted(abs(v) for v in ordered)
    return (
        f"p50 {percentile(ordered, 50):+.2f} · p99 {percentile(ordered, 99):+.2f} · "
        f"min {ordered[0]:+.2f} · max {ordered[-1]:+.2f} · p99|e| {percentile(magnitude, 99):.2f} ms "
        f"(n={len(ordered)})"
    )


def ours(
    client: str, tls: bool, concurrency: int, rounds: int, busy: int, scratch: Path, wire_arrivals: bool
) -> None:
    config = WorkloadConfig(
        requests=concurrency * rounds,
        concurrency=concurrency,
        stream=True,
        n=1,
        client=client,  # type: ignore[arg-type]
    )
    with capture_wire_truth() as wire:
        measured = measure_against_simulator(
            scenario(), config, scratch / "truth.jsonl", tls=tls, busy=busy, wire=wire_arrivals
        )
    comparisons = compare_run(measured.recordings, measured.truth)
    traces = [trace_call(r) for r in measured.recordings]
    request_of = {t.call_id: t.x_request_id for t in traces}
    lag = {rid: wire.read_lag_ms(record) for rid, record in measured.truth.items()}
    bounded = {t.call_id for t in traces if t.ttft_bounded}
    server = [c.ttft_ms for c in comparisons if c.ttft_ms is not None and c.call_id not in bounded]
    server_bounded = [c.ttft_ms for c in comparisons if c.ttft_ms is not None and c.call_id in bounded]
    rest = [
        c.ttft_contention_ms - c.ttft_rest_ms
        for c in comparisons
        if c.ttft_contention_ms is not None and c.ttft_rest_ms is not None
    ]
    itl = [e for c in comparisons for e in c.itl_ms]
    seen = [
        t.ttft_s * 1000 - measured.truth[t.x_request_id]["ttft_ms"]
        for t in traces
        if t.ttft_s is not None and t.x_request_id in measured.truth
    ]
    unknown = sum(t.itl_unknown for t in traces)
    gaps = sum(len(t.itl_s) for t in traces)
    contention = [(t.ttft_parts or {}).get("contention", 0.0) * 1000 for t in traces]
    busy_text = f" busy={busy}" if busy else ""
    label = f"ours --client {client:<7} {'TLS ' if tls else 'HTTP'} c={concurrency}{busy_text}"
    if wire_arrivals:
        reads = measured.wire_reads
        total = reads.resolved + reads.unresolved if reads is not None else 0
        label += (
            f"  --wire-arrivals: {reads.resolved} of {total} reads, "
            f"{reads.writes_resolved} of {reads.writes_resolved + reads.writes_unresolved} writes captured"
            if reads is not None
            else f"  (no capture: {measured.wire.problem if measured.wire else '?'})"
        )
    print(f"{label}\n  server share of TTFT − truth: {_q(server)}  exact splits")
    print(f"                                {_q(server_bounded)}  bounded (ttft_bounded: an upper bound)")
    if wire.problem is None:
        on_wire = [
            (c.ttft_ms - lagged, c.call_id in bounded)
            for c in comparisons
            if c.ttft_ms is not None and (lagged := lag.get(request_of.get(c.call_id) or "")) is not None
        ]
        lags = [v for v in lag.values() if v is not None]
        print(f"  the simulator's read lag (request on the wire → read): {_q(lags)}")
        print(f"  server share − wire truth:    {_q([e for e, b in on_wire if not b])}  exact splits")
        print(f"                                {_q([e for e, b in on_wire if b])}  bounded")
    else:
        print(f"  (no wire truth: {wire.problem})")
    print(f"  ITL − truth: {_q(itl)}  (arrival gaps kept {gaps}, unknown {unknown})")
    print(f"  contention − rest of TTFT:    {_q(rest)}")
    print(
        f"  TTFT seen − server's TTFT:    {_q(seen)}   "
        f"contention in TTFT p50 {statistics.median(contention):.2f} ms"
    )


def reference(concurrency: int, rounds: int, scratch: Path, sdk: bool = False) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(HERE / "reference_client.py"),
            "--concurrency",
            str(concurrency),
            "--rounds",
            str(rounds),
            *(["--sdk"] if sdk else []),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    print(result.stdout.rstrip() or result.stderr.strip()[-500:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--busy", type=int, default=0, help="CPU-bound threads beside the workload")
    parser.add_argument(
        "--wire-arrivals", action="store_true", help="arrival times from a packet capture too (root only)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        for client in ("threads", "async"):
            for tls in (False, True):
                ours(client, tls, args.concurrency, args.rounds, args.busy, Path(scratch), args.wire_arrivals)
        reference(args.concurrency, args.rounds, Path(scratch))
        reference(args.concurrency, args.rounds, Path(scratch), sdk=True)


if __name__ == "__main__":
    main()
