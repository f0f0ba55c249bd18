"""Everything a run writes to its output directory, from one place.

The CLI, the Python API and script mode all end the same way: derive each
call's phases, write the error log, ``requests.jsonl``, the profiles and their
attribution, ``report.html``, then ``summary.json``, the file that says the run
is complete.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from profiler.monitor.error_log import ERROR_LOGGER, json_handler, log_call_errors
from profiler.profiling.explain import explain
from profiler.profiling.passes import ProfilePass
from profiler.report.artifacts import write_json, write_jsonl
from profiler.report.summary import build_summary, request_record
from profiler.trace.phases import RequestTrace, trace_call
from profiler.trace.recording import Collector


@dataclass(slots=True)
class SavedRun:
    output_dir: Path
    summary: dict[str, Any]
    traces: list[RequestTrace]


def save_run(
    output_dir: Path,
    collector: Collector,
    *,
    wall: tuple[float, float],
    cpu_s: float,
    config: dict[str, Any],
    target: dict[str, Any],
    profile_passes: Sequence[ProfilePass] = (),
    artifacts: dict[str, str] | None = None,
    interrupted: bool = False,
    log_handlers: Sequence[logging.Handler] = (),
) -> SavedRun:
    """Write the run's files; ``summary.json`` last. Returns what was written."""
    output_dir.mkdir(parents=True, exist_ok=True)
    artifacts = dict(artifacts or {})
    traces = [trace_call(recording) for recording in collector.recordings]
    for profile_pass in profile_passes:
        artifacts.update({name: str(path) for name, path in profile_pass.save(output_dir).items()})
    attribution, explained = explain(list(profile_passes), output_dir)
    artifacts.update(explained)
    if any(t.attempt_errors or not t.ok for t in traces):
        artifacts["errors"] = str(write_error_log(traces, output_dir / "errors.jsonl", log_handlers))
    records = [request_record(t, collector.origin) for t in traces]
    artifacts["requests"] = str(write_jsonl(output_dir / "requests.jsonl", records))
    artifacts["report"] = str(output_dir / "report.html")
    artifacts["summary"] = str(output_dir / "summary.json")
    summary = build_summary(
        traces,
        wall=wall,
        cpu_s=cpu_s,
        config=config,
        target=target,
        artifacts=artifacts,
        interrupted=interrupted,
    )
    summary["passes"] = {"figures": "measure (trace only)", "profiles": [p.name for p in profile_passes]}
    if attribution:
        summary["attribution"] = attribution
    # Bokeh takes ~1 s to import: only once there is a run to draw, never while one is measured.
    from profiler.report.html import write_report

    write_report(output_dir, summary, records)
    write_json(output_dir / "summary.json", summary)  # last: its presence marks the run complete
    return SavedRun(output_dir, summary, traces)


def write_error_log(traces: list[RequestTrace], path: Path, also_to: Sequence[logging.Handler] = ()) -> Path:
    """One JSON line per failed attempt and per failed call (see docs/monitoring.md).

    ``also_to``: more handlers for the same records, e.g. the Loggly/Splunk shippers.
    """
    logger = logging.getLogger(ERROR_LOGGER)
    handlers = [json_handler(path), *also_to]
    for handler in handlers:
        logger.addHandler(handler)
    propagate, level = logger.propagate, logger.level
    logger.propagate = False  # the console has its own report
    logger.setLevel(logging.INFO)
    try:
        for trace in traces:
            if not trace.interrupted:
                log_call_errors(trace, logger)
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
        logger.propagate, logger.level = propagate, level
        handlers[0].close()
    return path
