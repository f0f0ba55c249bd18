"""What every writer is handed besides the run: where to write, and the live parts of a run."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from profiler.runs import Run

if TYPE_CHECKING:
    from rich.console import Console

    from profiler.profiling.passes import ProfilePass


@dataclass(frozen=True, slots=True)
class OutputContext:
    directory: Path
    profile_passes: Sequence[ProfilePass] = ()  # their profiles are files, not part of the model
    log_handlers: Sequence[logging.Handler] = ()  # more destinations for error records (shippers)
    console: Console | None = None  # None: nothing is printed (the Python API, notebooks)


class Writer(Protocol):
    def write(self, run: Run, context: OutputContext) -> dict[str, Path]: ...
