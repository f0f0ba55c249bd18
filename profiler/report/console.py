"""The console report: what a developer reads after ``python -m profiler.run``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from profiler.report.verdict import verdict

_PHASE_HELP = {
    "local_pre": "SDK entry → request sent to the HTTP client (building the request)",
    "queue": "waiting for a pooled connection",
    "connect": "TCP connect (DNS inside)",
    "tls": "TLS handshake",
    "send": "sending headers and body",
    "server_wait": "request sent → response headers",
    "server_processing": "  of which the server reported (openai-processing-ms)",
    "download": "response body (streams: time blocked on chunks)",
    "local_post": "body received → SDK returns (parsing, validation)",
    "caller": "your code between stream chunks",
    "backoff": "the SDK's sleep between retries",
    "network": "connect + tls + send + server_wait + download",
    "local": "local_pre + local_post + caller",
}


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "–"
    return f"{value:,.1f}{unit}"


def _percentiles(stats: dict[str, float]) -> str:
    return " · ".join(f"{key} {_fmt(stats[key], ' ms')}" for key in ("p50", "p90", "p99", "max"))


def requests_table(summary: dict[str, Any]) -> Table:
    table = Table(title="Requests (trace-only pass)", title_justify="left", show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    requests, attempts = summary["requests"], summary["attempts"]
    table.add_row(
        "requests",
        f"{requests['started']} started, {requests['succeeded']} succeeded, {requests['failed']} failed",
    )
    table.add_row("error rate", f"{summary['error_rate'] * 100:.1f}%")
    if summary["errors"]:
        rates = summary["error_rates"]
        table.add_row(
            "errors (final)", ", ".join(f"{k} {v} ({rates[k]:.1%})" for k, v in summary["errors"].items())
        )
    if summary.get("attempt_errors"):
        table.add_row(
            "errors (attempts)", ", ".join(f"{k} {v}" for k, v in summary["attempt_errors"].items())
        )
    table.add_row("attempts", f"{attempts['total']} ({attempts['retried']} retries)")
    connections = summary["connections"]
    table.add_row("connections", f"{connections['new']} new, {connections['reused']} reused")
    latency = summary.get("latency_ms")
    if latency:
        table.add_row("latency", _percentiles(latency))
    for key, label in (("ttft_ms", "TTFT"), ("itl_ms", "ITL"), ("tpot_ms", "TPOT")):
        stats = summary.get(key)
        if stats:
            table.add_row(label, _percentiles(stats))
    queue = summary["breakdown_ms"]["queue"]
    if queue["p99"] >= 1.0:
        table.add_row(
            "client queue",
            f"waiting for a pooled connection p50 {queue['p50']:,.1f} ms · p99 {queue['p99']:,.1f} ms",
        )
    table.add_row(
        "throughput", f"{summary['throughput_rps'] or 0:.2f} requests/s over {summary['wall_s']:.2f} s"
    )
    return table


def phases_table(summary: dict[str, Any], explain: bool = True) -> Table:
    table = Table(title="Where each call's time went (trace-only pass)", title_justify="left")
    table.add_column("phase")
    table.add_column("mean", justify="right")
    table.add_column("p50", justify="right")
    table.add_column("p99", justify="right")
    table.add_column("share", justify="right")
    if explain:
        table.add_column("what it is", style="dim", no_wrap=True, overflow="ellipsis")
    breakdown = summary["breakdown_ms"]
    call_total = sum(
        breakdown[k]["total"] for k in breakdown if k not in ("server_processing", "network", "local")
    )
    for phase, stats in breakdown.items():
        share = stats["total"] / call_total * 100 if call_total else 0.0
        style = "bold" if phase in ("network", "local") else None
        table.add_row(
            phase,
            _fmt(stats["mean"], " ms"),
            _fmt(stats["p50"], " ms"),
            _fmt(stats["p99"], " ms"),
            f"{share:.1f}%",
            *([_PHASE_HELP.get(phase, "")] if explain else []),
            style=style,
        )
    return table


def hotspots_table(attribution: dict[str, Any], top: int = 5) -> Table | None:
    """Top local functions by self time, waits taken out (from the cProfile pass)."""
    source = attribution.get("cprofile") or attribution.get("pyinstrument")
    if not source or not source["hotspots"]:
        return None
    seconds = source["seconds"]
    title = (
        "Local hotspots, waits taken out (profiler pass: "
        f"network {seconds['network']:.2f} s · back-off {seconds['backoff']:.2f} s · "
        f"idle {seconds['idle']:.2f} s · local {seconds['local']:.2f} s)"
    )
    table = Table(title=title, title_justify="left")
    table.add_column("function")
    table.add_column("self", justify="right")
    table.add_column("calls", justify="right")
    for spot in source["hotspots"][:top]:
        location = (
            f"{Path(spot['file']).name}:{spot['line']}" if spot["file"] not in ("~", "") else "built-in"
        )
        table.add_row(f"{spot['function']} ({location})", f"{spot['self_ms']:,.1f} ms", str(spot["calls"]))
    return table


def print_report(console: Console, summary: dict[str, Any], output_dir: str) -> None:
    console.print()
    console.print(requests_table(summary))
    console.print()
    console.print(phases_table(summary, explain=console.width >= 120))
    split, wall = summary["split_s"], summary["wall_s"]
    if wall > 0:
        shares = " · ".join(f"{key} {split[key] / wall:.0%}" for key in ("network", "backoff", "local"))
        console.print(f"Wall time {wall:.2f} s: {shares}  [dim](union over concurrent calls)[/dim]")
    hotspots = hotspots_table(summary.get("attribution", {}))
    if hotspots is not None:
        console.print()
        console.print(hotspots)
    console.print()
    console.print(f"[bold]Verdict:[/bold] {verdict(summary)}")
    artifacts = summary.get("artifacts", {})
    if artifacts:
        console.print()
        console.print("[bold]Artifacts[/bold] in " + output_dir)
        for name, path in artifacts.items():
            console.print(f"  {name:<20} {path}")
    if "cprofile" in artifacts:
        console.print()
        console.print(
            "Profiles come from separate passes (profilers slow calls down); the figures above do not."
        )
        console.print(
            f"View the cProfile profile:  [bold]snakeviz -s -H 127.0.0.1 {artifacts['cprofile']}[/bold]"
        )
        if "local_profile" in artifacts:
            console.print(
                f"Local work only:            snakeviz -s -H 127.0.0.1 {artifacts['local_profile']}"
            )
