"""The Python API: profile part of a program, or load a run back.

import profiler

with profiler.session(output_dir="profiles/checkout") as session:
    answer = client.chat.completions.create(...)
session.run.figures.latency.p50, session.run.calls[0].phases["server_wait"]

@profiler.profile(output_dir="profiles/nightly")
def nightly_job(): ...

run = profiler.load_run("profiles/checkout")
frame = run.to_pandas()
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from profiler.finish import finish_run
from profiler.paths import clear_run
from profiler.profiling.passes import passes_for
from profiler.runs import (
    MEASURED_TRACE_ONLY,
    MEASURED_WITH_PROFILERS,
    NotARunError,
    Run,
    RunConfig,
    TargetInfo,
)
from profiler.runs import load_run as load_run
from profiler.trace.gc_pauses import GcLog
from profiler.trace.instrument import collecting
from profiler.trace.recording import Collector

F = TypeVar("F", bound=Callable[..., Any])
__all__ = ["NotARunError", "Run", "Session", "load_run", "profile", "session"]


@dataclass(slots=True)
class Session:
    """A profiled block; :attr:`run` is set when the block ends (even if it raised)."""

    output_dir: Path | None = None
    run: Run | None = None

    def _finished(self) -> Run:
        if self.run is None:
            raise RuntimeError("the session's block has not ended yet")
        return self.run

    def __repr__(self) -> str:
        """Short: a notebook shows it as the ``%%llmprofile`` cell's value."""
        if self.run is None:
            return "<profiler.Session: running>"
        figures, where = self.run.figures, self.output_dir or self.run.path
        saved = f", saved in {where}" if where is not None else ""
        return f"<profiler.Session: {figures.started} calls, {figures.failed} failed{saved}>"

    @property
    def figures(self) -> Any:
        return self._finished().figures

    @property
    def calls(self) -> list[Any]:
        return self._finished().calls

    @property
    def summary(self) -> dict[str, Any]:
        """The ``summary.json`` document of the run."""
        return self._finished().summary

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The ``requests.jsonl`` records of the run."""
        return self._finished().requests


@contextmanager
def session(output_dir: str | Path | None = None, *, profiler: str = "none") -> Iterator[Session]:
    """Trace every OpenAI call made inside the block (all threads).

    With ``output_dir`` the run's files are written there when the block ends,
    even if it raises. ``profiler`` ("cprofile", "pyinstrument" or "both")
    profiles the block's thread at the same time: the profile explains local
    work, but the timings then include the profiler's cost, and the run says so
    (``run.passes.figures``).
    """
    result = Session(Path(output_dir) if output_dir is not None else None)
    if result.output_dir is not None:  # a run written there before is replaced, never mixed with this one
        clear_run(result.output_dir)
    profile_passes = passes_for(profiler)
    interrupted = False
    with ExitStack() as stack:
        collector = stack.enter_context(collecting(Collector(arrival_times=True)))
        gc_log = stack.enter_context(GcLog().attached())
        for profile_pass in profile_passes:
            stack.enter_context(profile_pass.thread_context())
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        try:
            yield result
        except KeyboardInterrupt:
            interrupted = True
            raise
        finally:
            stack.close()
            result.run = finish_run(
                collector,
                result.output_dir,
                wall=(wall_start, time.perf_counter()),
                cpu_s=time.process_time() - cpu_start,
                config=RunConfig(source="session", profiler=profiler),
                target=TargetInfo(),
                profile_passes=profile_passes,
                figures_from=MEASURED_WITH_PROFILERS if profile_passes else MEASURED_TRACE_ONLY,
                interrupted=interrupted,
                gc_log=gc_log,
            )


def profile(
    func: F | None = None, *, output_dir: str | Path | None = None, profiler: str = "none"
) -> F | Callable[[F], F]:
    """Decorator: every call of the function is a :func:`session`; the last one is ``func.last_session``."""

    def decorate(target: F) -> F:
        @functools.wraps(target)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with session(output_dir, profiler=profiler) as result:
                wrapper.last_session = result  # type: ignore[attr-defined]
                return target(*args, **kwargs)

        wrapper.last_session = None  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate(func) if func is not None else decorate
