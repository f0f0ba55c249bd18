"""``--fail-over``: did B get worse than A by more than the allowed margin?

Latency p50 and p99 are judged relatively (percent of A's value); the error
rate in percentage points, because a relative rule means nothing when A had
no errors (0 → 1 failure would be an infinite rise). Exactly at the limit passes.
"""

from __future__ import annotations

from dataclasses import dataclass

from profiler.compare.deltas import Comparison

GATED_LATENCY = ("p50", "p99")
# Rounding before comparing: (110 - 100) / 100 * 100 is 10.000000000000002 in floating point.
_DIGITS = 6


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    passed: bool
    detail: str

    def to_dict(self) -> dict[str, str | bool]:
        return {"name": self.name, "passed": self.passed, "detail": self.detail}


def _latency_check(comparison: Comparison, stat: str, pct: float) -> Check:
    name = f"latency {stat}"
    delta = comparison.latency.get(stat)
    if delta is None:
        # Fail closed: a gate that passes when it cannot measure would let a broken build through.
        return Check(name, False, "cannot be compared (a run has no latency figures)")
    figures = f"{delta.a:,.1f} → {delta.b:,.1f} ms"
    relative = delta.relative
    if relative is None:
        return Check(name, False, f"rose from 0 ({figures}), limit +{pct:g}%")
    percent = round(relative * 100.0, _DIGITS)
    return Check(name, percent <= pct, f"{percent:+.1f}% ({figures}), limit +{pct:g}%")


def _error_check(comparison: Comparison, points_limit: float) -> Check:
    delta = comparison.error_rate
    if delta is None:
        return Check("error rate", False, "cannot be compared (a run made no calls)")
    points = round(delta.change * 100.0, _DIGITS)
    detail = f"{points:+.1f} points ({delta.a:.1%} → {delta.b:.1%}), limit +{points_limit:g} points"
    return Check("error rate", points <= points_limit, detail)


def fail_over_checks(comparison: Comparison, pct: float, error_points: float | None = None) -> list[Check]:
    """Latency p50 and p99 may rise by ``pct`` percent, the error rate by ``error_points``
    percentage points (``pct`` when not given)."""
    if pct < 0 or (error_points is not None and error_points < 0):
        raise ValueError("fail-over limits must not be negative")
    checks = [_latency_check(comparison, stat, pct) for stat in GATED_LATENCY]
    checks.append(_error_check(comparison, pct if error_points is None else error_points))
    stopped = [
        name for name, was in (("A", comparison.interrupted_a), ("B", comparison.interrupted_b)) if was
    ]
    if stopped:
        # Fail closed: an interrupted run's figures are of the calls it made before it stopped.
        checks.append(Check("complete runs", False, f"{' and '.join(stopped)} was interrupted"))
    return checks
