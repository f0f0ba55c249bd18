"""The plain-HTML parts of ``report.html``: header, summary cards, tables, links.

Every string from the run goes through :func:`html.escape`; every summary figure
through :func:`profiler.report.html.formatting.figure_span`.
"""

from __future__ import annotations

import re
from html import escape
from pathlib import PurePath
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from profiler.monitor.errors import ERROR_KINDS
from profiler.report.html.formatting import MISSING, figure_span, lookup, share
from profiler.report.summary import BREAKDOWN_KEYS

CardLine = tuple[str, str, str]  # (summary path, unit, label)

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


def public_url(url: str) -> str:
    """A base URL without user info, query or fragment: where a credential could hide."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def header(summary: dict[str, Any], verdict_text: str | None) -> str:
    target = summary.get("target") or {}
    if target.get("base_url"):
        where = escape(public_url(str(target["base_url"])))
    elif target.get("embedded_simulator"):
        where = f"the embedded simulator, scenario <code>{escape(str(target.get('scenario')))}</code>"
    else:
        where = MISSING
    config = summary.get("config") or {}
    shown = ("requests", "concurrency", "stream", "model", "n", "profiler", "max_retries", "local_work_ms")
    settings = " · ".join(
        f"{escape(key)} <code>{escape(str(config[key]))}</code>" for key in shown if key in config
    )
    parts = [
        "<header>",
        "<h1>profiler run report</h1>",
        f"<p>Target: {where}</p>",
        f"<p class='settings'>{settings}</p>" if settings else "",
    ]
    if summary.get("interrupted"):
        parts.append(
            '<p class="banner" id="interrupted">This run was interrupted (Ctrl-C): the figures cover '
            "the calls that finished; calls cut short are drawn in the waterfall and left out elsewhere.</p>"
        )
    if verdict_text:
        parts.append(f'<p class="verdict" id="verdict"><strong>Verdict:</strong> {escape(verdict_text)}</p>')
    parts.append("</header>")
    return "\n".join(parts)


def _card(card_id: str, title: str, lines: list[CardLine], summary: dict[str, Any], extra: str = "") -> str:
    rows = "".join(
        f"<div class='line'><span class='label'>{escape(label)}</span> "
        f"{figure_span(summary, path, unit)}</div>"
        for path, unit, label in lines
    )
    return f'<div class="card" id="card-{card_id}"><h3>{escape(title)}</h3>{rows}{extra}</div>'


def cards(summary: dict[str, Any]) -> str:
    wall = lookup(summary, "wall_s")
    split_shares = " · ".join(
        f"{name} {share(lookup(summary, f'split_s.{name}'), wall)}"
        for name in ("network", "backoff", "local")
    )
    items = [
        _card(
            "requests",
            "Requests",
            [
                ("requests.started", "count", "started"),
                ("requests.succeeded", "count", "succeeded"),
                ("requests.failed", "count", "failed"),
            ],
            summary,
        ),
        _card(
            "errors",
            "Error rate",
            [
                ("error_rate", "fraction", "failed"),
                ("attempts.total", "count", "attempts"),
                ("attempts.retried", "count", "retries"),
            ],
            summary,
        ),
        _card(
            "latency",
            "Latency (end to end)",
            [
                ("latency_ms.p50", "ms", "p50"),
                ("latency_ms.p99", "ms", "p99"),
                ("latency_ms.max", "ms", "max"),
            ],
            summary,
        ),
    ]
    if "ttft_ms" in summary:
        items.append(
            _card(
                "ttft",
                "Time to first token",
                [
                    ("ttft_ms.p50", "ms", "p50"),
                    ("ttft_ms.p99", "ms", "p99"),
                    ("tpot_ms.p50", "ms", "TPOT p50"),
                ],
                summary,
            )
        )
    items += [
        _card(
            "wall",
            "Wall time",
            [("wall_s", "s", "wall"), ("cpu_s", "s", "CPU"), ("throughput_rps", "rps", "throughput")],
            summary,
        ),
        _card(
            "split",
            "Split of wall time",
            [
                ("split_s.network", "s", "network"),
                ("split_s.backoff", "s", "back-off"),
                ("split_s.local", "s", "local"),
            ],
            summary,
            extra=f"<div class='shares' id='split-shares'>{escape(split_shares)}</div>",
        ),
    ]
    return f'<section class="cards" id="cards">{"".join(items)}</section>'


def breakdown_table(summary: dict[str, Any]) -> str:
    """Per-call phase statistics, as ``breakdown_ms`` has them."""
    breakdown = summary.get("breakdown_ms") or {}
    keys = [key for key in BREAKDOWN_KEYS if key in breakdown]
    if not keys:
        return "<p class='empty'>No calls, so no phases.</p>"
    head = "<tr><th>phase</th><th>mean</th><th>p50</th><th>p99</th><th>total</th></tr>"
    body = "".join(
        f"<tr><td>{escape(key)}</td>"
        + "".join(
            f"<td class='num'>{figure_span(summary, f'breakdown_ms.{key}.{stat}', 'ms')}</td>"
            for stat in ("mean", "p50", "p99", "total")
        )
        + "</tr>"
        for key in keys
    )
    return f'<table id="breakdown"><thead>{head}</thead><tbody>{body}</tbody></table>'


def errors_table(summary: dict[str, Any]) -> str:
    errors, attempt_errors = summary.get("errors") or {}, summary.get("attempt_errors") or {}
    kinds = [k for k in ERROR_KINDS if k in errors or k in attempt_errors]
    kinds += sorted(k for k in {*errors, *attempt_errors} if k not in kinds)
    if not kinds:
        return ""
    head = "<tr><th>kind</th><th>calls failed</th><th>share of calls</th><th>attempts failed</th></tr>"
    body = "".join(
        f"<tr><td>{escape(kind)}</td>"
        f"<td class='num'>{figure_span(summary, f'errors.{kind}', 'count')}</td>"
        f"<td class='num'>{figure_span(summary, f'error_rates.{kind}', 'fraction')}</td>"
        f"<td class='num'>{figure_span(summary, f'attempt_errors.{kind}', 'count')}</td></tr>"
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


def _calls(hotspot: dict[str, Any], source: str) -> str:
    # pyinstrument samples the stack: it knows time, not how often a function was called.
    calls = hotspot.get("calls")
    return f"{calls:,}" if source == "cprofile" and calls is not None else MISSING


def hotspots_section(summary: dict[str, Any]) -> str:
    attribution = summary.get("attribution") or {}
    source = next((name for name in ("cprofile", "pyinstrument") if attribution.get(name)), None)
    if source is None:
        return (
            "<p class='empty' id='no-hotspots'>No profile in this run "
            "(run with <code>--profiler both</code> or <code>cprofile</code> to see local hotspots).</p>"
        )
    profile = attribution[source]
    seconds = profile.get("seconds") or {}
    where = " · ".join(f"{escape(k)} {v:,.2f} s" for k, v in seconds.items() if v is not None)
    rows = "".join(
        "<tr>"
        f"<td><code>{escape(str(h.get('function')))}</code></td>"
        f"<td title='{escape(str(h.get('file')), quote=True)}'>"
        f"{escape(_short_file(str(h.get('file') or ''), int(h.get('line') or 0)))}</td>"
        f"<td class='num'>{h.get('self_ms', 0.0):,.1f} ms</td>"
        f"<td class='num'>{_calls(h, source)}</td>"
        "</tr>"
        for h in profile.get("hotspots") or []
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


def links_section(artifacts: dict[str, Any], links: dict[str, str]) -> str:
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
        f"<li><code>snakeviz -s -H 127.0.0.1 {escape(links[key])}</code></li>"
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
