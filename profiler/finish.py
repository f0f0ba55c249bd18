"""How every way of profiling ends: recorded calls and profiler passes become a saved :class:`Run`.

The CLI, script mode, the Python API and the Jupyter magic all call
:func:`finish_run`: derive each call's trace, attribute the profiles, build the
run's figures once, then hand the run to the writers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from profiler.output import OutputContext, write_run
from profiler.profiling.explain import explain
from profiler.profiling.passes import ProfilePass
from profiler.runs import MEASURED_TRACE_ONLY, Passes, Run, RunConfig, TargetInfo
from profiler.runs.accumulate import FigureAccumulator
from profiler.runs.gc import gc_figures
from profiler.trace.derive import trace_call
from profiler.trace.gc_pauses import GcLog
from profiler.trace.recording import CallRecording, Collector
from profiler.trace.wire import Resolution, WireCapture

# Calls kept whole (in requests.jsonl, the waterfall); later ones only feed the figures.
KEEP_CALLS = 20_000


class Rollup:
    """Where the calls past :data:`KEEP_CALLS` go as they end: derived, counted, dropped."""

    def __init__(self) -> None:
        self.accumulator = FigureAccumulator()
        self._lock = threading.Lock()
        self.origin = 0.0

    def __call__(self, recording: CallRecording) -> None:
        trace = trace_call(recording, self.origin)
        with self._lock:  # calls end on many threads
            self.accumulator.add(trace)


def run_collector(
    on_done: Callable[[CallRecording], None] | None = None, *, keep_first: int = KEEP_CALLS
) -> Collector:
    """The collector of a profiling run: arrival times on, the first calls kept, the rest rolled up."""
    rollup = Rollup()
    collector = Collector(on_done, arrival_times=True, keep_first=keep_first, overflow=rollup)
    rollup.origin = collector.origin
    return collector


if TYPE_CHECKING:
    from rich.console import Console


def build_run(
    collector: Collector,
    *,
    wall: tuple[float, float],
    cpu_s: float,
    config: RunConfig,
    target: TargetInfo,
    profile_passes: Sequence[ProfilePass] = (),
    figures_from: str = MEASURED_TRACE_ONLY,
    interrupted: bool = False,
    loop_lag_s: Sequence[float] | None = None,
    wire: WireCapture | None = None,
    gc_log: GcLog | None = None,
) -> Run:
    """The run of a collector; ``wall`` is in perf_counter seconds. Lists only passes that profiled.

    ``wire``: a packet capture of the run (stopped): the kept calls' reads and writes get their
    times from it before they are derived (calls past ``KEEP_CALLS`` were derived as they ended).
    ``gc_log``: the collections noted while the calls were made."""
    origin = collector.origin
    profiled = [p for p in profile_passes if p.has_profile()]
    notes = list(collector.arrival_notes)
    if wire is not None:
        notes.append(_apply_capture(wire, collector.recordings))
    if notes:
        target = replace(target, arrival_timestamps="; ".join(notes))
    rollup = collector.overflow.accumulator if isinstance(collector.overflow, Rollup) else None
    calls = [trace_call(recording, origin) for recording in collector.recordings]
    return Run.build(
        calls,
        rolled_up=rollup,
        wall=(wall[0] - origin, wall[1] - origin),
        cpu_s=cpu_s,
        started_at=collector.started_at,
        config=config,
        target=target,
        passes=Passes(figures_from, tuple(p.name for p in profiled)),
        interrupted=interrupted,
        attribution=explain(profiled),
        loop_lag_s=loop_lag_s,
        gc=None if gc_log is None else gc_figures(gc_log.within(*wall), calls, origin),
    )


def _apply_capture(wire: WireCapture, recordings: Sequence[CallRecording]) -> str:
    """Capture times into the recordings; the note that says how far they went."""
    if wire.arrivals is None:
        return f"packet capture unavailable: {wire.problem or 'no capture'}"
    done = Resolution()
    for recording in recordings:
        done.add(wire.arrivals.resolve(recording))
    reads, writes = done.resolved + done.unresolved, done.writes_resolved + done.writes_unresolved
    return f"packet capture: {done.resolved} of {reads} reads, {done.writes_resolved} of {writes} writes"


def finish_run(
    collector: Collector,
    output_dir: Path | None,
    *,
    wall: tuple[float, float],
    cpu_s: float,
    config: RunConfig,
    target: TargetInfo,
    profile_passes: Sequence[ProfilePass] = (),
    figures_from: str = MEASURED_TRACE_ONLY,
    interrupted: bool = False,
    log_handlers: Sequence[logging.Handler] = (),
    console: Console | None = None,
    loop_lag_s: Sequence[float] | None = None,
    wire: WireCapture | None = None,
    gc_log: GcLog | None = None,
) -> Run:
    """Build the run and, with an ``output_dir``, write every output of it there."""
    run = build_run(
        collector,
        wall=wall,
        cpu_s=cpu_s,
        config=config,
        target=target,
        profile_passes=profile_passes,
        figures_from=figures_from,
        interrupted=interrupted,
        loop_lag_s=loop_lag_s,
        wire=wire,
        gc_log=gc_log,
    )
    if output_dir is not None:
        profiled = [p for p in profile_passes if p.has_profile()]
        write_run(run, OutputContext(output_dir, profiled, log_handlers, console))
    return run
