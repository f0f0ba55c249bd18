"""`instrument()`: every OpenAI call of a process (a worker, a cron job, a notebook) feeds the telemetry.

    import profiler.monitor

    profiler.monitor.instrument()      # metrics, error log, shipping, OTel from the environment
    ...                                # every client, every thread
    profiler.monitor.uninstrument()

The calls go to the telemetry's collector, which keeps nothing (memory stays
flat however long the process runs). The SDK's patches stay installed for the
life of the process; `uninstrument()` only stops the recording.

With a profiling session or run in the same process, each call is counted once:

- a ``profiler.session()`` (or run) started while instrumented records the calls
  inside it for itself, as it always does; the monitor resumes when it ends. Those
  calls are in the session's run, not in the metrics.
- `instrument()` while a session or run is recording leaves the calls to it: it
  warns and does nothing (two recorders of the whole process cannot both be current
  with the SDK hooks' public functions; see docs/monitoring.md).
- `uninstrument()` while a session started later is still recording stops the
  monitor's collector from recording without taking the session's away; the session
  then ends as usual.
- In a served request (``init_app``, the ASGI middleware) the request's scope takes
  the call, so it is counted once, with the request's id.
"""

from __future__ import annotations

import contextlib
import threading
import warnings

from profiler.monitor.scope import forget_own, mark_own, process_collector
from profiler.monitor.telemetry import Telemetry
from profiler.trace.instrument import collecting
from profiler.trace.recording import CallRecording, Collector

__all__ = ["instrument", "is_instrumented", "uninstrument"]

_lock = threading.Lock()
_state: _Instrumented | None = None
# Scopes left open under a later session. Kept alive on purpose: a collected generator is closed,
# and closing ``collecting()``'s would restore what was current before us, in the session's middle.
_left_open: list[_Instrumented] = []


class _Gate(Collector):
    """The process-wide collector: hands each call to the telemetry while open; a closed gate that is
    still current (a session restored it) records nothing for anyone."""

    def __init__(self, telemetry: Telemetry) -> None:
        super().__init__(on_done=self._done, keep=False)
        self.telemetry = telemetry
        self.open = True

    def _done(self, recording: CallRecording) -> None:
        if self.open:
            self.telemetry.on_done(recording)


class _Instrumented:
    def __init__(self, telemetry: Telemetry, reopened: _Gate | None = None) -> None:
        self.scope = contextlib.ExitStack()
        if reopened is not None:  # a closed gate a session put back: current already
            self.gate = reopened
            self.gate.telemetry, self.gate.open = telemetry, True
        else:
            self.gate = _Gate(telemetry)
            self.scope.enter_context(collecting(self.gate))
        mark_own(self.gate)


def instrument(telemetry: Telemetry | None = None) -> Telemetry | None:
    """Start recording every OpenAI call of this process for ``telemetry`` (default: the process's,
    from the environment). Idempotent. Returns the telemetry, or None when a profiling session or run
    is recording the process (it keeps the calls; a warning says so)."""
    global _state
    with _lock:
        if _state is not None:
            return _state.gate.telemetry
        current = process_collector()
        if isinstance(current, _Gate):
            _state = _Instrumented(telemetry or Telemetry.default(), reopened=current)
            return _state.gate.telemetry
        if current is not None:
            warnings.warn(
                "profiler.monitor.instrument(): a profiling session or run is recording this process; "
                "its calls stay with it and are not monitored",
                RuntimeWarning,
                stacklevel=2,
            )
            return None
        _state = _Instrumented(telemetry or Telemetry.default())
        return _state.gate.telemetry


def uninstrument() -> None:
    """Stop recording; the telemetry keeps what it has (flushed). Idempotent."""
    global _state
    with _lock:  # held throughout: an instrument() meanwhile would reopen the gate closed here
        state, _state = _state, None
        if state is None:
            return
        state.gate.open = False
        if process_collector() is state.gate:
            state.scope.close()  # ours is current: restore whatever was before it
        else:
            # A session started after instrument() is current: leaving our scope now would put back
            # what was before *us* while the session runs. The session puts the closed gate back when
            # it ends; the gate records nothing from then on, and instrument() reopens it.
            _left_open.append(state)
        forget_own(state.gate)
    state.gate.telemetry.flush()


def is_instrumented() -> bool:
    return _state is not None
