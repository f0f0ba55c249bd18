"""Everything a run writes, from one list: each output is one module with one ``write`` function.

    WRITERS = (profiles, errors_jsonl, requests_jsonl, report_html, summary_json, console)

:func:`write_run` calls them in that order; ``summary.json`` comes last but
one because its presence marks a run complete, and the console reads the
artifacts the others wrote. Adding an output format is one module and one
line here (docs/architecture.md shows a worked example). A writer reads the
typed :class:`~profiler.runs.Run`; it never re-derives a figure.
"""

from __future__ import annotations

from collections.abc import Sequence

from profiler.output import console, errors_jsonl, profiles, report_html, requests_jsonl, summary_json
from profiler.output.context import OutputContext, Writer
from profiler.runs import Run

WRITERS: tuple[Writer, ...] = (profiles, errors_jsonl, requests_jsonl, report_html, summary_json, console)


def write_run(run: Run, context: OutputContext, writers: Sequence[Writer] = WRITERS) -> Run:
    """Write every output of ``run`` into ``context.directory``; ``run.artifacts`` lists them."""
    context.directory.mkdir(parents=True, exist_ok=True)
    run.path = context.directory
    run.artifacts[summary_json.ARTIFACT] = str(context.directory / summary_json.FILENAME)  # always written
    for writer in writers:
        for name, path in writer.write(run, context).items():
            run.artifacts[name] = str(path)
    return run


__all__ = ["WRITERS", "OutputContext", "Writer", "write_run"]
