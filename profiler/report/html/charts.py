"""The report's smaller plots: latency and TTFT histograms, errors by kind, the split of wall time.

Histograms are binned here, not in the browser: 10,000 calls become at most
:data:`MAX_BINS` bars, which keeps the page small and quick to draw.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from bokeh.models import ColumnDataSource, DataRange1d, FactorRange, HoverTool
from bokeh.models.annotations import Legend, Span
from bokeh.models.renderers import DataRenderer
from bokeh.plotting import figure

from profiler.report.html.palette import SPLIT_COLORS, kind_color
from profiler.runs import WallSplit
from profiler.trace.kinds import ERROR_KINDS

MAX_BINS = 60
_HEIGHT = 300
_MARK_STYLES = (("dashed", "#333333"), ("dotted", "#b5179e"))  # p50, p99


def _bin_edges(values: Sequence[float]) -> np.ndarray:
    low, high = min(values), max(values)
    if math.isclose(low, high):
        low, high = low - 0.5, high + 0.5
    bins = max(5, min(MAX_BINS, round(math.sqrt(len(values)) * 2)))
    return np.linspace(low, high, bins + 1)


def histogram_figure(
    name: str,
    groups: dict[str, tuple[Sequence[float], str]],
    marks: dict[str, float | None],
    x_label: str,
) -> figure:
    """Stacked histogram of the groups (label → (values, colour)), with a dashed line per mark."""
    edges = _bin_edges([v for values, _ in groups.values() for v in values])
    plot = figure(
        name=name,
        y_range=DataRange1d(start=0),
        height=_HEIGHT,
        sizing_mode="stretch_width",
        tools="xpan,xwheel_zoom,box_zoom,reset,save",
        x_axis_label=x_label,
        y_axis_label="calls",
        toolbar_location="above",
    )
    plot.add_layout(Legend(label_text_font_size="9pt"), "right")
    bottom = np.zeros(len(edges) - 1)
    renderers: list[DataRenderer] = []
    for label, (values, color) in groups.items():
        counts, _ = np.histogram(values, bins=edges)
        if not counts.any():
            continue
        source = ColumnDataSource(
            {
                "left": edges[:-1],
                "right": edges[1:],
                "bottom": bottom.copy(),
                "top": bottom + counts,
                "count": counts,
                "group": [label] * len(counts),
            }
        )
        renderers.append(
            plot.quad(
                left="left",
                right="right",
                bottom="bottom",
                top="top",
                fill_color=color,
                line_color="#ffffff",
                source=source,
                legend_label=label,
            )
        )
        bottom = bottom + counts
    plot.add_tools(
        HoverTool(
            renderers=renderers,
            tooltips=[("", "@group: @count calls"), ("range", "@left{0,0.0} – @right{0,0.0} ms")],
        )
    )
    for (label, value), (dash, color) in zip(marks.items(), _MARK_STYLES, strict=False):
        if value is not None:
            plot.add_layout(Span(location=value, dimension="height", line_dash=dash, line_color=color))
            plot.scatter([value], [0], marker="triangle", size=10, color=color, legend_label=label)
    return plot


def errors_figure(errors: dict[str, int], attempt_errors: dict[str, int]) -> figure:
    """Final failures (what the caller saw) beside failed attempts (retried ones too), per kind."""
    kinds = [k for k in ERROR_KINDS if errors.get(k) or attempt_errors.get(k)]
    kinds += sorted(k for k in {*errors, *attempt_errors} if k not in kinds)
    factors = [(kind, which) for kind in kinds for which in ("calls", "attempts")]
    counts = [(errors if which == "calls" else attempt_errors).get(kind, 0) for kind, which in factors]
    source = ColumnDataSource(
        {
            "x": factors,
            "count": counts,
            "color": [kind_color(kind) for kind, _ in factors],
            "hatch": [" " if which == "calls" else "/" for _, which in factors],
            "label": [
                f"{kind}: {c} {'calls failed' if which == 'calls' else 'attempts failed'}"
                for (kind, which), c in zip(factors, counts, strict=True)
            ],
        }
    )
    plot = figure(
        name="errors",
        x_range=FactorRange(factors=factors, range_padding=0.1),
        y_range=DataRange1d(start=0),
        height=_HEIGHT,
        sizing_mode="stretch_width",
        tools="save",
        y_axis_label="count",
        toolbar_location="above",
    )
    bars = plot.vbar(
        x="x",
        top="count",
        width=0.8,
        fill_color="color",
        line_color="color",
        hatch_pattern="hatch",
        hatch_color="#ffffff",
        source=source,
    )
    plot.add_tools(HoverTool(renderers=[bars], tooltips=[("", "@label")]))
    plot.xgrid.grid_line_color = None
    plot.xaxis.major_label_orientation = 0.6
    return plot


SPLIT_PARTS = (
    ("network", "network"),
    ("backoff", "back-off"),
    ("local_in_calls", "local in calls"),
    ("local_between_calls", "your code between calls"),
)


def split_figure(split: WallSplit, wall_s: float) -> figure:
    """One bar: the run's wall time cut by what was going on (``split_s``)."""
    parts = [name for name, _ in SPLIT_PARTS]
    source = ColumnDataSource({"y": ["wall time"], **{name: [float(getattr(split, name))] for name in parts}})
    plot = figure(
        name="split",
        y_range=FactorRange(factors=["wall time"]),
        x_range=DataRange1d(start=0),
        height=150,
        sizing_mode="stretch_width",
        tools="",
        toolbar_location=None,
        x_axis_label=f"seconds (wall time {wall_s:,.2f} s)",
    )
    plot.add_layout(Legend(orientation="horizontal", label_text_font_size="9pt"), "above")
    renderers = plot.hbar_stack(
        parts,
        y="y",
        height=0.6,
        color=[SPLIT_COLORS[p] for p in parts],
        line_color="#ffffff",
        source=source,
        legend_label=[label for _, label in SPLIT_PARTS],
    )
    for (part, label), renderer in zip(SPLIT_PARTS, renderers, strict=True):
        plot.add_tools(HoverTool(renderers=[renderer], tooltips=[("", f"{label}: @{part}{{0,0.000}} s")]))
    plot.ygrid.grid_line_color = None
    return plot
