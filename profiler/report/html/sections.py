"""The plain-HTML parts of ``report.html``: header, summary cards, tables, links.

Every string from the run goes through :func:`html.escape`; every summary figure
through :func:`profiler.report.html.formatting.figure_span`.
"""

from __future__ import annotations

import re
from html import escape
from pathlib import PurePath
from urllib.parse import quote

from profiler.report.html.formatting import MISSING, figure_span, share
from profiler.report.snakeviz import view_command
from profiler.runs import Distribution, Run
from profiler.target import redact_url
from profiler.trace.kinds import ERROR_KINDS
from profiler.trace.phases import PHASES, TOTALS, help_of

ARTIFACT_HELP = {
    "summary": "the run's figures (this page's source)",
    "requests": "one JSON line per call: phases, attempts, errors",
    "errors": "one JSON line per failed attempt and per failed call",
    "cprofile": "cProfile of the profiling pass: open with snakeviz",
    "local_profile": "the same profile with network waits and back-off taken out",
    "pyinstrument_html": "pyinstrument's call tree (self-contained page)",
    "speedscope": "pyinstrument profile for speedscope",
    "ground_truth": "what the simulator really did, per request",
}
PROFILE_ARTIFACTS = ("cprofile", "local_profile")
SHOWN_CONFIG = (
    "requests", "concurrency", "client", "rate", "stream", "model", "n", "profiler", "max_retries",
    "local_work_ms", "program",
)  # fmt: skip


def header(run: Run, verdict_text: str | None) -> str:
    target = run.target
    if target.base_url:
        where = escape(redact_url(target.base_url) or "")
    elif target.embedded_simulator:
        where = f"the embedded simulator, scenario <code>{escape(str(target.scenario))}</code>"
    else:
        where = MISSING
    config = run.config.to_dict()
    settings = " · ".join(
        f"{escape(key)} <code>{escape(str(config[key]))}</code>" for key in SHOWN_CONFIG if key in config
    )
    parts = [
        "<header>",
        "<h1>profiler run report</h1>",
        f"<p>Target: {where}</p>",
        f"<p class='settings'>{settings}</p>" if settings else "",
    ]
    if run.interrupted:
        parts.append(
            '<p class="banner" id="interrupted">This run was interrupted (Ctrl-C): the figures cover '
            "the calls that finished; calls cut short are drawn in the waterfall and left out elsewhere.</p>"
        )
    if verdict_text:
        parts.append(f'<p class="verdict" id="verdict"><strong>Verdict:</strong> {escape(verdict_text)}</p>')
    parts.append("</header>")
    return "\n".join(parts)


CardLine = tuple[str, float | int | None, str, str]  # (summary path, value, unit, label)


def _card(card_id: str, title: str, lines: list[CardLine], extra: str = "") -> str:
    rows = "".join(
        f"<div class='line'><span class='label'>{escape(label)}</span> {figure_span(path, value, unit)}</div>"
        for path, value, unit, label in lines
    )
    return f'<div class="card" id="card-{card_id}"><h3>{escape(title)}</h3>{rows}{extra}</div>'


def _stat(stats: Distribution | None, name: str) -> float | None:
    return None if stats is None else getattr(stats, name)


