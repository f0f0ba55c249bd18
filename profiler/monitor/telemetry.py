"""Where a finished OpenAI call goes in a monitored process: metrics, OTel, the error log.

A `Telemetry` is the one sink that `init_app`, the ASGI middleware and
`instrument()` feed. A call's recording is handed to it as the call ends
(`on_done`, in the thread or task that made the call, with the fields of the
request being served); a background `Worker` derives its trace and feeds

- the Prometheus metrics (:class:`ServiceMetrics`),
- the OTLP exporter, when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set,
- the ``profiler.errors`` logger: one record per failed attempt and per failed call,
  which the shippers of ``LOGGLY_*`` / ``SPLUNK_*`` send on, and a JSON line on stderr.

`Telemetry.default()` is the process's own, built once from the environment, so
several apps and `instrument()` in one process share one set of shippers, one
exporter and one set of metrics (a metric can be registered only once).
"""

from __future__ import annotations

import atexit
import logging
import sys
import threading
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

from profiler.monitor.error_log import ERROR_LOGGER, json_handler, log_call_errors
from profiler.monitor.metrics import ServiceMetrics
from profiler.monitor.otel import OtelExporter, exporter_from_env
from profiler.monitor.scope import current_fields, note_failure
from profiler.monitor.shipping import ShippingJsonFormatter
from profiler.monitor.worker import Worker
from profiler.trace.derive import trace_call
from profiler.trace.model import RequestTrace
from profiler.trace.recording import CallRecording, Collector

__all__ = ["Telemetry"]

Fields = Mapping[str, Any] | None
Item = tuple[CallRecording | None, RequestTrace | None, Fields, BaseException | None]
_STDERR = object()  # the default of error_stream: sys.stderr as it is when the telemetry is built
_REQUEST: Any = object()  # marks a worker item that is a served request's duration, not a call


