"""``report.html``: the self-contained page of the run (:mod:`profiler.report.html`)."""

from __future__ import annotations

from pathlib import Path

from profiler.output.context import OutputContext
from profiler.runs import Run


def write(run: Run, context: OutputContext) -> dict[str, Path]:
    # Bokeh takes ~1 s to import: only once there is a run to draw, never while one is measured.
    from profiler.report.html import write_report

    return {"report": write_report(context.directory, run)}
