"""How ``report.html`` writes a figure of ``summary.json``: one rule per unit.

The page must show the same figures as ``summary.json`` (a test reads them back),
so every figure goes through :func:`figure_span`, which keeps the exact JSON value
in ``data-value`` beside the text a person reads, and the figure's path in the
summary in ``data-field``. The rule, documented in docs/report.md:

- count: ``f"{v:,}"`` (``10,000``)
- ms: ``f"{v:,.1f} ms"``
- s: ``f"{v:,.2f} s"``
- fraction: ``f"{v * 100:.1f}%"`` (``error_rate`` 0.133333 → ``13.3%``)
- rps: ``f"{v:,.2f}/s"``
- a missing figure (null): ``—``
"""

from __future__ import annotations

import json
from collections.abc import Callable
from html import escape
from typing import Any

MISSING = "—"

UNITS: dict[str, Callable[[Any], str]] = {
    "count": lambda v: f"{int(v):,}",
    "ms": lambda v: f"{v:,.1f} ms",
    "s": lambda v: f"{v:,.2f} s",
    "fraction": lambda v: f"{v * 100:.1f}%",
    "rps": lambda v: f"{v:,.2f}/s",
}


def format_value(value: Any, unit: str) -> str:
    return MISSING if value is None else UNITS[unit](value)


def figure_span(path: str, value: float | int | None, unit: str) -> str:
    """A figure (``path``: where ``summary.json`` has it) as a ``<span>`` a person reads and a test checks."""
    return (
        f'<span class="figure" data-field="{escape(path)}" data-unit="{unit}" '
        f"data-value='{escape(json.dumps(value), quote=True)}'>{escape(format_value(value, unit))}</span>"
    )


def share(part: float | None, whole: float | None) -> str:
    """A derived share, ``part / whole`` as a whole percent; not a figure of the summary."""
    if part is None or not whole:
        return MISSING
    return f"{part / whole * 100:.0f}%"
