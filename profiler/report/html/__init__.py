"""``report.html``: one self-contained page that shows a run, readable offline.

Built from the typed :class:`~profiler.runs.Run`, so a report can be rebuilt
from any output directory (:func:`report_from_directory`). The plots are Bokeh,
with its JavaScript inlined; the rest is plain HTML. See docs/report.md for
what each part shows.
"""

from __future__ import annotations

from html import escape
from pathlib import Path, PurePath

import bokeh
from bokeh.embed import components
from bokeh.model import Model

from profiler.output.files import write_atomically
from profiler.report.html.charts import errors_figure, histogram_figure, split_figure
from profiler.report.html.page import page
from profiler.report.html.palette import FAILED_COLOR, OK_COLOR
from profiler.report.html.sample import Sample, sample_calls
from profiler.report.html.sections import (
    apis_table,
    breakdown_table,
    cards,
    errors_table,
    header,
    hotspots_section,
    links_section,
)
from profiler.report.html.waterfall import waterfall_figure
from profiler.report.verdict import verdict
from profiler.runs import Run, load_run
from profiler.trace.model import RequestTrace

REPORT_NAME = "report.html"

__all__ = ["REPORT_NAME", "artifact_links", "render_report", "report_from_directory", "write_report"]


def _sample_note(sample: Sample) -> str:
    shown, total = len(sample.calls), sample.total
    if sample.sampled:
        text = (
            f"showing {shown:,} of {total:,} calls (the slowest, the failed and an even sample "
            "of the rest): every figure and histogram on this page still counts all of them"
        )
    else:
        text = f"showing all {total:,} calls"
    return f'<p class="note" id="waterfall-note" data-shown="{shown}" data-total="{total}">{text}.</p>'


def _plot(name: str, divs: dict[str, str]) -> str:
    return f'<div class="plot" id="plot-{name}">{divs[name]}</div>'


def _finished(calls: list[RequestTrace]) -> list[RequestTrace]:
    """The calls the figures count: those Ctrl-C did not cut short."""
    return [c for c in calls if not c.interrupted]


def _figures(run: Run, sample: Sample) -> dict[str, Model]:
    finished, figures = _finished(run.calls), run.figures
    plots: dict[str, Model] = {}
    if sample.calls:
        plots["waterfall"] = waterfall_figure(sample)
    if finished and figures.latency is not None:
        plots["latency"] = histogram_figure(
            "latency",
            {
                "succeeded": ([c.e2e * 1000 for c in finished if c.ok], OK_COLOR),
                "failed": ([c.e2e * 1000 for c in finished if not c.ok], FAILED_COLOR),
            },
            {"p50": figures.latency.p50, "p99": figures.latency.p99},
            "end-to-end latency (ms)",
        )
    ttfts = [c.ttft_s * 1000 for c in finished if c.ok and c.stream and c.ttft_s is not None]
    if ttfts and figures.streaming is not None and figures.streaming.ttft is not None:
        plots["ttft"] = histogram_figure(
            "ttft",
            {"streamed calls": (ttfts, OK_COLOR)},
            {"p50": figures.streaming.ttft.p50, "p99": figures.streaming.ttft.p99},
            "time to first token (ms)",
        )
    if figures.errors or figures.attempt_errors:
        plots["errors"] = errors_figure(figures.errors, figures.attempt_errors)
    if figures.wall_s > 0:
        plots["split"] = split_figure(figures.split, figures.wall_s)
    return plots


def _waterfall_section(sample: Sample, divs: dict[str, str]) -> list[str]:
    parts = ['<h2 id="waterfall">Calls over time</h2>']
    if "waterfall" not in divs:
        return [*parts, "<p class='empty' id='waterfall-empty'>No calls were recorded.</p>"]
    return [
        *parts,
        _sample_note(sample),
        "<p class='note'>One row per call, in start order, cut into the same phases the tables count. "
        "Hover a bar for the call, attempt, x-request-id, status and error; click a legend entry to hide "
        "it; drag or zoom along time.</p>",
        _plot("waterfall", divs),
    ]


