"""Loading a run back from its output directory (light: no SDK import, for tools like compare)."""

from __future__ import annotations

import json
from pathlib import Path

from profiler.runs.documents import run_from_documents
from profiler.runs.model import SCHEMA, Run
from profiler.runs.records import call_from_record

# What every summary this version writes has, without which no figure of it can be read: a file
# lacking them was not written by a run (a stub would read as a run of "None" everywhere).
_EVERY_SUMMARY_HAS = ("requests", "breakdown_ms", "wall_s")


class NotARunError(ValueError):
    """A path that is not a profiler output directory (one clear line for the user)."""


def load_run(path: str | Path) -> Run:
    """The :class:`Run` saved in an output directory (``summary.json`` and ``requests.jsonl``)."""
    directory = Path(path)
    summary_path = directory / "summary.json"
    if not directory.is_dir():
        problem = "not a directory" if directory.exists() else "no such directory"
        raise NotARunError(f"{directory}: {problem}")
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
    missing = [key for key in _EVERY_SUMMARY_HAS if key not in summary]
    if missing or not isinstance(summary["requests"], dict) or "started" not in summary["requests"]:
        lacking = ", ".join(missing) or "requests.started"
        raise NotARunError(f"{summary_path}: not a whole {SCHEMA} summary (no {lacking})")
    calls = []
    requests_path = directory / "requests.jsonl"
    if requests_path.is_file():
        with requests_path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    calls.append(call_from_record(json.loads(line)))
                except (json.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError) as exc:
                    problem = f"not a requests.jsonl record of this version ({_why(exc)})"
                    raise NotARunError(f"{requests_path}, line {number}: {problem}") from exc
    try:
        run = run_from_documents(summary, calls)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:  # valid JSON, not the shape we wrote
        raise NotARunError(f"{summary_path}: not a {SCHEMA} summary of this version ({_why(exc)})") from exc
    run.path = directory
    return run


def _why(exc: Exception) -> str:
    """One line on what was wrong: the JSON parser's message, or the exception's kind and text."""
    if isinstance(exc, json.JSONDecodeError):
        return exc.msg
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
