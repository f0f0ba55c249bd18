"""The profiler passes' files: `cprofile.prof` (snakeviz), `local.prof`, pyinstrument HTML, speedscope."""

from __future__ import annotations

from pathlib import Path

from profiler.output.context import OutputContext
from profiler.profiling.explain import save_profiles
from profiler.runs import Run


def write(run: Run, context: OutputContext) -> dict[str, Path]:
    return {
        name: Path(path)
        for name, path in save_profiles(list(context.profile_passes), context.directory).items()
    }
