"""Where a run's files go when nobody says (``profiles/<UTC timestamp>/``), and which files they are."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path


def default_output_dir(root: Path = Path("profiles")) -> Path:
    return root / datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


# What a run writes into its directory: what replacing a run there clears first, so two never mix.
RUN_FILES = (
    "summary.json",
    "requests.jsonl",
    "errors.jsonl",
    "report.html",
    "ground_truth.jsonl",
    "cprofile.prof",
    "local.prof",
    "pyinstrument.html",
    "pyinstrument.speedscope.json",
    "pyinstrument.pyisession",
)


def run_files_in(directory: Path) -> list[str]:
    """The names of the run files ``directory`` holds (a run was written there if any)."""
    return [name for name in RUN_FILES if (directory / name).exists()]


def clear_run(directory: Path) -> None:
    """Remove the run files ``directory`` holds, so the run written next is not mixed with them."""
    for name in run_files_in(directory):
        (directory / name).unlink()
