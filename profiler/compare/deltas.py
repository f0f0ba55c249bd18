"""The comparison of two runs' figures: pure functions over typed :class:`~profiler.runs.Run` s.

Every figure becomes a :class:`Delta` (A, B, B − A, (B − A) / A). Nothing here
reads a file, so the arithmetic is tested on synthetic runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from profiler.compare.functions import FunctionComparison
from profiler.runs import PhaseStats, Run, RunFigures
from profiler.trace.phases import BREAKDOWN_KEYS, OCCASIONAL_PHASES

SCHEMA = "profiler.compare/1"
LATENCY_STATS = ("p50", "p90", "p99")
PHASE_STATS = ("mean", "p50", "p99")
STREAM_METRICS = {"ttft_ms": "ttft", "itl_ms": "itl", "tpot_ms": "tpot"}
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
    "client",
    "rate",
    "api",
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
    error_rate: Delta | None  # None when a run made no calls: its error rate is unknown, not 0
    errors: dict[str, KindDelta]
    streaming: dict[str, dict[str, Delta]]
    gc: dict[str, Delta] = field(default_factory=dict)  # per call, ms; both runs watched collections
    functions: FunctionComparison | None = None
    functions_note: str | None = None
    notes: list[str] = field(default_factory=list)
    interrupted_a: bool = False  # stopped early (Ctrl-C, an error): its figures are of what it made
    interrupted_b: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "a": {"path": self.a_path, "requests": self.requests_a, "interrupted": self.interrupted_a},
            "b": {"path": self.b_path, "requests": self.requests_b, "interrupted": self.interrupted_b},
            "latency_ms": _deltas_dict(self.latency),
            "breakdown_ms": {phase: _deltas_dict(stats) for phase, stats in self.phases.items()},
            "split_share": _deltas_dict(self.split_share),
            "error_rate": None
            if self.error_rate is None
            else {**self.error_rate.to_dict(), "change_points": round(self.error_rate.change * 100, 6)},
            "errors": {kind: delta.to_dict() for kind, delta in self.errors.items()},
            "streaming": {metric: _deltas_dict(stats) for metric, stats in self.streaming.items()},
            "gc_ms_per_call": _deltas_dict(self.gc),
            "functions": None if self.functions is None else self.functions.to_dict(),
            "functions_note": self.functions_note,
            "notes": list(self.notes),
        }


def _deltas_dict(deltas: Mapping[str, Delta]) -> dict[str, dict[str, float | None]]:
    return {key: delta.to_dict() for key, delta in deltas.items()}


def _stat_deltas(a: object | None, b: object | None, stats: tuple[str, ...]) -> dict[str, Delta]:
    """Deltas of the named statistics both have (Distribution or PhaseStats objects)."""
    if a is None or b is None:
        return {}
    return {
        s: Delta(float(getattr(a, s)), float(getattr(b, s)))
        for s in stats
        if getattr(a, s, None) is not None and getattr(b, s, None) is not None
    }


_PHASE_QUANTILES = tuple(stat for stat in PHASE_STATS if stat != "mean")


def _phase_deltas(a: RunFigures, b: RunFigures) -> dict[str, dict[str, Delta]]:
    """Each phase's mean per call, and its p50 and p99 where both runs have the phase.

    The mean is the phase's total over all of a run's calls, so the means add up to the latency's:
    for a step only some calls take (a retry's back-off, a new connection's connect) that is not
    ``summary.json``'s mean, which is over the calls that took it; a run where no call took the
    step has a mean of 0, and the step still shows when the other run took it."""
    deltas: dict[str, dict[str, Delta]] = {}
    for key in BREAKDOWN_KEYS:
        phase_a, phase_b = a.breakdown.get(key), b.breakdown.get(key)
        if phase_a is None and phase_b is None:
            continue
        row: dict[str, Delta] = {}
        mean_a, mean_b = _per_call(key, phase_a, a.started), _per_call(key, phase_b, b.started)
        if mean_a is not None and mean_b is not None:
            row["mean"] = Delta(mean_a, mean_b)
        row.update(_stat_deltas(phase_a, phase_b, _PHASE_QUANTILES))
        if row:
            deltas[key] = row
    return deltas


def _one_sided_phases(a: RunFigures, b: RunFigures) -> list[str]:
    """A note per step only one run's calls took: its p50 and p99 have nothing to be compared with."""
    if not (a.started and b.started):
        return []
    notes = []
    for key in sorted(OCCASIONAL_PHASES, key=BREAKDOWN_KEYS.index):
        for name, figures, other in (("A", a, b), ("B", b, a)):
            phase = figures.breakdown.get(key)
            if phase is None or other.breakdown.get(key) is not None:
                continue
            notes.append(
                f"{key}: only {name}'s calls took it ({phase.count} of {figures.started}, "
                f"{phase.mean:,.1f} ms each); compared as a mean per call, 0 in the other run"
            )
    return notes


