"""Colours of the report: a phase or an error kind looks alike everywhere, as the tables say."""

from __future__ import annotations

from profiler.trace.kinds import colour_of_kind
from profiler.trace.phases import PHASES

# Network phases in blues and greens, local work in oranges and yellows, waiting states in greys:
# the eye sorts "the server", "our code" and "sleeping" before reading the legend.
PHASE_COLORS: dict[str, str] = {phase.name: phase.colour for phase in PHASES}
OK_COLOR = PHASE_COLORS["server_wait"]
FAILED_COLOR = "#d62728"
SPLIT_COLORS = {
    "network": PHASE_COLORS["server_wait"],
    "backoff": "#a0a0a0",
    "local_in_calls": PHASE_COLORS["local_post"],
    "local_between_calls": PHASE_COLORS["local_pre"],
}


def kind_color(kind: str | None) -> str:
    return colour_of_kind(kind)
