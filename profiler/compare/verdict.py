"""The one-line verdict of a comparison: faster or slower, by how much, and where."""

from __future__ import annotations

from profiler.compare.deltas import Comparison
from profiler.trace.phases import LEAVES

# Within this share of A's p50 the runs are called as fast as each other: identical runs differ by
# a few percent at p50 on a busy machine.
SAME_WITHIN = 0.05


def _main_phase(comparison: Comparison, sign: float) -> tuple[str, float] | None:
    """The phase whose mean moved most in the direction of the p50.

    Means, not p50s: the phases partition each call, so their mean changes add up to the
    latency's mean change, and the biggest one is the biggest part of the story.
    """
    moves = [
        (phase, stats["mean"].change)
        for phase, stats in comparison.phases.items()
        if phase in LEAVES and "mean" in stats and stats["mean"].change * sign > 0
    ]
    return max(moves, key=lambda move: abs(move[1]), default=None)


def _server_part(comparison: Comparison, wait_change: float) -> str:
    processing = comparison.phases.get("server_processing", {}).get("mean")
    if processing is None or processing.change * wait_change <= 0:
        return ""
    # The server's own figure tells its thinking apart from the round trip around it.
    return f", of which the server reports {processing.change:+,.0f} ms (openai-processing-ms)"


def _latency_text(comparison: Comparison) -> str:
    p50 = comparison.latency.get("p50")
    if p50 is None:
        return "Latency cannot be compared (a run made no requests)"
    relative = p50.relative
    share = "new" if relative is None else f"{relative:+.0%}"
    figure = f"p50 {p50.change:+,.1f} ms ({share}, {p50.a:,.1f} → {p50.b:,.1f} ms)"
    if relative is not None and abs(relative) < SAME_WITHIN:
        return f"B is about as fast as A: {figure}"
    sign = 1.0 if p50.change > 0 else -1.0
    text = f"B is {'slower' if sign > 0 else 'faster'}: {figure}"
    main = _main_phase(comparison, sign)
    if main is not None:
        phase, change = main
        text += f", mostly {phase} (mean {change:+,.1f} ms)"
        if phase == "server_wait":
            text += _server_part(comparison, change)
    return text


def compare_verdict(comparison: Comparison) -> str:
    text = _latency_text(comparison)
    errors = comparison.error_rate
    if errors is not None and errors.change:
        text += f"; error rate {errors.a:.1%} → {errors.b:.1%} ({errors.change * 100:+.1f} points)"
    return text + "."