def cards(run: Run) -> str:
    figures = run.figures
    split, wall = figures.split, figures.wall_s
    split_shares = " · ".join(
        f"{label} {share(getattr(split, name), wall)}"
        for name, label in (
            ("network", "network"),
            ("backoff", "back-off"),
            ("local_in_calls", "local in calls"),
            ("local_between_calls", "your code between calls"),
        )
    )
    latency = figures.latency
    items = [
        _card(
            "requests",
            "Calls",
            [
                ("requests.started", figures.started, "count", "started"),
                ("requests.succeeded", figures.succeeded, "count", "succeeded"),
                ("requests.failed", figures.failed, "count", "failed"),
            ],
        ),
        _card(
            "errors",
            "Error rate",
            [
                ("error_rate", figures.error_rate, "fraction", "failed"),
                ("attempts.total", figures.attempts, "count", "attempts"),
                ("attempts.retried", figures.retried, "count", "retries"),
            ],
        ),
        _card(
            "latency",
            "Latency (end to end)",
            [
                ("latency_ms.p50", _stat(latency, "p50"), "ms", "p50"),
                ("latency_ms.p99", _stat(latency, "p99"), "ms", "p99"),
                ("latency_ms.max", _stat(latency, "max"), "ms", "max"),
            ],
        ),
    ]
    if figures.streaming is not None:
        streaming = figures.streaming
        items.append(
            _card(
                "ttft",
                "Time to first token",
                [
                    ("ttft_ms.p50", _stat(streaming.ttft, "p50"), "ms", "p50"),
                    ("ttft_ms.p99", _stat(streaming.ttft, "p99"), "ms", "p99"),
                    ("tpot_ms.p50", _stat(streaming.tpot, "p50"), "ms", "TPOT p50"),
                ],
            )
        )
    items += [
        _card(
            "wall",
            "Wall time",
            [
                ("wall_s", figures.wall_s, "s", "wall"),
                ("cpu_s", figures.cpu_s, "s", "CPU"),
                ("throughput_rps", figures.throughput_rps, "rps", "throughput"),
            ],
        ),
        _card(
            "split",
            "Split of wall time",
            [
                ("split_s.network", split.network, "s", "network"),
                ("split_s.backoff", split.backoff, "s", "back-off"),
                ("split_s.local", split.local, "s", "local"),
                ("split_s.local_between_calls", split.local_between_calls, "s", "of which between calls"),
            ],
            extra=f"<div class='shares' id='split-shares'>{escape(split_shares)}</div>",
        ),
    ]
    gc = figures.gc
    if gc is not None and gc.longest_ms is not None:
        items.append(
            _card(
                "gc",
                "Garbage collection",
                [
                    ("gc.pause_ms", gc.pause_ms, "ms", "paused"),
                    ("gc.longest_ms", gc.longest_ms, "ms", "longest"),
                    ("gc.calls_ms", gc.calls_ms, "ms", "while calls were in flight"),
                    ("gc.calls_local_ms", gc.calls_local_ms, "ms", "of which their local time"),
                ],
            )
        )
    return f'<section class="cards" id="cards">{"".join(items)}</section>'


def breakdown_table(run: Run) -> str:
    """Per-call phase statistics: the leaves (shares add up to 100%), then the marked totals."""
    breakdown = run.figures.breakdown
    if not run.figures.started:
        return "<p class='empty'>No calls, so no phases.</p>"
    leaf_total = sum(stats.total for p in PHASES if p.leaf and (stats := breakdown[p.name]) is not None)
    head = (
        "<tr><th>phase</th><th>mean</th><th>p50</th><th>p99</th><th>total</th><th>share</th>"
        "<th>what it is</th></tr>"
    )

    def row(key: str, label: str, css: str) -> str:
        stats = breakdown[key]
        cells = "".join(
            f"<td class='num'>{figure_span(f'breakdown_ms.{key}.{s}', getattr(stats, s, None), 'ms')}</td>"
            for s in ("mean", "p50", "p99", "total")
        )
        portion = share(stats.total if stats else None, leaf_total) if css != "part" else MISSING
        return (
            f"<tr class='{css}' data-phase='{escape(key)}'><td>{escape(label)}</td>{cells}"
            f"<td class='num'>{portion}</td><td class='help'>{escape(help_of(key))}</td></tr>"
        )

    rows = [row(p.name, p.name if p.leaf else f"↳ {p.name}", "leaf" if p.leaf else "part") for p in PHASES]
    rows += [row(total.name, f"Σ {total.name}", "total") for total in TOTALS]
    reported = run.figures.server_processing_reported
    note = (
        f"<p class='note' id='server-processing-note'>server_processing: {reported} of "
        f"{run.figures.started} calls carried <code>openai-processing-ms</code>; the others are unknown "
        "(—), not 0.</p>"
        if reported < run.figures.started
        else ""
    )
    return f'<table id="breakdown"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>{note}'


def apis_table(run: Run) -> str:
    """Calls per API and operation (``gen_ai.operation.name``), with their latency."""
    if not run.calls:
        return ""
    groups: dict[tuple[str, str], list[float]] = {}
    for c in run.calls:
        if not c.interrupted:
            groups.setdefault((c.operation, c.api), []).append(c.e2e * 1000)
    rows = "".join(
        f"<tr><td>{escape(op)}</td><td>{escape(api)}</td>"
        f"<td class='num'>{len(ms):,}</td>"
        f"<td class='num'>{sorted(ms)[len(ms) // 2]:,.1f} ms</td></tr>"
        for (op, api), ms in groups.items()
    )
    head = "<tr><th>operation</th><th>api</th><th>calls</th><th>median latency</th></tr>"
    return f'<table id="apis"><thead>{head}</thead><tbody>{rows}</tbody></table>'


