"""The run model: what a profiling run measured, typed, with save and load.

``from profiler.runs import Run, load_run`` imports no SDK, no Bokeh and no
profiler, so tools that only read runs (compare, notebooks) stay light.
"""

from profiler.runs.figures import PhaseStats, RunFigures, Streaming
from profiler.runs.load import NotARunError, load_run
from profiler.runs.model import (
    MEASURED_TRACE_ONLY,
    MEASURED_WITH_PROFILERS,
    SCHEMA,
    Attribution,
    Hotspot,
    Passes,
    ProfileAttribution,
    Run,
    RunConfig,
    TargetInfo,
)
from profiler.runs.stats import Distribution, WallSplit

__all__ = [
    "MEASURED_TRACE_ONLY",
    "MEASURED_WITH_PROFILERS",
    "SCHEMA",
    "Attribution",
    "Distribution",
    "Hotspot",
    "NotARunError",
    "Passes",
    "PhaseStats",
    "ProfileAttribution",
    "Run",
    "RunConfig",
    "RunFigures",
    "Streaming",
    "TargetInfo",
    "WallSplit",
    "load_run",
]
