"""Writing files so that a reader never sees half of one."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def write_atomically(path: Path, text: str) -> Path:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
    return path


def write_json(path: Path, document: dict[str, Any]) -> Path:
    return write_atomically(path, json.dumps(document, indent=2, allow_nan=False) + "\n")


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as handle:
        handle.writelines(
            json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n" for record in records
        )
    os.replace(partial, path)
    return path
