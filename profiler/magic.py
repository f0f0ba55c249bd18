"""The Jupyter magic: ``%load_ext profiler``, then ``%%llmprofile`` on a cell.

The cell runs inside :func:`profiler.session`; afterwards the notebook shows
the breakdown of the OpenAI calls the cell made and a link to the run's
report. Options: ``%%llmprofile --output-dir DIR --profiler cprofile``.
"""

from __future__ import annotations

import argparse
import html
import shlex
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from profiler.api import Session, session
from profiler.profiling.passes import PROFILER_CHOICES
from profiler.report.summary import BREAKDOWN_KEYS


def _arguments(line: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="%%llmprofile", add_help=False)
    parser.add_argument("--output-dir", "-o", type=Path)
    parser.add_argument("--profiler", choices=PROFILER_CHOICES, default="none")
    return parser.parse_args(shlex.split(line))


def breakdown_html(run: Session) -> str:
    """An HTML table of the calls' phases, plus the headline figures and a link to the report."""
    summary = run.summary
    requests = summary["requests"]
    if requests["started"] == 0:
        return "<p><b>llmprofile:</b> the cell made no OpenAI call.</p>"
    latency = summary["latency_ms"]
    rows = "".join(
        f"<tr><td>{phase}</td><td>{stats['mean']:.1f}</td><td>{stats['p50']:.1f}</td>"
        f"<td>{stats['p99']:.1f}</td><td>{stats['total']:.1f}</td></tr>"
        for phase, stats in summary["breakdown_ms"].items()
        if phase in BREAKDOWN_KEYS and (stats["total"] > 0 or phase in ("network", "local"))
    )
    split, wall = summary["split_s"], summary["wall_s"] or 1.0
    shares = " · ".join(f"{key} {split[key] / wall:.0%}" for key in ("network", "backoff", "local"))
    link = ""
    if run.output_dir is not None:
        report = run.output_dir / "report.html"
        target = report if report.exists() else run.output_dir / "summary.json"
        href, name = html.escape(str(target)), html.escape(target.name)
        saved_in = html.escape(str(run.output_dir))
        link = f'<p>Run saved in <code>{saved_in}</code>: <a href="{href}" target="_blank">{name}</a></p>'
    return (
        f"<p><b>llmprofile:</b> {requests['started']} call{'' if requests['started'] == 1 else 's'}, "
        f"{requests['succeeded']} succeeded, "
        f"{requests['failed']} failed · latency p50 {latency['p50']:.1f} ms, p99 {latency['p99']:.1f} ms · "
        f"cell wall time {wall:.2f} s: {shares}</p>"
        "<table><thead><tr><th>phase</th><th>mean ms</th><th>p50 ms</th><th>p99 ms</th><th>total ms</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>{link}"
    )


def llmprofile(line: str, cell: str, shell: Any) -> Session:
    """Run the cell under a profiler session and display its breakdown."""
    from IPython.display import HTML, display

    options = _arguments(line)
    output_dir = options.output_dir or Path("profiles") / datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    with session(output_dir=output_dir, profiler=options.profiler) as run:
        result = shell.run_cell(cell)
    display(HTML(breakdown_html(run)))
    if not result.success:
        result.raise_error()
    return run


def load_ipython_extension(ipython: Any) -> None:
    ipython.register_magic_function(
        lambda line, cell: llmprofile(line, cell, ipython), magic_kind="cell", magic_name="llmprofile"
    )
