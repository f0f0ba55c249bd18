"""The Flask extension: ``Monitor(app)``, or ``monitor = Monitor(); monitor.init_app(app)`` in a factory.

Per request it opens a `request_scope` (every OpenAI call the request makes is
recorded, whichever API, and its error records carry the request's id), times the
request for ``http.server.request.duration`` by route, and answers ``X-Request-ID``.
It adds ``GET /metrics`` (or another path, or none when the app serves
prometheus_client's registry itself: the metrics are registered there), logs an
unhandled exception with its traceback and the request's id, and, with
``safe_errors=True``, answers an OpenAI error the route did not handle with the
generic 502/503/504 of ``profiler.app`` instead of Flask's 500.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask, Response, got_request_exception, jsonify, request

from profiler.monitor.answers import upstream_answer
from profiler.monitor.error_log import ERROR_LOGGER
from profiler.monitor.metrics import CONTENT_TYPE
from profiler.monitor.scope import request_id_from, request_scope, upstream_kind
from profiler.monitor.telemetry import Telemetry

__all__ = ["Monitor"]

_STATE = "profiler.monitor"  # the request's scope and start, in its WSGI environ
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
        # First before any other before_request, last after every other after_request: the whole request.
        app.before_request_funcs.setdefault(None, []).insert(0, self._begin)
        app.after_request_funcs.setdefault(None, []).insert(0, self._end)
        app.teardown_request_funcs.setdefault(None, []).append(self._teardown)
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

    # Per request.

    def _begin(self) -> None:
        started = time.perf_counter()
        current = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup, not four
        rule = current.url_rule
        fields = {
            "http_request_id": request_id_from(current.headers.get(self.request_id_header)),
            "http_method": current.method,
            "http_route": rule.rule if rule is not None else "",
        }
        scope = request_scope(self._telemetry, fields).__enter__()  # type: ignore[arg-type]  # init_app set it
        current.environ[_STATE] = (scope, fields, started)

    def _end(self, response: Response) -> Response:
        state = request.environ.get(_STATE)
        if state is not None:
            _, fields, started = state
            seconds = time.perf_counter() - started
            self._telemetry.observe_request(  # type: ignore[union-attr]  # init_app set it
                fields["http_method"], fields["http_route"], response.status_code, seconds
            )
            response.headers[self.request_id_header] = fields["http_request_id"]
        return response

    def _teardown(self, _exc: BaseException | None) -> None:
        state = request.environ.pop(_STATE, None)
        if state is not None:
            state[0].__exit__(None, None, None)

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
        state = request.environ.get(_STATE)
        fields = dict(state[1]) if state is not None else {}
        logger = getattr(self, "_logger", None) or logging.getLogger(ERROR_LOGGER)
        logger.error(message, exc_info=exc, extra={"event": "unhandled_error", **fields})

    def _metrics(self) -> Response:
        return Response(self.telemetry.exposition(), mimetype=CONTENT_TYPE)
