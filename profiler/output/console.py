"""The console report, printed once everything is written (it names the files)."""

from __future__ import annotations

from pathlib import Path

from profiler.output.context import OutputContext
from profiler.report.console import print_report
from profiler.runs import Run


def write(run: Run, context: OutputContext) -> dict[str, Path]:
    if context.console is not None:
        print_report(context.console, run)
    return {}
