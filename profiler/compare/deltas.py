"""The comparison of two runs' summaries: pure functions over ``summary.json`` dicts.

Every figure becomes a :class:`Delta` (A, B, B − A, (B − A) / A). Nothing here
reads a file, so the arithmetic is tested on synthetic summaries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from profiler.compare.functions import FunctionComparison

SCHEMA = "profiler.compare/1"
LATENCY_STATS = ("p50", "p90", "p99")
PHASE_STATS = ("mean", "p50", "p99")
STREAM_METRICS = ("ttft_ms", "itl_ms", "tpot_ms")
STREAM_STATS = ("p50", "p99")
SPLIT_KEYS = ("network", "backoff", "local")
# Config keys that describe the workload: when they differ the runs measure different things.
_WORKLOAD_KEYS = (
    "requests",
    "concurrency",
    "stream",
    "local_work_ms",
    "model",
    "n",
    "max_retries",
    "program",
)


@dataclass(frozen=True, slots=True)
class Delta:
    """One figure in both runs. ``relative`` is None when A is 0 and B is not (no finite ratio)."""

    a: float
    b: float

    @property
    def change(self) -> float:
        return self.b - self.a

    @property
    def relative(self) -> float | None:
        if self.a == 0:
            return 0.0 if self.b == 0 else None
        return (self.b - self.a) / abs(self.a)

    def to_dict(self) -> dict[str, float | None]:
        relative = self.relative
        return {
            "a": self.a,
            "b": self.b,
            "change": round(self.change, 6),
            "relative": None if relative is None else round(relative, 6),
        }


@dataclass(frozen=True, slots=True)
class KindDelta:
    """Final failures of one error kind: counts, and the rate (a fraction of calls) as a Delta."""

    count_a: int
    count_b: int
    rate: Delta

    def to_dict(self) -> dict[str, Any]:
        return {"count_a": self.count_a, "count_b": self.count_b, "rate": self.rate.to_dict()}


@dataclass(slots=True)
class Comparison:
    """Run B measured against run A (the baseline). Fractions stay fractions; times stay in ms."""

    a_path: str
    b_path: str
    requests_a: int
    requests_b: int
    latency: dict[str, Delta]
    phases: dict[str, dict[str, Delta]]
    split_share: dict[str, Delta]
    error_rate: Delta
    errors: dict[str, KindDelta]
    streaming: dict[str, dict[str, Delta]]
    functions: FunctionComparison | None = None
    functions_note: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "a": {"path": self.a_path, "requests": self.requests_a},
            "b": {"path": self.b_path, "requests": self.requests_b},
            "latency_ms": _deltas_dict(self.latency),
            "breakdown_ms": {phase: _deltas_dict(stats) for phase, stats in self.phases.items()},
            "split_share": _deltas_dict(self.split_share),
            "error_rate": {
                **self.error_rate.to_dict(),
                "change_points": round(self.error_rate.change * 100, 6),
            },
            "errors": {kind: delta.to_dict() for kind, delta in self.errors.items()},
            "streaming": {metric: _deltas_dict(stats) for metric, stats in self.streaming.items()},
            "functions": None if self.functions is None else self.functions.to_dict(),
            "functions_note": self.functions_note,
            "notes": list(self.notes),
        }


def _deltas_dict(deltas: Mapping[str, Delta]) -> dict[str, dict[str, float | None]]:
    return {key: delta.to_dict() for key, delta in deltas.items()}


def _stat_deltas(
    a: Mapping[str, Any] | None, b: Mapping[str, Any] | None, stats: tuple[str, ...]
) -> dict[str, Delta]:
    if not a or not b:
        return {}
    return {
        s: Delta(float(a[s]), float(b[s])) for s in stats if a.get(s) is not None and b.get(s) is not None
    }


def _started(summary: Mapping[str, Any]) -> int:
    return int(summary.get("requests", {}).get("started", 0))


def _phase_deltas(
    a: Mapping[str, Any], b: Mapping[str, Any], notes: list[str]
) -> dict[str, dict[str, Delta]]:
    breakdown_a, breakdown_b = a.get("breakdown_ms", {}), b.get("breakdown_ms", {})
    only = sorted(set(breakdown_a) ^ set(breakdown_b))
    if only:
        # Summaries written by different versions of the profiler may name different phases.
        notes.append(f"phases in only one run, not compared: {', '.join(only)}")
    return {
        phase: _stat_deltas(stats, breakdown_b[phase], PHASE_STATS)
        for phase, stats in breakdown_a.items()
        if phase in breakdown_b
    }


def _split_shares(summary: Mapping[str, Any]) -> dict[str, float] | None:
    wall, split = summary.get("wall_s") or 0.0, summary.get("split_s")
    if wall <= 0 or not split:
        return None
    return {key: split.get(key, 0.0) / wall for key in SPLIT_KEYS}


def _error_deltas(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, KindDelta]:
    errors_a, errors_b = a.get("errors", {}), b.get("errors", {})
    # Rates, not counts, are compared: the runs may have made different numbers of calls.
    rates_a, rates_b = a.get("error_rates", {}), b.get("error_rates", {})
    kinds = list(dict.fromkeys([*errors_a, *errors_b]))
    return {
        kind: KindDelta(
            errors_a.get(kind, 0),
            errors_b.get(kind, 0),
            Delta(rates_a.get(kind, 0.0), rates_b.get(kind, 0.0)),
        )
        for kind in kinds
    }


def _streaming(a: Mapping[str, Any], b: Mapping[str, Any], notes: list[str]) -> dict[str, dict[str, Delta]]:
    streaming = {}
    for metric in STREAM_METRICS:
        deltas = _stat_deltas(a.get(metric), b.get(metric), STREAM_STATS)
        if deltas:
            streaming[metric] = deltas
    streamed_a, streamed_b = bool(a.get("ttft_ms")), bool(b.get("ttft_ms"))
    if streamed_a != streamed_b:
        notes.append(f"only {'A' if streamed_a else 'B'} has streaming figures (TTFT/ITL/TPOT not compared)")
    return streaming


def config_differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """The workload settings that differ, as ``key: A → B`` (the scenario included)."""
    config_a, config_b = a.get("config", {}), b.get("config", {})
    differences = [
        f"{key}: {config_a.get(key)} → {config_b.get(key)}"
        for key in _WORKLOAD_KEYS
        if config_a.get(key) != config_b.get(key)
    ]
    scenario_a, scenario_b = a.get("target", {}).get("scenario"), b.get("target", {}).get("scenario")
    if scenario_a != scenario_b:
        differences.append(f"scenario: {scenario_a} → {scenario_b}")
    return differences


def compare_summaries(
    a: Mapping[str, Any], b: Mapping[str, Any], *, a_path: str = "A", b_path: str = "B"
) -> Comparison:
    """B against A, figure by figure, for everything the two summaries both have."""
    notes: list[str] = []
    requests_a, requests_b = _started(a), _started(b)
    for name, count in (("A", requests_a), ("B", requests_b)):
        if count == 0:
            notes.append(f"{name} made no requests: its latency cannot be compared")
    differences = config_differences(a, b)
    if differences:
        notes.append("the runs differ in " + "; ".join(differences))
    shares_a, shares_b = _split_shares(a), _split_shares(b)
    split = (
        {}
        if shares_a is None or shares_b is None
        else {k: Delta(shares_a[k], shares_b[k]) for k in SPLIT_KEYS}
    )
    return Comparison(
        a_path=a_path,
        b_path=b_path,
        requests_a=requests_a,
        requests_b=requests_b,
        latency=_stat_deltas(a.get("latency_ms"), b.get("latency_ms"), LATENCY_STATS),
        phases=_phase_deltas(a, b, notes),
        split_share=split,
        error_rate=Delta(float(a.get("error_rate", 0.0)), float(b.get("error_rate", 0.0))),
        errors=_error_deltas(a, b),
        streaming=_streaming(a, b, notes),
        notes=notes,
    )
