"""Profiler passes: cProfile and pyinstrument, each attached to every worker thread.

Both profilers are per-thread in Python 3.11, so a pass hands the workload a
``thread_context`` to enter in each thread that makes calls, and merges the
per-thread results when it saves. Profilers distort timing (DESIGN.md), so
these passes explain where local time goes; response times come from the
trace-only measurement pass.
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from pyinstrument import Profiler
from pyinstrument.renderers import HTMLRenderer, SpeedscopeRenderer
from pyinstrument.session import Session

PROFILER_CHOICES = ("both", "cprofile", "pyinstrument", "none")


class CProfilePass:
    """Deterministic wall-clock profile, saved as a ``.prof`` for pstats and snakeviz."""

    name = "cprofile"
    filename = "cprofile.prof"

    def __init__(self) -> None:
        self._profiles: list[cProfile.Profile] = []
        self._merged: pstats.Stats | None = None
        self._lock = threading.Lock()

    @contextmanager
    def thread_context(self) -> Iterator[None]:
        profile = cProfile.Profile()
        profile.enable()
        try:
            yield
        finally:
            profile.disable()
            with self._lock:
                self._profiles.append(profile)

    def stats(self) -> pstats.Stats | None:
        """Every thread's profile merged (once: saving and attribution both ask)."""
        if self._merged is None and self._profiles:
            self._merged = pstats.Stats(self._profiles[0])
            for profile in self._profiles[1:]:
                self._merged.add(profile)
        return self._merged

    def has_profile(self) -> bool:
        return bool(self._profiles)

    def save(self, output_dir: Path) -> dict[str, Path]:
        stats = self.stats()
        if stats is None:
            return {}
        path = output_dir / self.filename
        stats.dump_stats(path)
        return {"cprofile": path}


class PyinstrumentPass:
    """Statistical profile (1 ms interval), saved as HTML and speedscope JSON."""

    name = "pyinstrument"
    interval_s = 0.001

    def __init__(self) -> None:
        self._sessions: list[Session] = []
        self._combined: Session | None = None
        self._lock = threading.Lock()
        self._running = threading.local()  # this thread's profiler, paused around asyncio.run

    @contextmanager
    def thread_context(self) -> Iterator[None]:
        profiler = Profiler(interval=self.interval_s, async_mode="enabled")
        profiler.start()
        self._running.profiler = profiler
        try:
            yield
        finally:
            del self._running.profiler
            session = profiler.stop()
            with self._lock:
                self._sessions.append(session)

    @contextmanager
    def inside_event_loops(self) -> Iterator[None]:
        """While active, ``asyncio.run`` profiles its coroutine from inside the loop.

        pyinstrument shows await time as ``[await]`` only when started inside the
        coroutine; started outside ``asyncio.run`` it charges the wait to ``select``.
        The thread's own profiler pauses meanwhile, so nothing is counted twice.
        """
        original = asyncio.run

        def run(main: Any, **kwargs: Any) -> Any:
            outer = self._running.profiler if hasattr(self._running, "profiler") else None
            if outer is not None:
                outer.stop()
            try:
                return original(self._profiled(main), **kwargs)
            finally:
                if outer is not None:
                    outer.start()

        asyncio.run = run  # type: ignore[assignment]
        try:
            yield
        finally:
            asyncio.run = original  # type: ignore[assignment]

    async def _profiled(self, main: Any) -> Any:
        profiler = Profiler(interval=self.interval_s, async_mode="enabled")
        profiler.start()
        try:
            return await main
        finally:
            session = profiler.stop()
            with self._lock:
                self._sessions.append(session)

    def session(self) -> Session | None:
        """Every thread's session combined (once: saving and attribution both ask)."""
        if self._combined is None and self._sessions:
            self._combined = self._sessions[0]
            for session in self._sessions[1:]:
                self._combined = Session.combine(self._combined, session)
        return self._combined

    def has_profile(self) -> bool:
        return bool(self._sessions)

    def save(self, output_dir: Path) -> dict[str, Path]:
        session = self.session()
        if session is None:
            return {}
        html_path = output_dir / "pyinstrument.html"
        speedscope_path = output_dir / "pyinstrument.speedscope.json"
        html_path.write_text(HTMLRenderer().render(session), encoding="utf-8")
        speedscope_path.write_text(SpeedscopeRenderer().render(session), encoding="utf-8")
        session.save(output_dir / "pyinstrument.pyisession")
        return {"pyinstrument_html": html_path, "speedscope": speedscope_path}


ProfilePass = CProfilePass | PyinstrumentPass


@contextmanager
def in_every_thread(profile_passes: list[ProfilePass]) -> Iterator[None]:
    """Profile this thread and every thread started inside the block, with each pass.

    A new thread enters the passes' thread contexts first thing in its own
    bootstrap (``Thread._bootstrap_inner``), so threads of any subclass and of
    any pool are covered; threads that were already running are not.
    """
    original = threading.Thread._bootstrap_inner  # type: ignore[attr-defined]

    def bootstrap_profiled(thread: threading.Thread) -> None:
        with ExitStack() as stack:
            for profile_pass in profile_passes:
                stack.enter_context(profile_pass.thread_context())
            original(thread)

    with ExitStack() as stack:
        for profile_pass in profile_passes:
            stack.enter_context(profile_pass.thread_context())
            if isinstance(profile_pass, PyinstrumentPass):
                stack.enter_context(profile_pass.inside_event_loops())
        threading.Thread._bootstrap_inner = bootstrap_profiled  # type: ignore[attr-defined]
        try:
            yield
        finally:
            threading.Thread._bootstrap_inner = original  # type: ignore[attr-defined]


def passes_for(choice: str) -> list[ProfilePass]:
    """The passes ``--profiler CHOICE`` asks for, in the order they run."""
    passes: list[ProfilePass] = []
    if choice in ("both", "cprofile"):
        passes.append(CProfilePass())
    if choice in ("both", "pyinstrument"):
        passes.append(PyinstrumentPass())
    return passes
