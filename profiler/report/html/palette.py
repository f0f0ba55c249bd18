"""Colours of the report, shared by its plots so one phase or error kind looks alike everywhere."""

from __future__ import annotations

from profiler.monitor.errors import ERROR_KINDS

# Network phases in blues and greens, local work in oranges, waiting states in greys:
# the eye sorts "the server", "our code" and "sleeping" before reading the legend.
PHASE_COLORS: dict[str, str] = {
    "local_pre": "#f28e2b",
    "queue": "#bab0ac",
    "connect": "#9c755f",
    "tls": "#b07aa1",
    "send": "#76b7b2",
    "server_wait": "#4e79a7",
    "download": "#59a14f",
    "local_post": "#e15759",
    "backoff": "#d4d4d4",
}
# Error kinds are drawn as markers and outlines over the phase bars, so they use
# saturated colours that none of the phases uses.
KIND_COLORS: dict[str, str] = dict(
    zip(
        ERROR_KINDS,
        ("#d62728", "#8c564b", "#111111", "#9467bd", "#bcbd22", "#e377c2", "#17becf"),
        strict=True,
    )
)
UNKNOWN_KIND_COLOR = "#7f7f7f"
OK_COLOR = "#4e79a7"
FAILED_COLOR = "#d62728"
SPLIT_COLORS = {
    "network": PHASE_COLORS["server_wait"],
    "backoff": "#a0a0a0",
    "local": PHASE_COLORS["local_pre"],
}


def kind_color(kind: str | None) -> str:
    return KIND_COLORS.get(kind or "", UNKNOWN_KIND_COLOR)