def errors_table(run: Run) -> str:
    figures = run.figures
    errors, attempt_errors = figures.errors, figures.attempt_errors
    kinds = [k for k in ERROR_KINDS if k in errors or k in attempt_errors]
    kinds += sorted(k for k in {*errors, *attempt_errors} if k not in kinds)
    if not kinds:
        return ""
    head = "<tr><th>kind</th><th>calls failed</th><th>share of calls</th><th>attempts failed</th></tr>"
    rates = figures.error_rates or {}
    body = "".join(
        f"<tr><td>{escape(kind)}</td>"
        f"<td class='num'>{figure_span(f'errors.{kind}', errors.get(kind), 'count')}</td>"
        f"<td class='num'>{figure_span(f'error_rates.{kind}', rates.get(kind), 'fraction')}</td>"
        f"<td class='num'>{figure_span(f'attempt_errors.{kind}', attempt_errors.get(kind), 'count')}</td>"
        "</tr>"
        for kind in kinds
    )
    return f'<table id="errors-table"><thead>{head}</thead><tbody>{body}</tbody></table>'


def _short_file(file: str, line: int) -> str:
    if file in ("", "~", "<built-in>"):
        return "(built-in)"
    parts = PurePath(file).parts
    # openai/_models.py says more than a long absolute path, and fits the table: cut at the
    # last site-packages (installed packages) or pythonX.Y (the standard library).
    for index in range(len(parts) - 1, -1, -1):
        if parts[index] == "site-packages" or re.fullmatch(r"python3\.\d+", parts[index]):
            parts = parts[index + 1 :]
            break
    return f"{'/'.join(parts[-3:])}:{line}"


def hotspots_section(run: Run) -> str:
    attribution = run.attribution
    source = next(
        (n for n in ("cprofile", "pyinstrument") if attribution and n in attribution.profiles), None
    )
    if attribution is None or source is None:
        return (
            "<p class='empty' id='no-hotspots'>No profile in this run "
            "(run with <code>--profiler both</code> or <code>cprofile</code> to see local hotspots).</p>"
        )
    profile = attribution.profiles[source]
    where = " · ".join(f"{escape(k)} {v:,.2f} s" for k, v in profile.seconds.items())
    rows = "".join(
        "<tr>"
        f"<td><code>{escape(h.function)}</code></td>"
        f"<td title='{escape(h.file, quote=True)}'>{escape(_short_file(h.file, h.line))}</td>"
        f"<td class='num'>{h.self_ms:,.1f} ms</td>"
        f"<td class='num'>{MISSING if h.calls is None else f'{h.calls:,}'}</td>"
        "</tr>"
        for h in profile.hotspots
    )
    table = (
        f'<table id="hotspots" data-source="{source}"><thead><tr><th>function</th><th>file:line</th>'
        f"<th>self</th><th>calls</th></tr></thead><tbody>{rows}</tbody></table>"
        if rows
        else "<p class='empty'>The profile found no local work.</p>"
    )
    return (
        f"<p>From the {source} pass (profilers slow calls down, so these times are larger than the "
        f"figures above; read them as proportions). Profile time by category: {where}.</p>{table}"
    )


def links_section(artifacts: dict[str, str], links: dict[str, str]) -> str:
    """Relative links to the run's files, and the snakeviz command for each cProfile file."""
    items = []
    for key, href in links.items():
        if key not in artifacts:
            continue
        help_text = ARTIFACT_HELP.get(key, key.replace("_", " "))
        items.append(
            f"<li><a href='{escape(quote(href), quote=True)}' data-artifact='{escape(key)}'>"
            f"{escape(href)}</a> — {escape(help_text)}</li>"
        )
    commands = [
        f"<li><code>{escape(view_command(links[key]))}</code></li>"
        for key in PROFILE_ARTIFACTS
        if key in links
    ]
    text = f"<ul id='artifacts'>{''.join(items)}</ul>" if items else "<p class='empty'>No files.</p>"
    if commands:
        text += (
            "<p>Browse a cProfile file with snakeviz, from this directory:</p>"
            f"<ul id='snakeviz'>{''.join(commands)}</ul>"
        )
    return text
