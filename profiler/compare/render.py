"""The console view of a comparison: rich tables, worse in red, better in green.

Every figure compared here is better when smaller, so "worse" means B > A.
Changes too small to tell from noise stay uncoloured.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rich import box
from rich.console import Console
from rich.table import Table

from profiler.compare.deltas import Comparison, Delta
from profiler.compare.gate import Check
from profiler.compare.verdict import compare_verdict
from profiler.trace.phases import TOTALS

TOTAL_NAMES = frozenset(total.name for total in TOTALS)

# Below these a change is within what two runs of the same workload differ by.
_NOISE_MS = 0.5
_NOISE_RELATIVE = 0.05
_NOISE_FUNCTION_MS = 0.1
_STREAM_LABELS = {"ttft_ms": "TTFT", "itl_ms": "ITL", "tpot_ms": "TPOT"}


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f}"


def _relative(delta: Delta) -> str:
    relative = delta.relative
    return "new" if relative is None else f"{relative:+.0%}"


def _colour(change: float, visible: bool) -> str | None:
    if not visible or change == 0:
        return None
    return "red" if change > 0 else "green"


def _ms_style(delta: Delta) -> str | None:
    relative = delta.relative
    visible = abs(delta.change) >= _NOISE_MS and (relative is None or abs(relative) >= _NOISE_RELATIVE)
    return _colour(delta.change, visible)


def _cells(delta: Delta | None) -> list[str]:
    if delta is None:
        return ["–"] * 4
    style = _ms_style(delta)
    change, relative = f"{delta.change:+,.1f}", _relative(delta)
    if style:
        change, relative = f"[{style}]{change}[/{style}]", f"[{style}]{relative}[/{style}]"
    return [_ms(delta.a), _ms(delta.b), change, relative]


def _table(title: str) -> Table:
    # Up to nine columns: without vertical rules and with shared padding they fit 80 columns.
    return Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, collapse_padding=True)


def _pair_table(title: str, stats: Iterable[tuple[str, Mapping[str, Delta], str | None]]) -> Table:
    """One row per metric: A, B, Δ and Δ% of its p50, then of its p99."""
    table = _table(title)
    table.add_column("", no_wrap=True)  # a phase name cut short is a phase name lost
    for stat in ("p50", "p99"):
        table.add_column(f"A {stat}", justify="right")
        table.add_column(f"B {stat}", justify="right")
        table.add_column("Δ", justify="right")
        table.add_column("Δ%", justify="right")
    for name, deltas, row_style in stats:
        table.add_row(name, *_cells(deltas.get("p50")), *_cells(deltas.get("p99")), style=row_style)
    return table


def _all_zero(deltas: Mapping[str, Delta]) -> bool:
    return all(d.a == 0 and d.b == 0 for d in deltas.values())


def phases_table(comparison: Comparison) -> Table:
    rows: list[tuple[str, Mapping[str, Delta], str | None]] = [("latency", comparison.latency, "bold")]
    for phase, deltas in comparison.phases.items():
        if not _all_zero(deltas):  # tls on plain HTTP, backoff without retries: noise in the table
            style = "bold" if phase in TOTAL_NAMES else None
            rows.append((f"Σ {phase}" if phase in TOTAL_NAMES else phase, deltas, style))
    return _pair_table("Latency and phases per call (ms; phases zero in both runs left out)", rows)


def streaming_table(comparison: Comparison) -> Table | None:
    if not comparison.streaming:
        return None
    rows = [(_STREAM_LABELS[m], d, None) for m, d in comparison.streaming.items()]
    return _pair_table("Streaming (ms)", rows)


def _rate_cells(delta: Delta | None) -> list[str]:
    if delta is None:
        return ["–"] * 3  # a run without calls: no rate
    points = delta.change * 100
    style = _colour(points, True)
    change = f"{points:+.1f} pts"
    return [f"{delta.a:.1%}", f"{delta.b:.1%}", f"[{style}]{change}[/{style}]" if style else change]


def errors_table(comparison: Comparison) -> Table:
    table = _table("Errors (share of calls that failed)")
    table.add_column("")
    table.add_column("A", justify="right")
    table.add_column("B", justify="right")
    table.add_column("Δ", justify="right")
    table.add_row("error rate", *_rate_cells(comparison.error_rate), style="bold")
    for kind, delta in comparison.errors.items():
        a, b, change = _rate_cells(delta.rate)
        table.add_row(f"  {kind}", f"{a} ({delta.count_a})", f"{b} ({delta.count_b})", change)
    return table


def split_line(comparison: Comparison) -> str | None:
    if not comparison.split_share:
        return None
    parts = [
        f"{key} {d.a:.0%} → {d.b:.0%} ({d.change * 100:+.0f} pts)"
        for key, d in comparison.split_share.items()
    ]
    return "Wall time split: " + " · ".join(parts)


def gc_line(comparison: Comparison) -> str | None:
    """Collection time per call, A → B, coloured as any ms figure is."""
    labels = {"pause": "in all", "calls_local": "in the calls' local time"}
    parts = []
    for key, delta in comparison.gc.items():
        style = _ms_style(delta)
        change = f"{delta.change:+,.2f}"
        if style:
            change = f"[{style}]{change}[/{style}]"
        parts.append(f"{labels[key]} {delta.a:,.2f} → {delta.b:,.2f} ({change})")
    return "Garbage collection per call (ms): " + " · ".join(parts) if parts else None


def functions_table(comparison: Comparison) -> Table | None:
    functions = comparison.functions
    if functions is None or not functions.rows:
        return None
    title = f"Local functions whose self time changed most (ms per request, from {functions.source})"
    table = _table(title)
    table.add_column("function", overflow="fold")
    table.add_column("A", justify="right")
    table.add_column("B", justify="right")
    table.add_column("Δ", justify="right")
    for row in functions.rows:
        style = _colour(row.change_ms, abs(row.change_ms) >= _NOISE_FUNCTION_MS)
        change = f"{row.change_ms:+,.2f}"
        a = "absent" if row.a_ms is None else f"{row.a_ms:,.2f}"
        b = "absent" if row.b_ms is None else f"{row.b_ms:,.2f}"
        table.add_row(row.label, a, b, f"[{style}]{change}[/{style}]" if style else change)
    return table


def print_comparison(console: Console, comparison: Comparison, checks: list[Check] | None = None) -> None:
    console.print(f"A: {comparison.a_path}  ({comparison.requests_a} requests)", soft_wrap=True)
    console.print(f"B: {comparison.b_path}  ({comparison.requests_b} requests)", soft_wrap=True)
    for note in comparison.notes:
        console.print(f"[yellow]Note:[/yellow] {note}", soft_wrap=True)
    console.print()
    console.print(phases_table(comparison))
    for line in (split_line(comparison), gc_line(comparison)):
        if line:
            console.print(line)
    console.print()
    console.print(errors_table(comparison))
    stream = streaming_table(comparison)
    if stream is not None:
        console.print()
        console.print(stream)
    functions = functions_table(comparison)
    if functions is not None:
        console.print()
        console.print(functions)
    if comparison.functions_note:
        console.print()
        console.print(f"Functions: {comparison.functions_note}", soft_wrap=True)
    console.print()
    console.print(f"[bold]Verdict:[/bold] {compare_verdict(comparison)}", soft_wrap=True)
    for check in checks or []:
        mark = "[green]ok[/green]  " if check.passed else "[red]FAIL[/red]"
        console.print(f"{mark} {check.name}: {check.detail}", soft_wrap=True)
