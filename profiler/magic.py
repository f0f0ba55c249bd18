"""The Jupyter magic: ``%load_ext profiler``, then ``%%llmprofile`` on a cell.

The cell runs inside :func:`profiler.session`; afterwards the notebook shows
the breakdown of the OpenAI calls the cell made and a link to the run's
report. Options: ``%%llmprofile --output-dir DIR --profiler cprofile``.

A cell that raises has its traceback shown once the session has ended: IPython
formats it in the notebook's process, tens to hundreds of milliseconds of CPU for
the SDK's deep stacks, which are not the cell's.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import shlex
import sys
from pathlib import Path
from typing import Any, NoReturn

from profiler.api import Session, session
from profiler.paths import default_output_dir
from profiler.profiling.passes import PROFILER_CHOICES
from profiler.report.verdict import verdict
from profiler.runs import Run
from profiler.trace.phases import PHASES, TOTALS


class _OptionParser(argparse.ArgumentParser):
    """Bad options are IPython's usage error (one line in the notebook), not a SystemExit."""

    def error(self, message: str) -> NoReturn:
        from IPython.core.error import UsageError

        raise UsageError(f"%%llmprofile: {message} (options: --output-dir DIR, --profiler CHOICE)")


def _arguments(line: str) -> argparse.Namespace:
    parser = _OptionParser(prog="%%llmprofile", add_help=False)
    parser.add_argument("--output-dir", "-o", type=Path)
    parser.add_argument("--profiler", choices=PROFILER_CHOICES, default="none")
    try:
        words = shlex.split(line)
    except ValueError as exc:  # an unclosed quote
        parser.error(str(exc))
    return parser.parse_args(words)


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def breakdown_html(run: Run) -> str:
    """An HTML table of the calls' phases, plus the headline figures and a link to the report."""
    figures = run.figures
    if figures.started == 0:
        return f"<p><b>llmprofile:</b> {html.escape(verdict(run))}</p>"
    latency = figures.latency
    shown = [p.name for p in PHASES if (s := figures.breakdown[p.name]) is not None and s.total > 0]
    rows = "".join(
        f"<tr><td>{'Σ ' if key in {t.name for t in TOTALS} else ''}{key}</td>"
        + "".join(f"<td>{_ms(getattr(stats, s))}</td>" for s in ("mean", "p50", "p99", "total"))
        + "</tr>"
        for key in [*shown, *(t.name for t in TOTALS)]
        if (stats := figures.breakdown[key]) is not None
    )
    split, wall = figures.split, figures.wall_s or 1.0
    shares = " · ".join(
        f"{label} {getattr(split, key) / wall:.0%}"
        for key, label in (("network", "network"), ("backoff", "back-off"), ("local", "local"))
    )
    link = ""
    if run.path is not None:
        report = run.path / "report.html"
        target = report if report.exists() else run.path / "summary.json"
        href, name = html.escape(str(target)), html.escape(target.name)
        saved_in = html.escape(str(run.path))
        link = f'<p>Run saved in <code>{saved_in}</code>: <a href="{href}" target="_blank">{name}</a></p>'
    calls = figures.started
    return (
        f"<p><b>llmprofile:</b> {calls} call{'' if calls == 1 else 's'}, {figures.succeeded} succeeded, "
        f"{figures.failed} failed · latency p50 {_ms(latency.p50 if latency else None)} ms, "
        f"p99 {_ms(latency.p99 if latency else None)} ms · "
        f"cell wall time {figures.wall_s:.2f} s: {shares}</p>"
        "<table><thead><tr><th>phase</th><th>mean ms</th><th>p50 ms</th><th>p99 ms</th><th>total ms</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>{link}"
    )


def llmprofile(line: str, cell: str, shell: Any) -> Session:
    """Run the cell under a profiler session and display its breakdown."""
    from IPython.display import HTML, display

    options = _arguments(line)
    output_dir = options.output_dir or default_output_dir()
    tracebacks = _HeldTracebacks(shell)
    try:
        with session(output_dir=output_dir, profiler=options.profiler) as result, tracebacks:
            outcome = shell.run_cell(cell)
    finally:
        tracebacks.show()
    assert result.run is not None
    display(HTML(breakdown_html(result.run)))
    if not outcome.success:
        error = outcome.error_before_exec or outcome.error_in_exec
        if error is not None:
            # The cell's traceback is already above: IPython shows this one as a line, not again.
            name = type(error).__name__
            with contextlib.suppress(AttributeError):  # an exception class without a __dict__
                error._render_traceback_ = lambda: [  # type: ignore[union-attr]
                    f"%%llmprofile: the cell raised {name} (its traceback is above); its calls are profiled "
                    "above"
                ]
        outcome.raise_error()
    return result


class _HeldTracebacks:
    """While entered, what IPython would show with ``showtraceback`` is held, to be shown by `show`:
    the time spent formatting it is then outside the session's wall clock and profiles."""

    def __init__(self, shell: Any) -> None:
        self._shell = shell
        self._held: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = []
        self._own = shell.__dict__.get("showtraceback")  # the shell's own, if it has one; else its class's

    def __enter__(self) -> _HeldTracebacks:
        self._shell.showtraceback = self._hold
        return self

    def __exit__(self, *exc: object) -> None:
        if self._own is None:
            del self._shell.showtraceback
        else:
            self._shell.showtraceback = self._own

    def _hold(self, exc_tuple: Any = None, *args: Any, **kwargs: Any) -> None:
        if exc_tuple is None:
            exc_tuple = sys.exc_info()  # IPython would read it now; it is gone by the time we show it
            if exc_tuple[0] is None:  # nothing being handled: IPython falls back on sys.last_*
                exc_tuple = None
        self._held.append((exc_tuple, args, kwargs))

    def show(self) -> None:
        held, self._held = self._held, []
        for exc_tuple, args, kwargs in held:
            self._shell.showtraceback(exc_tuple, *args, **kwargs)


def load_ipython_extension(ipython: Any) -> None:
    ipython.register_magic_function(
        lambda line, cell: llmprofile(line, cell, ipython), magic_kind="cell", magic_name="llmprofile"
    )
