"""Loading a run back from its output directory (light: no SDK import, for tools like compare)."""

from __future__ import annotations

import json
from pathlib import Path

from profiler.runs.documents import run_from_documents
from profiler.runs.model import SCHEMA, Run
from profiler.runs.records import call_from_record


class NotARunError(ValueError):
    """A path that is not a profiler output directory (one clear line for the user)."""


def load_run(path: str | Path) -> Run:
    """The :class:`Run` saved in an output directory (``summary.json`` and ``requests.jsonl``)."""
    directory = Path(path)
    summary_path = directory / "summary.json"
    if not directory.is_dir():
        raise NotARunError(f"{directory}: no such directory")
    if not summary_path.is_file():
        raise NotARunError(f"{directory}: not a profiler run (no summary.json)")
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, RecursionError) as exc:
        raise NotARunError(
            f"{summary_path}: not valid JSON ({getattr(exc, 'msg', 'nested too deep')})"
        ) from exc
    if not isinstance(summary, dict) or summary.get("schema") != SCHEMA:
        raise NotARunError(f"{summary_path}: not a {SCHEMA} summary")
    calls = []
    requests_path = directory / "requests.jsonl"
    if requests_path.is_file():
        with requests_path.open(encoding="utf-8") as handle:
            try:
                calls = [call_from_record(json.loads(line)) for line in handle if line.strip()]
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise NotARunError(f"{requests_path}: not a requests.jsonl of this version ({exc})") from exc
    run = run_from_documents(summary, calls)
    run.path = directory
    return run
