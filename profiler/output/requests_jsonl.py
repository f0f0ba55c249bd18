"""``requests.jsonl``: one line per call (:mod:`profiler.runs.records`)."""

from __future__ import annotations

from pathlib import Path

from profiler.output.context import OutputContext
from profiler.output.files import write_jsonl
from profiler.runs import Run
from profiler.runs.records import call_record


def write(run: Run, context: OutputContext) -> dict[str, Path]:
    path = write_jsonl(context.directory / "requests.jsonl", (call_record(call) for call in run.calls))
    return {"requests": path}