def _per_call(key: str, phase: PhaseStats | None, started: int) -> float | None:
    """A step only some calls take: its total over every call of the run (0 when no call took it).
    Any other phase: its mean over the calls that have it, which for a leaf is every call, and for
    ``server_processing`` the calls that reported it; None without calls or when no call has it."""
    if not started:
        return None
    if key in OCCASIONAL_PHASES:
        return 0.0 if phase is None else round(phase.total / started, 6)
    return None if phase is None else phase.mean


def _split_shares(figures: RunFigures) -> dict[str, float] | None:
    if figures.wall_s <= 0:
        return None
    return {key: round(getattr(figures.split, key) / figures.wall_s, 6) for key in SPLIT_KEYS}


def _error_deltas(a: RunFigures, b: RunFigures) -> dict[str, KindDelta]:
    # Rates, not counts, are compared: the runs may have made different numbers of calls.
    kinds = list(dict.fromkeys([*a.errors, *b.errors]))
    return {
        kind: KindDelta(
            a.errors.get(kind, 0),
            b.errors.get(kind, 0),
            Delta((a.error_rates or {}).get(kind, 0.0), (b.error_rates or {}).get(kind, 0.0)),
        )
        for kind in kinds
    }


def _streaming(a: RunFigures, b: RunFigures, notes: list[str]) -> dict[str, dict[str, Delta]]:
    streaming: dict[str, dict[str, Delta]] = {}
    if a.streaming is not None and b.streaming is not None:
        for metric, name in STREAM_METRICS.items():
            deltas = _stat_deltas(getattr(a.streaming, name), getattr(b.streaming, name), STREAM_STATS)
            if deltas:
                streaming[metric] = deltas
    if (a.streaming is None) != (b.streaming is None):
        notes.append(f"only {'A' if a.streaming else 'B'} has streaming figures (TTFT/ITL/TPOT not compared)")
    return streaming


def _gc_per_call(figures: RunFigures) -> dict[str, float] | None:
    """A run's collection time per call (ms): all of it, and the part in the calls' local time."""
    gc = figures.gc
    if gc is None or not figures.started:
        return None
    per_call = {"pause": gc.pause_ms / figures.started}
    if gc.calls_local_ms is not None and gc.of_calls:
        per_call["calls_local"] = gc.calls_local_ms / gc.of_calls
    return per_call


def _gc_deltas(a: RunFigures, b: RunFigures, notes: list[str]) -> dict[str, Delta]:
    per_call_a, per_call_b = _gc_per_call(a), _gc_per_call(b)
    if (a.gc is None) != (b.gc is None):
        notes.append(f"only {'A' if a.gc else 'B'} watched garbage collection (not compared)")
    if per_call_a is None or per_call_b is None:
        return {}
    return {key: Delta(per_call_a[key], per_call_b[key]) for key in per_call_a if key in per_call_b}


def config_differences(a: Run, b: Run) -> list[str]:
    """The workload settings that differ, as ``key: A → B`` (the scenario included)."""
    config_a, config_b = a.config.to_dict(), b.config.to_dict()
    differences = [
        f"{key}: {config_a.get(key)} → {config_b.get(key)}"
        for key in _WORKLOAD_KEYS
        if config_a.get(key) != config_b.get(key)
    ]
    if a.target.scenario != b.target.scenario:
        differences.append(f"scenario: {a.target.scenario} → {b.target.scenario}")
    return differences


def compare_figures(a: Run, b: Run, *, a_path: str = "A", b_path: str = "B") -> Comparison:
    """B against A, figure by figure, for everything the two runs both have."""
    notes: list[str] = []
    fa, fb = a.figures, b.figures
    for name, figures in (("A", fa), ("B", fb)):
        if figures.started == 0:
            notes.append(f"{name} made no requests: its latency and error rate cannot be compared")
    for name, run in (("A", a), ("B", b)):
        if run.interrupted:
            notes.append(
                f"{name} was interrupted: its figures are of the {run.figures.started} calls it made "
                "before it stopped"
            )
    notes += _one_sided_phases(fa, fb)
    differences = config_differences(a, b)
    if differences:
        notes.append("the runs differ in " + "; ".join(differences))
    shares_a, shares_b = _split_shares(fa), _split_shares(fb)
    split = (
        {}
        if shares_a is None or shares_b is None
        else {k: Delta(shares_a[k], shares_b[k]) for k in SPLIT_KEYS}
    )
    return Comparison(
        a_path=a_path,
        b_path=b_path,
        requests_a=fa.started,
        requests_b=fb.started,
        latency=_stat_deltas(fa.latency, fb.latency, LATENCY_STATS),
        phases=_phase_deltas(fa, fb),
        split_share=split,
        error_rate=None
        if fa.error_rate is None or fb.error_rate is None
        else Delta(fa.error_rate, fb.error_rate),
        errors=_error_deltas(fa, fb),
        streaming=_streaming(fa, fb, notes),
        gc=_gc_deltas(fa, fb, notes),
        notes=notes,
        interrupted_a=a.interrupted,
        interrupted_b=b.interrupted,
    )
