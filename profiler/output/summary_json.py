"""``summary.json``: the run's figures (schema ``profiler.run/1``), written atomically, last."""

from __future__ import annotations

from pathlib import Path

from profiler.output.context import OutputContext
from profiler.output.files import write_json
from profiler.runs import Run
from profiler.runs.documents import summary_document

ARTIFACT, FILENAME = "summary", "summary.json"


def write(run: Run, context: OutputContext) -> dict[str, Path]:
    return {ARTIFACT: write_json(context.directory / FILENAME, summary_document(run))}
