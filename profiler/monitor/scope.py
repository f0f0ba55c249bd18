"""The scope of one served request: its calls are recorded, and its fields go into their error records.

`request_scope` is entered around a request by the Flask extension and the ASGI
middleware. Inside it, every OpenAI call of this thread or task (``collecting_here``)
goes to the telemetry's collector, and `current_fields()` gives the request's own
(``http_request_id``, ``http_route``, ``http_method``) to the error records of those calls.

A process-wide recorder of someone else's (a ``profiler.session()`` or a profiling run)
keeps every call: the scope then records into it *and* the telemetry, each call once
in each (`_Tee`), rather than taking the calls away from it.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any

from profiler.trace.instrument import active_collector, collect_here, stop_collecting_here
from profiler.trace.recording import CallRecording, Collector

if TYPE_CHECKING:
    from profiler.monitor.telemetry import Telemetry

__all__ = [
    "current_fields",
    "note_failure",
    "process_collector",
    "request_id_from",
    "request_scope",
    "upstream_kind",
]

# The request being served in this context: its scope, which holds its fields and failed calls.
_scope: ContextVar[request_scope | None] = ContextVar("profiler_monitor_request", default=None)
# A request id a client or proxy sent is kept if it is short and plain; anything else is replaced.
_GOOD_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Collectors that belong to the monitor itself (instrument()'s): not someone else's to preserve.
_own: set[int] = set()


def current_fields() -> Mapping[str, Any] | None:
    """The fields of the request being served here, its route filled in once the router has found it."""
    scope = _scope.get()
    if scope is None:
        return None
    if scope.route_of is not None and not scope.fields.get("http_route"):
        route = scope.route_of()
        if route:
            scope.fields["http_route"] = route  # type: ignore[index]  # the server's own dict
    return scope.fields


def note_failure(error_type: str | None, kind: str) -> None:
    """A call of the current request failed (called as it ends, in the request's context)."""
    scope = _scope.get()
    if scope is not None:
        scope.failures.append((error_type, kind))


def upstream_kind(exc: BaseException) -> str | None:
    """The error kind when ``exc`` is an OpenAI call's failure, else None.

    The SDK raises ``openai.APIError`` for most, but an unreadable body reaches the caller as
    the JSON parser's error: it is an upstream failure when a call of this request failed with it."""
    import openai

    from profiler.trace.exceptions import kind_of_exception

    if isinstance(exc, openai.APIError):
        return kind_of_exception(exc)
    name = type(exc).__name__
    scope = _scope.get()
    for error_type, kind in reversed(scope.failures if scope is not None else ()):
        if error_type == name:
            return kind
    return None


class _RequestIds:
    """New request ids: a random prefix drawn once per process (so gunicorn's workers never collide)
    and a counter — a uuid4 costs a system call for its randomness on every request."""

    def __init__(self) -> None:
        self._reset()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._prefix = os.urandom(6).hex()
        self._numbers = itertools.count(1)

    def new(self) -> str:
        return f"{self._prefix}-{next(self._numbers):x}"


_ids = _RequestIds()


def request_id_from(header: str | None) -> str:
    """The request's id: the one its client or proxy sent (``X-Request-ID``), else a new one."""
    if header and _GOOD_REQUEST_ID.fullmatch(header):
        return header
    return _ids.new()


def mark_own(collector: Collector) -> None:
    _own.add(id(collector))


def forget_own(collector: Collector) -> None:
    _own.discard(id(collector))


def process_collector() -> Collector | None:
    """The collector recording for the whole process (a session, a run, instrument()), if any.

    Read from a fresh thread: there, no request scope of the caller's is in the way."""
    found: list[Collector | None] = []
    reader = threading.Thread(target=lambda: found.append(active_collector()), name="profiler-monitor-probe")
    reader.start()
    reader.join()
    return found[0] if found else None


class _Tee(Collector):
    """Gives each call to another collector (which keeps or counts it as it always does) and to the
    telemetry's ``on_done`` as well."""

    def __init__(self, inner: Collector, on_done: Callable[[CallRecording], None]) -> None:
        self.inner = inner
        self._also = on_done
        self.origin = inner.origin
        self.started_at = inner.started_at
        self.arrival_times = inner.arrival_times  # the outer run decides whether arrivals are read
        self.arrival_notes = inner.arrival_notes

    def new_call(self) -> CallRecording:
        recording = self.inner.new_call()
        first, also = recording.on_done, self._also

        def both(done: CallRecording) -> None:
            if first is not None:
                first(done)
            also(done)

        recording.on_done = both
        return recording


class request_scope:  # a context manager, named like one written as a function
    """Record this thread's or task's calls for ``telemetry``, with ``fields`` in their error records.

    A class rather than a generator, and two context variables (the collector, and this scope
    for its fields and failures): it is entered on every request."""

    __slots__ = ("_collecting", "_scope", "_telemetry", "failures", "fields", "route_of")

    def __init__(
        self,
        telemetry: Telemetry,
        fields: Mapping[str, Any],
        route_of: Callable[[], str] | None = None,
    ) -> None:
        self._telemetry = telemetry
        self.fields = fields
        # Where the route is found when it is not known yet as the scope opens (ASGI: the router
        # matches inside the app). Asked as a call ends, so its records carry the route even when
        # the worker handles them while the request is still going on.
        self.route_of = route_of
        # The calls of this request that failed: (exception class name, error kind), for `upstream_kind`.
        self.failures: list[tuple[str | None, str]] = []

    def __enter__(self) -> request_scope:
        telemetry = self._telemetry
        outer = active_collector()  # no scope of ours yet here: the process-wide one, if any
        collector = telemetry.collector
        if outer is not None and outer is not collector and id(outer) not in _own:
            collector = _Tee(outer, telemetry.on_done)
        self._scope: Token[request_scope | None] = _scope.set(self)
        self._collecting: Token[Collector | None] = collect_here(collector)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            stop_collecting_here(self._collecting)
        finally:
            _scope.reset(self._scope)
