"""The Flask extension: ``Monitor(app)``, or ``monitor = Monitor(); monitor.init_app(app)`` in a factory.

Per request it opens a `request_scope` (every OpenAI call the request makes is
recorded, whichever API, and its error records carry the request's id; so are the calls of a
body streamed after the request), times the request for ``http.server.request.duration`` by
route (a streamed one to the end of its body), and answers ``X-Request-ID``.
It adds ``GET /metrics`` (or another path, or none when the app serves
prometheus_client's registry itself: the metrics are registered there), logs an
unhandled exception with its traceback and the request's id, and, with
``safe_errors=True``, answers an OpenAI error the route did not handle with the
generic 502/503/504 of ``profiler.app`` instead of Flask's 500.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, got_request_exception, jsonify, request
from flask.globals import _cv_request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from profiler.monitor.answers import upstream_answer
from profiler.monitor.error_log import ERROR_LOGGER, log_unhandled
from profiler.monitor.metrics import CONTENT_TYPE
from profiler.monitor.scope import request_id_from, request_scope, upstream_kind
from profiler.monitor.telemetry import Telemetry

__all__ = ["Monitor"]

_STATE = "profiler.monitor"  # the request's fields, in its WSGI environ
EXTENSION = "profiler.monitor"


class Monitor:
    """Monitoring of a Flask app's OpenAI calls. Options as for :func:`profiler.monitor.init_app`."""

    def __init__(
        self,
        app: Flask | None = None,
        *,
        metrics_path: str | None = "/metrics",
        safe_errors: bool = False,
        request_id_header: str = "X-Request-ID",
        telemetry: Telemetry | None = None,
    ) -> None:
        self.metrics_path = metrics_path
        self.safe_errors = safe_errors
        self.request_id_header = request_id_header
        # Where WSGI puts that header in the environ (X-Request-ID: HTTP_X_REQUEST_ID).
        self._request_id_key = "HTTP_" + request_id_header.upper().replace("-", "_")
        self._telemetry = telemetry
        if app is not None:
            self.init_app(app)

    @property
    def telemetry(self) -> Telemetry:
        if self._telemetry is None:
            self._telemetry = Telemetry.default()
        return self._telemetry

    def init_app(self, app: Flask) -> None:
        telemetry = self.telemetry  # built now: a bad shipping configuration fails at start-up
        if self.metrics_path and any(rule.rule == self.metrics_path for rule in app.url_map.iter_rules()):
            raise ValueError(
                f"profiler.monitor: the app already serves {self.metrics_path}; pass metrics_path=None "
                "to keep it (the metrics are in prometheus_client's default registry), or another path"
            )
        app.extensions[EXTENSION] = self
        # The scope opens before Flask's WSGI app and closes when it returns, after every teardown; the
        # request is timed, and answered its id, there too. Not in hooks: Flask looks at every hook
        # for a coroutine on every request. The route is read from Flask's request once it is routed.
        app.wsgi_app = _TimedWsgi(app.wsgi_app, self)  # type: ignore[method-assign]
        if self.metrics_path:
            app.add_url_rule(
                self.metrics_path,
                endpoint="profiler_monitor_metrics",
                view_func=self._metrics,
                methods=["GET"],
            )
        if self.safe_errors:
            import json

            import openai

            # What an OpenAI call raises: the SDK's errors, and the JSON parser's for an unreadable body.
            for error in (openai.APIError, json.JSONDecodeError, UnicodeDecodeError):
                app.register_error_handler(error, self._upstream_error)
        got_request_exception.connect(self._unhandled, app, weak=False)
        self._logger = telemetry.logger

    # Answers and records of failures.

    def _upstream_error(self, exc: Exception) -> tuple[Response, int]:
        kind = upstream_kind(exc)
        if kind is None:
            raise exc  # not from an OpenAI call of this request: Flask's own 500, logged as unhandled
        self.log_unhandled(exc, "unhandled upstream error")
        body, status = upstream_answer(exc, kind)
        return jsonify(body), status

    def _unhandled(self, _sender: Any, exception: BaseException, **_: Any) -> None:
        self.log_unhandled(exception, "unhandled error")

    def log_unhandled(self, exc: BaseException, message: str) -> None:
        fields = request.environ.get(_STATE)
        self.log_with_fields(exc, message, _routed(fields) if fields is not None else {})

    def log_with_fields(self, exc: BaseException, message: str, fields: dict[str, str]) -> None:
        log_unhandled(getattr(self, "_logger", None) or logging.getLogger(ERROR_LOGGER), exc, message, fields)

    def _metrics(self) -> Response:
        return Response(self.telemetry.exposition(), mimetype=CONTENT_TYPE)

    def observe_request(self, fields: dict[str, str], status: int, seconds: float) -> None:
        """A served request's duration, by its method, route and status."""
        self._telemetry.observe_request(  # type: ignore[union-attr]  # init_app set it
            fields["http_method"], fields["http_route"], status, seconds
        )