class Telemetry:
    """Metrics, exporter and error log of a monitored process."""

    _default: Telemetry | None = None
    _default_lock = threading.Lock()

    def __init__(
        self,
        *,
        metrics: ServiceMetrics | None = None,
        otel: OtelExporter | None = None,
        log_handlers: Iterable[logging.Handler] = (),
        error_stream: TextIO | object | None = _STDERR,
        logger: logging.Logger | None = None,
        background: bool = True,
    ) -> None:
        self.metrics = metrics if metrics is not None else ServiceMetrics.shared()
        self.otel = otel
        self.logger = logger if logger is not None else logging.getLogger(ERROR_LOGGER)
        if self.logger.level == logging.NOTSET:  # a level the app set is its choice, and kept
            self.logger.setLevel(logging.INFO)
        self.log_handlers = list(log_handlers)
        stream = sys.stderr if error_stream is _STDERR else error_stream
        if stream is not None:
            # Another telemetry of this process may write JSON lines to the same stream already.
            self.log_handlers.append(_json_handler_on(self.logger, stream) or json_handler(stream))  # type: ignore[arg-type]
        self._attached: list[logging.Handler] = []  # what close() lets go of, and takes off once unused
        with _sharing_lock:
            for handler in self.log_handlers:
                held = (self.logger, handler)
                if held in _users:  # put there by another telemetry, which may close first
                    _users[held] += 1
                elif handler not in self.logger.handlers:  # one the app put there is the app's
                    self.logger.addHandler(handler)
                    _users[held] = 1
                else:
                    continue
                self._attached.append(handler)
        # One collector for every request scope and instrument(): recordings are handed on, not kept.
        self.collector = Collector(on_done=self.on_done, keep=False)
        self._worker = Worker(self._process) if background else None
        self._closed = False

    @classmethod
    def from_env(cls, **options: Any) -> Telemetry:
        """Shippers from ``LOGGLY_*``/``SPLUNK_*``, OTLP export from ``OTEL_EXPORTER_OTLP_ENDPOINT``.

        A half or invalid configuration raises ValueError (one line, naming the variable) here,
        at start-up, never at the first failed call."""
        from profiler.monitor.shipping import handlers_from_env

        shippers = handlers_from_env()
        options.setdefault("otel", exporter_from_env())
        return cls(log_handlers=[*shippers, *options.pop("log_handlers", ())], **options)

    @classmethod
    def default(cls) -> Telemetry:
        """The process's telemetry, built from the environment on first use."""
        with cls._default_lock:
            if cls._default is None:
                cls._default = cls.from_env()
                atexit.register(cls._default.close)
            return cls._default

    # What the instrumentation calls, in the thread or task of the call.

    def on_done(self, recording: CallRecording) -> None:
        """A call has ended: handed to the worker with the fields of the request it was made in."""
        if recording.error_kind is not None:
            note_failure(recording.error_type, recording.error_kind)
        item = (recording, None, current_fields(), None)
        if self._worker is None:
            self._process((item,))
        else:
            self._worker.submit(item)

    def observe_trace(
        self, trace: RequestTrace, *, fields: Fields = None, exc_info: BaseException | None = None
    ) -> None:
        """A call already derived (``/chat?timing=1`` answers with its timing, a failed ``/chat`` with
        its error kind): the rest happens in the worker."""
        item = (None, trace, current_fields() if fields is None else fields, exc_info)
        if self._worker is None:
            self._process((item,))
        else:
            self._worker.submit(item)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """A served request's duration, observed in the worker too (a histogram's observe is µs)."""
        if self._worker is None:
            self.metrics.observe_request(method, route, status, seconds)
        else:
            self._worker.submit((None, None, (method, route, status, seconds), _REQUEST))

    # Reading and ending.

    def flush(self, timeout_s: float = 2.0) -> bool:
        """Everything handed over so far is in the metrics and the log (a scrape calls this)."""
        return self._worker.drain(timeout_s) if self._worker is not None else True

    def exposition(self) -> bytes:
        self.flush()
        return self.metrics.exposition()

    def close(self) -> None:
        """Flush, export what is pending, and take the handlers it put on the logger off again; the
        shippers flush at exit on their own, within their bound."""
        if self._closed:
            return
        self._closed = True
        if self._worker is not None:
            self._worker.close()
        if self.otel is not None:
            self.otel.shutdown()
        with _sharing_lock:
            for handler in self._attached:
                held = (self.logger, handler)
                _users[held] -= 1
                if not _users[held]:  # the last telemetry using it
                    del _users[held]
                    self.logger.removeHandler(handler)

    def _process(self, items: Iterable[Item]) -> None:
        metrics, otel, logger = self.metrics, self.otel, self.logger
        for recording, trace, fields, exc_info in items:
            if exc_info is _REQUEST:
                metrics.observe_request(*fields)  # type: ignore[misc]
                continue
            if trace is None:
                assert recording is not None
                if recording.interrupted:
                    continue  # cut short by Ctrl-C or exit: not a failure of the API
                trace = trace_call(recording, recording.entered)
            metrics.observe_call(trace)
            if otel is not None:
                otel.observe_call(trace)
            if trace.attempt_errors or not trace.ok:
                log_call_errors(trace, logger, exc_info=exc_info, fields=fields)


# The handlers telemetries put on a logger, with how many open telemetries write through each: two
# telemetries on one stream share its handler, and it stays until the last of them closes.
_sharing_lock = threading.Lock()
_users: dict[tuple[logging.Logger, logging.Handler], int] = {}


def _json_handler_on(logger: logging.Logger, stream: object) -> logging.Handler | None:
    """The handler of ``logger`` already writing JSON error records to ``stream``, if any."""
    for handler in logger.handlers:
        same_stream = type(handler) is logging.StreamHandler and handler.stream is stream
        if same_stream and isinstance(handler.formatter, ShippingJsonFormatter):
            return handler
    return None
