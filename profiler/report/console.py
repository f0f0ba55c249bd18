"""The console report: what a developer reads after ``python -m profiler.run``.

Off a terminal (piped to a file, a CI log) nothing is wrapped or cut: commands
stay pasteable and figures whole (:func:`make_console`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.table import Table

from profiler.report.snakeviz import view_command
from profiler.report.verdict import verdict
from profiler.runs import Distribution, Run, Streaming
from profiler.runs.gc import GcFigures
from profiler.runs.model import MEASURED_TRACE_ONLY
from profiler.trace.phases import PHASES, TOTALS, help_of

# Wide enough for any line we print: a console that is not a terminal has no width of its own.
UNWRAPPED_WIDTH = 10_000
MISSING = "—"


def make_console(file: TextIO | None = None, *, stderr: bool = False) -> Console:
    """A console that wraps to the terminal, and never wraps or truncates when piped."""
    stream = file or (sys.stderr if stderr else sys.stdout)
    is_terminal = hasattr(stream, "isatty") and stream.isatty()
    if is_terminal or os.environ.get("COLUMNS"):
        return Console(file=stream, highlight=False)
    return Console(file=stream, highlight=False, width=UNWRAPPED_WIDTH, soft_wrap=True)


def _ms(value: float | None) -> str:
    return MISSING if value is None else f"{value:,.1f} ms"


def _percentiles(stats: Distribution) -> str:
    return " · ".join(f"{key} {_ms(getattr(stats, key))}" for key in ("p50", "p90", "p99", "max"))


def _source(run: Run) -> str:
    return "trace-only pass" if run.passes.figures == MEASURED_TRACE_ONLY else "profilers attached"


def requests_table(run: Run) -> Table:
    figures = run.figures
    table = Table(title=f"Calls ({_source(run)})", title_justify="left", show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    table.add_row(
        "calls", f"{figures.started} started, {figures.succeeded} succeeded, {figures.failed} failed"
    )
    if len(figures.calls_by_api) > 1 or (
        figures.calls_by_api and "chat.completions" not in figures.calls_by_api
    ):
        table.add_row("by API", ", ".join(f"{api} {count}" for api, count in figures.calls_by_api.items()))
    table.add_row("error rate", MISSING if figures.error_rate is None else f"{figures.error_rate:.1%}")
    if figures.errors:
        rates = figures.error_rates or {}
        table.add_row(
            "errors (final)", ", ".join(f"{k} {v} ({rates[k]:.1%})" for k, v in figures.errors.items())
        )
    if figures.attempt_errors:
        table.add_row("errors (attempts)", ", ".join(f"{k} {v}" for k, v in figures.attempt_errors.items()))
    table.add_row("attempts", f"{figures.attempts} ({figures.retried} retries)")
    table.add_row("connections", f"{figures.connections_new} new, {figures.connections_reused} reused")
    if figures.latency:
        table.add_row("latency", _percentiles(figures.latency))
    streaming = figures.streaming
    if streaming is not None:
        for label, stats in (("TTFT", streaming.ttft), ("ITL", streaming.itl), ("TPOT", streaming.tpot)):
            if stats is not None:
                table.add_row(label, _percentiles(stats) + (_itl_lost(streaming) if label == "ITL" else ""))
    if streaming is not None and streaming.ttft_parts and streaming.ttft is not None:
        parts = " · ".join(
            f"{name} {_ms(stats.mean)}" for name, stats in streaming.ttft_parts.items() if stats.mean >= 0.05
        )
        if streaming.ttft_bounded:
            parts += (
                f"  (server is an upper bound in {streaming.ttft_bounded} of {streaming.ttft.count} calls: "
                "read late, their first content merged with later chunks)"
            )
        table.add_row("TTFT, mean parts", parts)
    if streaming is not None and streaming.itl_seen is not None and streaming.itl is not None:
        table.add_row("ITL as handed over", _percentiles(streaming.itl_seen))
    if figures.schedule_lag is not None:
        table.add_row("waited to start", _percentiles(figures.schedule_lag) + "  (open loop: due → SDK call)")
    if figures.latency_from_schedule is not None:
        table.add_row("latency from due", _percentiles(figures.latency_from_schedule))
    if figures.event_loop_lag is not None:
        table.add_row("event-loop lag", _percentiles(figures.event_loop_lag))
    if figures.gc is not None and figures.gc.longest_ms is not None:
        table.add_row("garbage collection", _gc_row(figures.gc))
    if run.target.arrival_timestamps:
        table.add_row("arrival times", run.target.arrival_timestamps)
    queue = figures.breakdown["queue"]
    if queue is not None and queue.p99 >= 1.0:
        table.add_row(
            "client queue", f"waiting for a pooled connection p50 {_ms(queue.p50)} · p99 {_ms(queue.p99)}"
        )
    kept = sum(1 for c in run.calls if not c.interrupted)
    if kept < figures.started:
        table.add_row(
            "calls kept whole",
            f"the first {kept:,} (requests.jsonl, the report's waterfall); "
            f"the figures count all {figures.started:,}",
        )
    if figures.throughput_rps is not None:
        table.add_row("throughput", f"{figures.throughput_rps:.2f} calls/s over {figures.wall_s:.2f} s")
    return table


def _itl_lost(streaming: Streaming) -> str:
    """What the ITL row leaves out: gaps whose chunks the kernel merged before they were read."""
    if not streaming.itl_unknown or streaming.itl is None:
        return ""
    gaps = streaming.itl.count + streaming.itl_unknown
    return (
        f"  (over {streaming.itl.count} of {gaps} gaps: {streaming.itl_unknown} arrived merged with the "
        "next chunk, their arrival lost; those are short ones, so this leans long: see ITL as "
        "handed over, or --wire-arrivals)"
    )


def _gc_row(gc: GcFigures) -> str:
    counts = "/".join(str(gc.collections.get(str(generation), 0)) for generation in range(3))
    row = f"{counts} collections (generations 0/1/2), {_ms(gc.pause_ms)} in all, longest {_ms(gc.longest_ms)}"
    if gc.calls_ms:
        row += (
            f"; {_ms(gc.calls_ms)} while {gc.calls_paused} of {gc.of_calls} calls were in flight,"
            f" {_ms(gc.calls_local_ms)} of it their local time ({_ms(gc.calls_contention_ms)} contention)"
        )
    return row


def phases_table(run: Run, explain: bool = True) -> Table:
    """The leaves partition the calls' time (their shares add up to 100%); totals and parts are marked."""
    breakdown = run.figures.breakdown
    table = Table(title=f"Where each call's time went ({_source(run)})", title_justify="left")
    for name, justify in (("phase", "left"), ("mean", "right"), ("p50", "right"), ("p99", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    table.add_column("share", justify="right")
    if explain:
        table.add_column("what it is", style="dim", no_wrap=True, overflow="ellipsis")
    leaf_total = sum(stats.total for p in PHASES if p.leaf and (stats := breakdown[p.name]) is not None)

    def row(label: str, key: str, share: str, style: str | None = None) -> None:
        stats = breakdown[key]
        cells = [
            label,
            *(_ms(getattr(stats, s)) if stats else MISSING for s in ("mean", "p50", "p99")),
            share,
        ]
        table.add_row(*cells, *([help_of(key)] if explain else []), style=style)

    def share_of(key: str) -> str:
        stats = breakdown[key]
        return f"{stats.total / leaf_total:.1%}" if stats is not None and leaf_total else MISSING

    for phase in PHASES:
        if phase.leaf:
            row(phase.name, phase.name, share_of(phase.name))
        elif phase.name == "server_processing":
            reported = run.figures.server_processing_reported
            note = f"{reported} of {run.figures.started} calls" if reported != run.figures.started else ""
            row(f"  ↳ {phase.name}", phase.name, note or "(part)", style="dim")
    table.add_section()
    for total in TOTALS:
        row(f"Σ {total.name}", total.name, share_of(total.name), style="bold")
    return table


def wall_table(run: Run) -> Table:
    """The run's wall time, by what was going on: the program's own code between calls included."""
    figures = run.figures
    split, wall = figures.split, figures.wall_s
    table = Table(title=f"Wall time {wall:.2f} s, by what was going on", title_justify="left")
    table.add_column("")
    table.add_column("seconds", justify="right")
    table.add_column("share", justify="right")
    backoff = figures.breakdown["backoff"]
    rows = (
        ("network (some call waiting on it)", split.network),
        ("back-off (no call on the network)", split.backoff),
        ("local inside calls (SDK work, queueing, stream consumers)", split.local_in_calls),
        ("your code between calls (no call in flight)", split.local_between_calls),
    )
    for label, seconds in rows:
        table.add_row(label, f"{seconds:,.2f}", f"{seconds / wall:.0%}" if wall > 0 else MISSING)
    if backoff is not None and backoff.total > 0 and figures.retried:
        table.caption = (
            f"{figures.retried} retries slept {backoff.total / 1000:,.2f} s in all; "
            "back-off above counts only "
            "the part when no other call was on the network."
        )
    return table


def hotspots_table(run: Run, top: int = 5) -> Table | None:
    """Top local functions by self time, waits taken out (from the cProfile pass)."""
    if run.attribution is None:
        return None
    name, profile = next(
        (
            (n, run.attribution.profiles[n])
            for n in ("cprofile", "pyinstrument")
            if n in run.attribution.profiles
        ),
        (None, None),
    )
    if profile is None or not profile.hotspots:
        return None
    seconds = profile.seconds
    title = (
        f"Local hotspots, waits taken out ({name} pass: "
        + " · ".join(f"{key} {value:.2f} s" for key, value in seconds.items())
        + ")"
    )
    table = Table(title=title, title_justify="left")
    table.add_column("function")
    table.add_column("self", justify="right")
    table.add_column("calls", justify="right")
    for spot in profile.hotspots[:top]:
        location = f"{Path(spot.file).name}:{spot.line}" if spot.file not in ("~", "") else "built-in"
        calls = MISSING if spot.calls is None else f"{spot.calls:,}"
        table.add_row(f"{spot.function} ({location})", _ms(spot.self_ms), calls)
    return table


def print_report(console: Console, run: Run) -> None:
    console.print()
    console.print(requests_table(run))
    if run.figures.started:
        console.print()
        console.print(phases_table(run, explain=console.width >= 120))
        console.print()
        console.print(wall_table(run))
    hotspots = hotspots_table(run)
    if hotspots is not None:
        console.print()
        console.print(hotspots)
    console.print()
    console.print(f"[bold]Verdict:[/bold] {verdict(run)}")
    if run.artifacts:
        console.print()
        console.print(f"[bold]Artifacts[/bold] in {run.path}")
        for name, path in run.artifacts.items():
            console.print(f"  {name:<20} {path}")
    if "cprofile" in run.artifacts:
        console.print()
        console.print(
            "Profiles come from separate passes (profilers slow calls down); the figures above do not."
        )
        console.print(f"View the cProfile profile:  [bold]{view_command(run.artifacts['cprofile'])}[/bold]")
        if "local_profile" in run.artifacts:
            console.print(f"Local work only:            {view_command(run.artifacts['local_profile'])}")
