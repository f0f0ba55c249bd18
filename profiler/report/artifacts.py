"""Writing a run's files: ``summary.json`` and ``requests.jsonl``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def write_json(path: Path, document: dict[str, Any]) -> Path:
    """Write atomically: a reader never sees half a summary."""
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    os.replace(partial, path)
    return path


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(record, separators=(",", ":")) + "\n" for record in records)
    return path
