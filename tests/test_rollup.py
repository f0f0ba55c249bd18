"""A long run's memory does not grow with its length: calls past a limit roll into streaming figures."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import random
import time

import openai
import pytest

from profiler.finish import build_run, run_collector
from profiler.runs import Run, RunConfig, TargetInfo
from profiler.runs.accumulate import FigureAccumulator
from profiler.runs.documents import summary_document
from profiler.runs.sketch import EXACT_LIMIT, Quantiles
from profiler.runs.stats import Distribution
from profiler.simulator import SimulatorProcess, load_scenario
from profiler.trace.instrument import collecting
from profiler.trace.recording import Collector
from tests.synthetic import call


def _run(keep_first: int) -> tuple[Run, Collector]:
    """30 calls against a fresh flaky simulator: the same seed, so the same faults each time (its
    latencies shortened: the faults, not the waits, are what this is about)."""
    collector = run_collector(keep_first=keep_first)
    scenario = dataclasses.replace(
        load_scenario("flaky"), ttft_ms=5.0, token_ms=0.5, jitter_ms=0.0, stall_s=0.6, client_timeout_s=0.3
    )
    with SimulatorProcess(scenario) as simulator:
        client = openai.OpenAI(base_url=simulator.base_url, api_key="sk-test", max_retries=1, timeout=0.3)
        with collecting(collector):
            for _ in range(30):
                with contextlib.suppress(Exception):  # the flaky scenario's failures are recorded
                    client.chat.completions.create(
                        model="gpt-3.5-turbo", messages=[{"role": "user", "content": "hi"}]
                    )
        wall = (collector.origin, time.perf_counter())
    return build_run(collector, wall=wall, cpu_s=0.0, config=RunConfig(), target=TargetInfo()), collector


def test_calls_past_the_limit_count_in_every_figure_but_are_not_kept() -> None:
    full, _ = _run(keep_first=1000)
    rolled, collector = _run(keep_first=7)
    assert len(rolled.calls) == 7 and collector.overflowed == 23 and len(full.calls) == 30
    assert summary_document(rolled)["calls_in_requests_jsonl"] == 7
    a, b = full.figures, rolled.figures
    assert b.started == 30
    assert (a.started, a.failed, a.attempts, a.retried, a.errors, a.attempt_errors) == (
        b.started, b.failed, b.attempts, b.retried, b.errors, b.attempt_errors
    )  # fmt: skip
    assert b.failed > 0 and b.latency is not None and b.latency.count == 30
    assert b.breakdown["server_wait"] is not None and b.breakdown["server_wait"].count == 30


def test_accumulated_figures_equal_the_exact_ones_below_the_limit() -> None:
    calls = [call(i, i * 5.0, 50.0 + (i * 37) % 300, ok=i % 7 != 0) for i in range(1, 400)]
    half = FigureAccumulator().add_all(calls[:200])
    half.merge(
        FigureAccumulator.from_dict(
            json.loads(json.dumps(FigureAccumulator().add_all(calls[200:]).to_dict()))
        )
    )
    whole = FigureAccumulator().add_all(calls)
    from profiler.runs.figures import figures_from

    wall = (0.0, 3.0)
    assert figures_from(half, wall, 0.0) == figures_from(whole, wall, 0.0)


def test_past_the_exact_limit_percentiles_stay_within_the_sketch_accuracy() -> None:
    rng = random.Random(7)
    values = [rng.lognormvariate(-2.0, 0.8) for _ in range(EXACT_LIMIT * 3)]
    parts = [Quantiles() for _ in range(3)]
    for index, value in enumerate(values):
        parts[index % 3].add(value)
    merged = Quantiles.from_dict(json.loads(json.dumps(parts[0].to_dict())))
    merged.merge(parts[1])
    merged.merge(parts[2])
    assert not merged.exact
    got, exact = merged.distribution(1000.0), Distribution.of(values, 1000.0)
    assert got is not None and exact is not None
    assert (got.count, got.max, got.min) == (exact.count, exact.max, exact.min)
    assert got.mean == pytest.approx(exact.mean, abs=0.002)
    for stat in ("p50", "p90", "p99"):
        assert getattr(got, stat) == pytest.approx(getattr(exact, stat), rel=0.0101), stat
