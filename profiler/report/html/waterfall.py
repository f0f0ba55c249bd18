"""The per-request waterfall: each call's phases on the run's time axis.

A call's row reads left to right: ``local_pre`` (building the request), then each
attempt cut into its phases (``queue`` … ``download``), ``backoff`` between
attempts, and whatever is left until the SDK returned (``local_post``). The
times are the ``offset_ms`` of ``requests.jsonl``: since the run started.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bokeh.models import ColumnDataSource, DataRange1d, FactorRange, HoverTool, NumeralTickFormatter
from bokeh.models.annotations import Legend
from bokeh.models.renderers import DataRenderer
from bokeh.plotting import figure

from profiler.report.html.formatting import MISSING
from profiler.report.html.palette import PHASE_COLORS, kind_color
from profiler.report.html.sample import Sample

ATTEMPT_PHASES = ("queue", "connect", "tls", "send", "server_wait", "download")
_COLUMNS = ("row", "left", "right", "part", "color", "line", "call", "attempt", "ms")
_DETAILS = ("status", "xrid", "kind")
_DETAIL_TOOLTIPS = [("status", "@status"), ("x-request-id", "@xrid"), ("error", "@kind")]
BAR_TOOLTIPS = [("call", "@call (attempt @attempt)"), ("", "@part: @ms"), *_DETAIL_TOOLTIPS]
MARKER_TOOLTIPS = [("call", "@call (attempt @attempt)"), ("", "@event after @ms"), *_DETAIL_TOOLTIPS]
_ROW_PX = 16
_MAX_HEIGHT_PX = 1500
_LABELLED_ROWS = 80  # beyond this the call ids overlap; the tooltip still names each call


def _text(value: Any) -> str:
    return MISSING if value is None else str(value)


class _Columns:
    """Column-wise rows for a ColumnDataSource: one list per column, appended in step."""

    def __init__(self, *extra: str) -> None:
        self.data: dict[str, list[Any]] = {name: [] for name in (*_COLUMNS, *_DETAILS, *extra)}

    def add(self, **values: Any) -> None:
        for name, column in self.data.items():
            column.append(values[name])


def _row(record: dict[str, Any]) -> str:
    return f"#{record.get('id', '?')}"


def _call_details(record: dict[str, Any]) -> dict[str, str]:
    return {
        "status": _text(record.get("status")),
        "xrid": _text(record.get("x_request_id")),
        "kind": _text(record.get("error_kind")),
    }


def _attempt_details(attempt: dict[str, Any]) -> dict[str, str]:
    return {
        "status": _text(attempt.get("status")),
        "xrid": _text(attempt.get("x_request_id")),
        "kind": _text(attempt.get("error_kind")),
    }


def _span(
    columns: _Columns, record: dict[str, Any], part: str, left: float, right: float, **details: Any
) -> None:
    if right <= left:
        return
    details.setdefault("attempt", MISSING)
    details.setdefault("line", PHASE_COLORS[part])
    details.update({k: v for k, v in _call_details(record).items() if k not in details})
    columns.add(
        row=_row(record),
        left=left,
        right=right,
        part=part,
        color=PHASE_COLORS[part],
        call=_row(record),
        ms=f"{right - left:,.1f} ms",
        **details,
    )


def _call_segments(columns: _Columns, record: dict[str, Any]) -> None:
    start = record["offset_ms"]
    end = start + record["latency_ms"]
    attempts = sorted(record.get("attempt_details") or [], key=lambda a: a.get("offset_ms") or 0.0)
    cursor = start
    for number, attempt in enumerate(attempts, 1):
        attempt_start = attempt.get("offset_ms")
        if attempt_start is None:
            continue
        _span(columns, record, "local_pre" if number == 1 else "backoff", cursor, attempt_start)
        failed = attempt.get("error_kind") is not None
        line = kind_color(attempt["error_kind"]) if failed else None
        phase_start = attempt_start
        for phase in ATTEMPT_PHASES:
            length = attempt.get(f"{phase}_ms") or 0.0
            details = {"attempt": str(number), **_attempt_details(attempt)}
            if line:
                details["line"] = line
            _span(columns, record, phase, phase_start, phase_start + length, **details)
            phase_start += length
        # The phases leave out the microseconds between httpcore's steps; the attempt's end is exact.
        cursor = attempt_start + (attempt.get("duration_ms") or phase_start - attempt_start)
    _span(columns, record, "local_post" if attempts else "local_pre", cursor, end)


def _markers(records: Sequence[dict[str, Any]]) -> _Columns:
    """Where an attempt or a call failed (its end), and where a call was cut short by Ctrl-C.

    An attempt's failure is a cross and a call's a diamond, in the error kind's colour: a
    retried failure and a final one look different at a glance.
    """
    columns = _Columns("marker", "width")
    for record in records:
        base = {"row": _row(record), "call": _row(record)}
        for number, attempt in enumerate(record.get("attempt_details") or [], 1):
            if attempt.get("error_kind") is None or attempt.get("offset_ms") is None:
                continue
            at = attempt["offset_ms"] + (attempt.get("duration_ms") or 0.0)
            color = kind_color(attempt["error_kind"])
            columns.add(
                **base,
                left=at,
                right=at,
                part=f"attempt failed: {attempt['error_kind']}",
                color=color,
                line=color,
                marker="x",
                width=3,
                attempt=str(number),
                ms=f"{attempt.get('duration_ms') or 0.0:,.1f} ms",
                **_attempt_details(attempt),
            )
        end = record["offset_ms"] + record["latency_ms"]
        if record.get("interrupted"):
            part, color, marker = "interrupted (Ctrl-C)", "#000000", "asterisk"
        elif not record.get("ok", True):
            kind = record.get("error_kind")
            part, color, marker = f"call failed: {kind or 'unknown'}", kind_color(kind), "diamond"
        else:
            continue
        columns.add(
            **base,
            left=end,
            right=end,
            part=part,
            color=color,
            line="#000000",
            marker=marker,
            width=1,
            attempt=MISSING,
            ms=f"{record['latency_ms']:,.1f} ms",
            **_call_details(record),
        )
    return columns


def waterfall_sources(
    sample: Sample,
) -> tuple[dict[str, list[Any]], dict[str, list[Any]], dict[str, list[Any]]]:
    """(phase bar columns, back-off bar columns, marker columns) for the sampled calls."""
    bars = _Columns()
    for record in sample.records:
        _call_segments(bars, record)
    backoff: dict[str, list[Any]] = {name: [] for name in bars.data}
    phases: dict[str, list[Any]] = {name: [] for name in bars.data}
    for index, part in enumerate(bars.data["part"]):
        target = backoff if part == "backoff" else phases
        for name, column in bars.data.items():
            target[name].append(column[index])
    markers = _markers(sample.records).data
    # Bokeh merges legend entries of one field name across renderers, and refuses when their
    # sources differ: the markers' label column gets its own name.
    markers["event"] = markers.pop("part")
    return phases, backoff, markers


def waterfall_figure(sample: Sample) -> figure:
    phases, backoff, markers = waterfall_sources(sample)
    rows = [_row(r) for r in reversed(sample.records)]  # first call on top
    plot = figure(
        name="waterfall",
        y_range=FactorRange(factors=rows),
        x_range=DataRange1d(range_padding=0.01),
        height=min(_MAX_HEIGHT_PX, 140 + _ROW_PX * len(rows)),
        sizing_mode="stretch_width",
        tools="xpan,xwheel_zoom,box_zoom,reset,save",
        x_axis_label="ms since the run started",
        y_axis_label="call",
        toolbar_location="above",
    )
    plot.add_layout(Legend(click_policy="hide", label_text_font_size="9pt"), "right")
    bar_renderer = plot.hbar(
        y="row",
        left="left",
        right="right",
        height=0.7,
        fill_color="color",
        line_color="line",
        source=ColumnDataSource(phases),
        legend_field="part",
    )
    # Back-off gets its own renderer: a hatch that varies per bar (a hatch_pattern column) makes
    # Bokeh draw 5,000 bars in seconds instead of a fraction of one; a constant hatch costs nothing.
    renderers: list[DataRenderer] = [bar_renderer]
    if backoff["row"]:
        renderers.append(
            plot.hbar(
                y="row",
                left="left",
                right="right",
                height=0.7,
                fill_color=PHASE_COLORS["backoff"],
                line_color="#999999",
                hatch_pattern="/",
                hatch_color="#666666",
                hatch_alpha=0.5,
                source=ColumnDataSource(backoff),
                legend_label="backoff",
            )
        )
    marker_renderer = plot.scatter(
        x="left",
        y="row",
        marker="marker",
        size=13,
        fill_color="color",
        line_color="line",
        line_width="width",
        source=ColumnDataSource(markers),
        legend_field="event",
    )
    plot.add_tools(HoverTool(renderers=renderers, tooltips=BAR_TOOLTIPS))
    plot.add_tools(HoverTool(renderers=[marker_renderer], tooltips=MARKER_TOOLTIPS))
    plot.ygrid.grid_line_color = None
    plot.xaxis.formatter = NumeralTickFormatter(format="0,0")  # long runs: 1,200,000 not 1.2e+6
    if len(rows) > _LABELLED_ROWS:
        plot.yaxis.major_label_text_font_size = "0pt"
        plot.yaxis.major_tick_line_color = None
    return plot
