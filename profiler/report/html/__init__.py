"""``report.html``: one self-contained page that shows a run, readable offline.

Built from the same two documents a run writes, ``summary.json`` and the records
of ``requests.jsonl``, so a report can be rebuilt from any output directory.
The plots are Bokeh, with its JavaScript inlined; the rest is plain HTML.
See docs/report.md for what each part shows.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from html import escape
from pathlib import Path, PurePath
from typing import Any

import bokeh
from bokeh.embed import components
from bokeh.model import Model

from profiler.report.html.charts import errors_figure, histogram_figure, split_figure
from profiler.report.html.formatting import lookup
from profiler.report.html.page import page
from profiler.report.html.palette import FAILED_COLOR, OK_COLOR
from profiler.report.html.sample import Sample, sample_calls
from profiler.report.html.sections import (
    breakdown_table,
    cards,
    errors_table,
    header,
    hotspots_section,
    links_section,
)
from profiler.report.html.waterfall import waterfall_figure
from profiler.report.verdict import verdict

REPORT_NAME = "report.html"

__all__ = ["REPORT_NAME", "artifact_links", "render_report", "report_from_directory", "write_report"]


def _verdict(summary: dict[str, Any]) -> str | None:
    try:
        return verdict(summary)
    except (KeyError, TypeError, ZeroDivisionError):
        return None  # a partial summary (hand-made, or older) still gets a page, without a verdict


def _sample_note(sample: Sample) -> str:
    shown, total = len(sample.records), sample.total
    if sample.sampled:
        text = (
            f"showing {shown:,} of {total:,} requests (the slowest, the failed and an even sample "
            "of the rest): every figure and histogram on this page still counts all of them"
        )
    else:
        text = f"showing all {total:,} requests"
    return f'<p class="note" id="waterfall-note" data-shown="{shown}" data-total="{total}">{text}.</p>'


def _plot(name: str, divs: dict[str, str]) -> str:
    return f'<div class="plot" id="plot-{name}">{divs[name]}</div>'


def _finished(requests: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The calls the summary counts: those Ctrl-C did not cut short."""
    return [r for r in requests if not r.get("interrupted") and r.get("latency_ms") is not None]


def _figures(summary: dict[str, Any], requests: Sequence[dict[str, Any]], sample: Sample) -> dict[str, Model]:
    finished = _finished(requests)
    plots: dict[str, Model] = {}
    if sample.records:
        plots["waterfall"] = waterfall_figure(sample)
    if finished:
        plots["latency"] = histogram_figure(
            "latency",
            {
                "succeeded": ([r["latency_ms"] for r in finished if r.get("ok")], OK_COLOR),
                "failed": ([r["latency_ms"] for r in finished if not r.get("ok")], FAILED_COLOR),
            },
            {"p50": lookup(summary, "latency_ms.p50"), "p99": lookup(summary, "latency_ms.p99")},
            "end-to-end latency (ms)",
        )
    ttfts = [
        r["ttft_ms"] for r in finished if r.get("ok") and r.get("stream") and r.get("ttft_ms") is not None
    ]
    if ttfts:
        plots["ttft"] = histogram_figure(
            "ttft",
            {"streamed calls": (ttfts, OK_COLOR)},
            {"p50": lookup(summary, "ttft_ms.p50"), "p99": lookup(summary, "ttft_ms.p99")},
            "time to first token (ms)",
        )
    if summary.get("errors") or summary.get("attempt_errors"):
        plots["errors"] = errors_figure(summary.get("errors") or {}, summary.get("attempt_errors") or {})
    if lookup(summary, "wall_s") and summary.get("split_s"):
        plots["split"] = split_figure(summary["split_s"], summary["wall_s"])
    return plots


def _waterfall_section(sample: Sample, divs: dict[str, str]) -> list[str]:
    parts = ['<h2 id="waterfall">Requests over time</h2>']
    if "waterfall" not in divs:
        return [*parts, "<p class='empty' id='waterfall-empty'>No requests were made.</p>"]
    return [
        *parts,
        _sample_note(sample),
        "<p class='note'>One row per call, in start order. Hover a bar for the call, attempt, "
        "x-request-id, status and error; click a legend entry to hide it; drag or zoom along time.</p>",
        _plot("waterfall", divs),
    ]


