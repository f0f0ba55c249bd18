"""Loading a run back from its output directory (light: no SDK import, for tools like compare)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = "profiler.run/1"  # the summary.json format this version writes and reads


class NotARunError(ValueError):
    """A path that is not a profiler output directory (one clear line for the user)."""


@dataclass(slots=True)
class Run:
    """A run loaded back from its output directory."""

    path: Path
    summary: dict[str, Any]
    requests: list[dict[str, Any]]

    def to_pandas(self) -> Any:
        """One row per call; phases as ``<phase>_ms`` columns. Needs pandas."""
        try:
            import pandas as pd
        except ImportError as missing:
            raise ImportError("to_pandas() needs pandas: pip install pandas") from missing
        rows = []
        for record in self.requests:
            row = {k: v for k, v in record.items() if k not in ("phases_ms", "attempt_details", "itl_ms")}
            row.update({f"{phase}_ms": value for phase, value in record["phases_ms"].items()})
            rows.append(row)
        return pd.DataFrame(rows)


def load_run(path: str | Path) -> Run:
    """Load ``summary.json`` and ``requests.jsonl`` from a run's output directory."""
    directory = Path(path)
    summary_path = directory / "summary.json"
    if not directory.is_dir():
        raise NotARunError(f"{directory}: no such directory")
    if not summary_path.is_file():
        raise NotARunError(f"{directory}: not a profiler run (no summary.json)")
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise NotARunError(f"{summary_path}: not valid JSON ({exc.msg})") from exc
    if not isinstance(summary, dict) or summary.get("schema") != SCHEMA:
        raise NotARunError(f"{summary_path}: not a {SCHEMA} summary")
    requests_path = directory / "requests.jsonl"
    requests = []
    if requests_path.is_file():
        with requests_path.open(encoding="utf-8") as handle:
            requests = [json.loads(line) for line in handle if line.strip()]
    return Run(directory, summary, requests)