def _route_of_request() -> str:
    """The route template of the request Flask is serving in this context ("" before routing, or
    when nothing matched): a 405's is that of the rule its path matched, as in Starlette."""
    context = _cv_request.get(None)
    if context is None:
        return ""
    current = context.request
    rule = current.url_rule
    if rule is None and isinstance(current.routing_exception, MethodNotAllowed):
        rule = _rule_taking_another_method(current)
    return rule.rule if rule is not None else ""


def _routed(fields: dict[str, str]) -> dict[str, str]:
    """``fields`` with the request's route, filled in once Flask has routed it."""
    if not fields["http_route"]:
        fields["http_route"] = _route_of_request()
    return fields


def _rule_taking_another_method(current: Any) -> Any:
    """The rule a request's path matched when its method was not allowed (Flask keeps none for a 405):
    the route is its template, as in Starlette, which routes a 405 to the route."""
    methods = getattr(current.routing_exception, "valid_methods", None)
    adapter = current_app.create_url_adapter(current)
    if not methods or adapter is None:
        return None
    try:
        rule, _ = adapter.match(method=next(iter(methods)), return_rule=True)
    except HTTPException:
        return None
    return rule


class _TimedWsgi:
    """Around the Flask app's WSGI app: the request's duration and status for the metrics, and its
    id answered in ``request_id_header``, when the response starts; the request's scope closed when
    the app returns.

    A streamed body (no ``Content-Length``: a generator, ``stream_with_context``, SSE) is generated
    after Flask has torn the request down. Its chunks are then made inside the request's scope again
    (`_ScopedBody`), so the calls the body makes are the request's, and the request is timed to the
    end of its body."""

    __slots__ = ("_header", "_inner", "_monitor")

    def __init__(self, inner: Callable[..., Any], monitor: Monitor) -> None:
        self._inner = inner
        self._monitor = monitor
        self._header = monitor.request_id_header.lower()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        started = time.perf_counter()
        monitor = self._monitor
        fields = {
            "http_request_id": request_id_from(environ.get(monitor._request_id_key)),
            "http_method": environ.get("REQUEST_METHOD", "GET").upper(),
            "http_route": "",  # once Flask has routed the request (`_routed`)
        }
        streamed: list[int] = []  # set by `start`: the status of a body generated after the request

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if exc_info is None:
                names = [key.lower() for key, _ in headers]
                if self._header not in names:  # a route may set its own id
                    headers.append((monitor.request_id_header, fields["http_request_id"]))
                _routed(fields)  # Flask's request is still there while the response starts
                if "content-length" in names:
                    monitor.observe_request(fields, int(status[:3]), time.perf_counter() - started)
                else:
                    streamed.append(int(status[:3]))
            return start_response(status, headers, exc_info)

        environ[_STATE] = fields
        scope = request_scope(monitor._telemetry, fields, _route_of_request).__enter__()  # type: ignore[arg-type]
        try:
            body = self._inner(environ, start)
        finally:
            scope.__exit__(None, None, None)
            environ.pop(_STATE, None)
        if not streamed:
            return body
        status = streamed[0]
        file_wrapper = environ.get("wsgi.file_wrapper")
        if isinstance(file_wrapper, type) and isinstance(body, file_wrapper):
            # A file the server may send itself (sendfile): no call is made while it is sent.
            self._monitor.observe_request(fields, status, time.perf_counter() - started)
            return body
        return _ScopedBody(body, self._monitor, fields, status, started)


class _ScopedBody:
    """A streamed response body whose every chunk, and its close, runs in the request's scope.

    The scope is entered around each chunk rather than held from chunk to chunk: the server may
    serve another request in this thread between them, and a client that never closes the body
    (a test client) leaves nothing behind. At close, the request's duration is observed."""

    __slots__ = ("_body", "_chunks", "_fields", "_monitor", "_started", "_status")

    def __init__(
        self,
        body: Any,
        monitor: Monitor,
        fields: dict[str, str],
        status: int,
        started: float,
    ) -> None:
        self._body = body
        self._chunks = iter(body)
        self._monitor = monitor
        self._fields = fields
        self._status = status
        self._started: float | None = started

    def __iter__(self) -> _ScopedBody:
        return self

    def __next__(self) -> Any:
        with request_scope(self._monitor._telemetry, self._fields):  # type: ignore[arg-type]
            try:
                return next(self._chunks)
            except StopIteration:
                self._observe()  # the body is complete, whether or not its reader closes it
                raise
            except Exception as exc:  # Flask's handlers are behind us: log it with the request's id
                self._monitor.log_with_fields(exc, "unhandled error in a streamed response", self._fields)
                raise

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                with request_scope(self._monitor._telemetry, self._fields):  # type: ignore[arg-type]
                    close()  # a generator's clean-up may end a call (closing the SDK's stream)
        finally:
            self._observe()

    def _observe(self) -> None:
        if self._started is not None:
            seconds, self._started = time.perf_counter() - self._started, None
            self._monitor.observe_request(self._fields, self._status, seconds)