def _histogram_sections(finished: list[dict[str, Any]], divs: dict[str, str]) -> list[str]:
    marks = "the dashed line marks p50, the dotted one p99"
    parts = ['<div class="row"><div><h2 id="latency">Latency</h2>']
    if "latency" in divs:
        parts += [f"<p class='note'>{len(finished):,} calls; {marks}.</p>", _plot("latency", divs)]
    else:
        parts.append("<p class='empty'>No finished calls.</p>")
    parts.append('</div><div><h2 id="ttft">Time to first token</h2>')
    if "ttft" in divs:
        parts += [f"<p class='note'>Successful streamed calls; {marks}.</p>", _plot("ttft", divs)]
    elif any(r.get("stream") for r in finished):
        parts.append("<p class='empty'>No streamed call got a first token.</p>")
    else:
        parts.append(
            "<p class='empty' id='no-streams'>No streamed calls in this run "
            "(TTFT needs <code>--stream</code>).</p>"
        )
    return [*parts, "</div></div>"]


def _errors_section(summary: dict[str, Any], divs: dict[str, str]) -> list[str]:
    parts = ['<h2 id="errors">Errors by kind</h2>']
    if "errors" not in divs:
        return [
            *parts,
            "<p class='empty' id='no-errors'>No errors: every call and every attempt succeeded.</p>",
        ]
    return [
        *parts,
        "<p class='note'>Solid: calls that failed (what the caller saw). "
        "Hatched: attempts that failed, the ones the SDK retried included.</p>",
        _plot("errors", divs),
        errors_table(summary),
    ]


def _body(
    summary: dict[str, Any],
    requests: Sequence[dict[str, Any]],
    sample: Sample,
    divs: dict[str, str],
    links: dict[str, str],
) -> str:
    parts = [header(summary, _verdict(summary)), cards(summary)]
    if "split" in divs:
        parts.append(_plot("split", divs))
    parts += _waterfall_section(sample, divs)
    parts += _histogram_sections(_finished(requests), divs)
    parts += _errors_section(summary, divs)
    parts += [
        '<h2 id="phases">Where each call\'s time went</h2>',
        breakdown_table(summary),
        '<h2 id="hotspots-title">Local hotspots</h2>',
        hotspots_section(summary),
        '<h2 id="files">Files of this run</h2>',
        links_section(summary.get("artifacts") or {}, links),
        f"<footer>schema {escape(str(summary.get('schema')))} · plots by Bokeh {escape(bokeh.__version__)}, "
        "inlined: this page needs no network.</footer>",
    ]
    return "\n".join(parts)


def render_report(
    summary: dict[str, Any], requests: Sequence[dict[str, Any]], *, links: dict[str, str] | None = None
) -> str:
    """The report page for a run. ``links``: artifact key → relative href (default: every artifact's name)."""
    if links is None:
        links = {key: PurePath(str(path)).name for key, path in (summary.get("artifacts") or {}).items()}
    sample = sample_calls(requests)
    plots = _figures(summary, requests, sample)
    script, divs = components(plots) if plots else ("", {})
    return page("profiler report", _body(summary, requests, sample, divs, links), script)


def artifact_links(output_dir: Path, artifacts: dict[str, Any]) -> dict[str, str]:
    """Relative hrefs to the artifacts that are files in ``output_dir`` (or below it).

    ``summary.json`` counts as there: a run writes it last, after this page.
    """
    base = output_dir.resolve()
    links: dict[str, str] = {}
    for key, value in artifacts.items():
        path = Path(str(value))
        candidates = [path.resolve(), base / path.name]  # relative paths: to the cwd, or to the directory
        for candidate in candidates:
            if not candidate.is_relative_to(base) or candidate.name == REPORT_NAME:
                continue
            if candidate.is_file() or candidate == base / "summary.json":
                links[key] = candidate.relative_to(base).as_posix()
                break
    return links


def write_report(output_dir: Path, summary: dict[str, Any], requests: Sequence[dict[str, Any]]) -> Path:
    """Write ``output_dir / "report.html"`` (atomically) and return its path."""
    html = render_report(summary, requests, links=artifact_links(output_dir, summary.get("artifacts") or {}))
    path = output_dir / REPORT_NAME
    partial = path.with_name(path.name + ".partial")
    partial.write_text(html, encoding="utf-8")
    os.replace(partial, path)
    return path


def report_from_directory(output_dir: Path) -> Path:
    """(Re)write ``report.html`` of a finished run from its ``summary.json`` and ``requests.jsonl``."""
    summary = json.loads((output_dir / "summary.json").read_text(encoding="utf-8"))
    lines = (output_dir / "requests.jsonl").read_text(encoding="utf-8").splitlines()
    return write_report(output_dir, summary, [json.loads(line) for line in lines if line.strip()])
