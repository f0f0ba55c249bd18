"""The per-call waterfall: each call's segments on the run's time axis.

A call's row is its :attr:`~profiler.trace.model.RequestTrace.segments` — the
same derivation the tables and the verdict sum up — so a stream's caller time
between chunks is drawn as local time, exactly as it is counted. Segments far
thinner than a pixel are merged into runs named by their largest phase, so a
long stream of short chunks stays drawable; a segment of a pixel or more is
drawn as it is. Times are milliseconds since the run started.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from bokeh.models import ColumnDataSource, DataRange1d, FactorRange, HoverTool, NumeralTickFormatter
from bokeh.models.annotations import Legend
from bokeh.models.renderers import DataRenderer
from bokeh.plotting import figure

from profiler.report.html.formatting import MISSING
from profiler.report.html.palette import PHASE_COLORS, kind_color
from profiler.report.html.sample import Sample
from profiler.trace.model import RequestTrace, Segment

_COLUMNS = ("row", "left", "right", "part", "color", "line", "call", "attempt", "ms", "api")
_DETAILS = ("status", "xrid", "kind")
_DETAIL_TOOLTIPS = [("status", "@status"), ("x-request-id", "@xrid"), ("error", "@kind")]
BAR_TOOLTIPS = [("call", "@call @api (attempt @attempt)"), ("", "@part: @ms"), *_DETAIL_TOOLTIPS]
MARKER_TOOLTIPS = [("call", "@call @api (attempt @attempt)"), ("", "@event after @ms"), *_DETAIL_TOOLTIPS]
_ROW_PX = 16
_MAX_HEIGHT_PX = 1500
_LABELLED_ROWS = 80  # beyond this the call ids overlap; the tooltip still names each call
_AXIS_PIXELS = 1500  # a segment thinner than span / this is below a pixel on a wide screen


def _text(value: Any) -> str:
    return MISSING if value is None else str(value)


class _Columns:
    """Column-wise rows for a ColumnDataSource: one list per column, appended in step."""

    def __init__(self, *extra: str) -> None:
        self.data: dict[str, list[Any]] = {name: [] for name in (*_COLUMNS, *_DETAILS, *extra)}

    def add(self, **values: Any) -> None:
        for name, column in self.data.items():
            column.append(values[name])


def _row(call: RequestTrace) -> str:
    return f"#{call.call_id}"


def _details(call: RequestTrace, attempt: int | None) -> dict[str, str]:
    api = f"{call.operation} · {call.api}" + (" (stream)" if call.stream else "")
    if attempt is not None and attempt < len(call.attempts):
        a = call.attempts[attempt]
        return {
            "status": _text(a.status),
            "xrid": _text(a.x_request_id),
            "kind": _text(a.error_kind),
            "api": api,
        }
    return {
        "status": _text(call.status),
        "xrid": _text(call.x_request_id),
        "kind": _text(call.error_kind),
        "api": api,
    }


def coarsened(segments: Sequence[Segment], min_length: float) -> Iterator[Segment]:
    """The segments, with runs of ones shorter than ``min_length`` merged under their largest phase."""
    pending: list[Segment] = []

    def flush() -> Iterator[Segment]:
        if not pending:
            return
        by_phase: dict[str, float] = defaultdict(float)
        for s in pending:
            by_phase[s.phase] += s.length
        phase = max(by_phase, key=by_phase.__getitem__)
        attempt = next((s.attempt for s in pending if s.phase == phase), None)
        yield Segment(phase, pending[0].start, pending[-1].end, attempt)
        pending.clear()

    for segment in segments:
        if segment.length >= min_length:
            yield from flush()
            yield segment
            continue
        pending.append(segment)
        if pending[-1].end - pending[0].start >= min_length:
            yield from flush()
    yield from flush()


def _bars(columns: _Columns, call: RequestTrace, min_length: float) -> None:
    for segment in coarsened(call.segments, min_length):
        failed = segment.attempt is not None and call.attempts[segment.attempt].error_kind is not None
        colour = PHASE_COLORS[segment.phase]
        columns.add(
            row=_row(call),
            left=segment.start * 1000.0,
            right=segment.end * 1000.0,
            part=segment.phase,
            color=colour,
            line=kind_color(call.attempts[segment.attempt].error_kind) if failed else colour,  # type: ignore[index]
            call=_row(call),
            attempt=MISSING if segment.attempt is None else str(segment.attempt + 1),
            ms=f"{segment.length * 1000.0:,.1f} ms",
            **_details(call, segment.attempt),
        )


def _markers(calls: Sequence[RequestTrace]) -> _Columns:
    """Where an attempt or a call failed (its end), and where a call was cut short by Ctrl-C.

    An attempt's failure is a cross and a call's a diamond, in the error kind's colour: a
    retried failure and a final one look different at a glance.
    """
    columns = _Columns("marker", "width")
    for call in calls:
        base = {"row": _row(call), "call": _row(call)}
        for number, attempt in enumerate(call.attempts):
            if attempt.error_kind is None:
                continue
            color = kind_color(attempt.error_kind)
            columns.add(
                **base,
                left=attempt.end * 1000.0,
                right=attempt.end * 1000.0,
                part=f"attempt failed: {attempt.error_kind}",
                color=color,
                line=color,
                marker="x",
                width=3,
                attempt=str(number + 1),
                ms=f"{(attempt.end - attempt.start) * 1000.0:,.1f} ms",
                **_details(call, number),
            )
        if call.interrupted:
            part, color, marker = "interrupted (Ctrl-C)", "#000000", "asterisk"
        elif not call.ok:
            part, color, marker = (
                f"call failed: {call.error_kind or 'unknown'}",
                kind_color(call.error_kind),
                "diamond",
            )
        else:
            continue
        columns.add(
            **base,
            left=call.end * 1000.0,
            right=call.end * 1000.0,
            part=part,
            color=color,
            line="#000000",
            marker=marker,
            width=1,
            attempt=MISSING,
            ms=f"{call.e2e * 1000.0:,.1f} ms",
            **_details(call, None),
        )
    return columns


def waterfall_sources(
    sample: Sample,
) -> tuple[dict[str, list[Any]], dict[str, list[Any]], dict[str, list[Any]]]:
    """(phase bar columns, back-off bar columns, marker columns) for the sampled calls."""
    bars = _Columns()
    if sample.calls:
        span = max(c.end for c in sample.calls) - min(c.start for c in sample.calls)
        for call in sample.calls:
            _bars(bars, call, span / _AXIS_PIXELS)
    backoff: dict[str, list[Any]] = {name: [] for name in bars.data}
    phases: dict[str, list[Any]] = {name: [] for name in bars.data}
    for index, part in enumerate(bars.data["part"]):
        target = backoff if part == "backoff" else phases
        for name, column in bars.data.items():
            target[name].append(column[index])
    markers = _markers(sample.calls).data
    # Bokeh merges legend entries of one field name across renderers, and refuses when their
    # sources differ: the markers' label column gets its own name.
    markers["event"] = markers.pop("part")
    return phases, backoff, markers


def waterfall_figure(sample: Sample) -> figure:
    phases, backoff, markers = waterfall_sources(sample)
    rows = [_row(c) for c in reversed(sample.calls)]  # first call on top
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