def _histogram_sections(run: Run, divs: dict[str, str]) -> list[str]:
    marks = "the dashed line marks p50, the dotted one p99"
    finished = _finished(run.calls)
    parts = ['<div class="row"><div><h2 id="latency">Latency</h2>']
    if "latency" in divs:
        parts += [f"<p class='note'>{len(finished):,} calls; {marks}.</p>", _plot("latency", divs)]
    else:
        parts.append("<p class='empty'>No finished calls.</p>")
    parts.append('</div><div><h2 id="ttft">Time to first token</h2>')
    if "ttft" in divs:
        parts += [f"<p class='note'>Successful streamed calls; {marks}.</p>", _plot("ttft", divs)]
    elif any(c.stream for c in finished):
        parts.append("<p class='empty'>No streamed call got a first token.</p>")
    else:
        parts.append(
            "<p class='empty' id='no-streams'>No streamed calls in this run "
            "(TTFT needs <code>--stream</code>).</p>"
        )
    return [*parts, "</div></div>"]


def _errors_section(run: Run, divs: dict[str, str]) -> list[str]:
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
        errors_table(run),
    ]


def _body(run: Run, sample: Sample, divs: dict[str, str], links: dict[str, str]) -> str:
    parts = [header(run, verdict(run)), cards(run)]
    if "split" in divs:
        parts.append(_plot("split", divs))
    parts += _waterfall_section(sample, divs)
    parts += _histogram_sections(run, divs)
    parts += _errors_section(run, divs)
    parts += [
        '<h2 id="phases">Where each call\'s time went</h2>',
        breakdown_table(run),
        '<h2 id="apis-title">Calls by API</h2>',
        apis_table(run),
        '<h2 id="hotspots-title">Local hotspots</h2>',
        hotspots_section(run),
        '<h2 id="files">Files of this run</h2>',
        links_section(run.artifacts, links),
        f"<footer>schema {escape(run.schema)} · plots by Bokeh {escape(bokeh.__version__)}, "
        "inlined: this page needs no network.</footer>",
    ]
    return "\n".join(parts)


def render_report(run: Run, *, links: dict[str, str] | None = None) -> str:
    """The report page for a run. ``links``: artifact key → relative href (default: every artifact's name)."""
    if links is None:
        links = {key: PurePath(path).name for key, path in run.artifacts.items()}
    sample = sample_calls(run.calls)
    plots = _figures(run, sample)
    script, divs = components(plots) if plots else ("", {})
    return page("profiler report", _body(run, sample, divs, links), script)


def artifact_links(output_dir: Path, artifacts: dict[str, str]) -> dict[str, str]:
    """Relative hrefs to the artifacts that are files in ``output_dir`` (or below it).

    ``summary.json`` counts as there: a run writes it last, after this page.
    """
    base = output_dir.resolve()
    links: dict[str, str] = {}
    for key, value in artifacts.items():
        path = Path(value)
        candidates = [path.resolve(), base / path.name]  # relative paths: to the cwd, or to the directory
        for candidate in candidates:
            if not candidate.is_relative_to(base) or candidate.name == REPORT_NAME:
                continue
            if candidate.is_file() or candidate == base / "summary.json":
                links[key] = candidate.relative_to(base).as_posix()
                break
    return links


def write_report(output_dir: Path, run: Run) -> Path:
    """Write ``output_dir / "report.html"`` (atomically) and return its path."""
    html = render_report(run, links=artifact_links(output_dir, run.artifacts))
    return write_atomically(output_dir / REPORT_NAME, html)


def report_from_directory(output_dir: Path) -> Path:
    """(Re)write ``report.html`` of a finished run from what it saved."""
    return write_report(output_dir, load_run(output_dir))
