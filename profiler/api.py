"""The Python API: profile part of a program, or load a run back.

import profiler

with profiler.session(output_dir="profiles/checkout") as run:
    answer = client.chat.completions.create(...)
run.summary["latency_ms"]["p50"], run.requests[0]["phases_ms"]["server_wait"]

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from profiler.output import save_run
from profiler.profiling.passes import passes_for
from profiler.report.summary import build_summary, request_record
from profiler.runs import NotARunError, Run, load_run
from profiler.trace.instrument import collecting
from profiler.trace.phases import RequestTrace, trace_call

F = TypeVar("F", bound=Callable[..., Any])
__all__ = ["NotARunError", "Run", "Session", "load_run", "profile", "session"]


@dataclass(slots=True)
class Session:
    """What one profiled block measured; filled in when the block ends."""

    output_dir: Path | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    traces: list[RequestTrace] = field(default_factory=list)


@contextmanager
def session(output_dir: str | Path | None = None, *, profiler: str = "none") -> Iterator[Session]:
    """Trace every OpenAI call made inside the block (all threads).

    With ``output_dir`` the run's files are written there when the block ends,
    even if it raises. ``profiler`` ("cprofile", "pyinstrument" or "both")
    profiles the block's thread at the same time: the profile explains local
    work, but the timings then include the profiler's cost (``summary.passes``
    says so).
    """
    result = Session(Path(output_dir) if output_dir is not None else None)
    profile_passes = passes_for(profiler)
    interrupted = False
    with ExitStack() as stack:
        collector = stack.enter_context(collecting())
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
            wall = (wall_start, time.perf_counter())
            cpu_s = time.process_time() - cpu_start
            config = {"profiler": profiler, "source": "profiler.session"}
            if result.output_dir is not None:
                saved = save_run(
                    result.output_dir,
                    collector,
                    wall=wall,
                    cpu_s=cpu_s,
                    config=config,
                    target={},
                    profile_passes=profile_passes,
                    interrupted=interrupted,
                )
                result.summary, result.traces = saved.summary, saved.traces
            else:
                result.traces = [trace_call(r) for r in collector.recordings]
                result.summary = build_summary(
                    result.traces, wall=wall, cpu_s=cpu_s, config=config, target={}, interrupted=interrupted
                )
            if profile_passes:
                result.summary["passes"] = {"figures": "with profilers attached", "profiles": profiler}
            result.requests = [request_record(t, collector.origin) for t in result.traces]


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
