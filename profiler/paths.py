"""Where a run's files go when nobody says: ``profiles/<UTC timestamp>/``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path


def default_output_dir(root: Path = Path("profiles")) -> Path:
    return root / datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
