"""The ASGI middleware (FastAPI, Starlette, any ASGI app): ``app.add_middleware(MonitorMiddleware)``
or ``app = MonitorMiddleware(app)``.

The same as the Flask extension: a `request_scope` per HTTP request (a request is
one task, so its calls — and those of a sync endpoint run in the thread pool, which
copies the task's context — are its own), ``http.server.request.duration`` by route,
``X-Request-ID``, ``GET /metrics`` answered here (or not, with ``metrics_path=None``),
an unhandled exception logged with its traceback and the request's id, and with
``safe_errors=True`` an OpenAI error the app did not handle answered 502/503/504
instead of a 500.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from profiler.monitor.answers import upstream_answer
from profiler.monitor.error_log import log_unhandled
from profiler.monitor.metrics import CONTENT_TYPE
from profiler.monitor.scope import request_id_from, request_scope, upstream_kind
from profiler.monitor.telemetry import Telemetry

__all__ = ["MonitorMiddleware", "monitor_starlette"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class MonitorMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics_path: str | None = "/metrics",
        safe_errors: bool = False,
        request_id_header: str = "X-Request-ID",
        telemetry: Telemetry | None = None,
    ) -> None:
        self.app = app
        self.metrics_path = metrics_path
        self.safe_errors = safe_errors
        self.telemetry = telemetry if telemetry is not None else Telemetry.default()
        self._header = request_id_header.lower().encode("latin-1")
        self._header_name = request_id_header
        # Another method than GET or HEAD on the metrics path is 405 only where the app was checked not
        # to have the path (init_app); wrapped by hand, such a request is the app's.
        self.owns_metrics_path = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scrape = scope["method"] in ("GET", "HEAD") or self.owns_metrics_path
        if scrape and self.metrics_path and _path_in_app(scope) == self.metrics_path:
            await self._metrics(send, scope["method"])
            return
        started = time.perf_counter()
        root_path = scope.get("root_path", "")
        sent_id = next((value for name, value in scope.get("headers", ()) if name == self._header), None)
        fields = {
            "http_request_id": request_id_from(sent_id.decode("latin-1") if sent_id else None),
            "http_method": scope["method"],
            "http_route": "",
        }
        status = 500
        response_started = False

        async def send_noting_status(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                headers = list(message.get("headers", ()))
                if not any(name.lower() == self._header for name, _ in headers):  # a route may set its own
                    headers.append((self._header, fields["http_request_id"].encode("latin-1")))
                    message = {**message, "headers": headers}
            await send(message)

        kind: str | None = None
        try:
            with request_scope(self.telemetry, fields, route_of=lambda: _route_of(scope, root_path)):
                try:
                    await self.app(scope, receive, send_noting_status)
                except Exception as exc:
                    kind = upstream_kind(exc)  # inside the scope: it knows the request's failed calls
                    raise
                finally:
                    fields["http_route"] = _route_of(scope, root_path)
        except Exception as exc:
            self._log_unhandled(exc, fields, upstream=kind is not None)
            if not (self.safe_errors and kind is not None) or response_started:
                raise
            body, status = upstream_answer(exc, kind)
            await _send_json(send_noting_status, status, body)
        finally:
            self.telemetry.observe_request(
                fields["http_method"], fields["http_route"], status, time.perf_counter() - started
            )

    def _log_unhandled(self, exc: BaseException, fields: dict[str, Any], *, upstream: bool) -> None:
        message = "unhandled upstream error" if upstream else "unhandled error"
        log_unhandled(self.telemetry.logger, exc, message, fields)

    async def _metrics(self, send: Send, method: str) -> None:
        if method not in ("GET", "HEAD"):  # the path is the monitor's (init_app checked the app)
            headers = [(b"allow", b"GET, HEAD"), (b"content-type", b"text/plain"), (b"content-length", b"18")]
            await send({"type": "http.response.start", "status": 405, "headers": headers})
            await send({"type": "http.response.body", "body": b"Method Not Allowed"})
            return
        body = self.telemetry.exposition()
        headers = [(b"content-type", CONTENT_TYPE.encode()), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})


def _path_in_app(scope: Scope) -> str:
    """The request's path below the app's mount point (``root_path``: a proxy's prefix, a mounted sub-app)."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if root_path and path.startswith(root_path) and path[len(root_path) : len(root_path) + 1] in ("", "/"):
        return path[len(root_path) :] or "/"
    return path


def _route_of(scope: Scope, root_path_at_entry: str) -> str:
    """The route template the routers matched, mounted apps' prefixes included (``/v1/books/{shelf}``);
    ``""`` when nothing matched, a path inside a mounted app's router included.

    Starlette and FastAPI put the matched route in ``scope["route"]``, but a mounted app's router puts
    its own route there (FastAPI's never puts the mount), so the mounts are found again, only when
    ``root_path`` grew on the way in: by matching the request against the routers' mounts."""
    if scope.get("root_path", "") == root_path_at_entry:
        return _template(scope.get("route"))
    prefix, innermost = _mounts_matched(scope, root_path_at_entry)
    route = scope.get("route")
    if innermost is not None and route in (None, innermost) and not getattr(innermost, "routes", None):
        # A mounted app whose routes no router put in the scope (static files, or an app wrapped in
        # a middleware, which hides its routes): the mount is all that is known.
        return prefix + "/{path}"
    template = _template(route)
    return prefix + template if template and route is not innermost else ""


def _template(route: object) -> str:
    if route is None or getattr(route, "routes", None):
        return ""  # nothing matched, or a mount whose router matched nothing below it
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) else ""


def _mounts_matched(scope: Scope, root_path_at_entry: str) -> tuple[str, object | None]:
    """The prefix of the mounts a request went through, as templates, and the innermost of them."""
    probe = {**scope, "root_path": root_path_at_entry, "path_params": {}}
    routes = getattr(scope.get("router"), "routes", ())
    prefix, innermost = "", None
    while routes:
        for route in routes:
            match, child_scope = route.matches(probe)
            if getattr(match, "name", None) == "FULL":
                break
        else:
            break
        if not isinstance(getattr(route, "path_format", None), str) or not hasattr(route, "routes"):
            break  # a route, not a mount: the mounts end here
        prefix += route.path_format.removesuffix("/{path}")
        innermost = route
        probe.update(child_scope)
        routes = route.routes
    return prefix, innermost


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def monitor_starlette(app: Any, *, safe_errors: bool = False, **options: Any) -> None:
    """The middleware around the whole of a Starlette or FastAPI app, outside its error middleware.

    ``app.add_middleware`` would put it inside Starlette's ``ServerErrorMiddleware``, which answers an
    exception the app did not handle (a 500, or the app's own handler for ``Exception``) on the
    server's ``send``: the middleware would neither see that answer's status nor give it the request's
    id. Outside, it sees every answer. ``safe_errors`` then needs an answer before that one: exception
    handlers for the OpenAI errors (the app's own, where it has one, are kept), which Starlette runs
    inside, as Flask's error handlers are."""
    if getattr(app, "middleware_stack", None) is not None:
        raise RuntimeError("profiler.monitor.init_app: the app has started; monitor it before it serves")
    metrics_path = options.get("metrics_path", "/metrics")
    if metrics_path and any(getattr(route, "path", None) == metrics_path for route in app.routes):
        raise ValueError(  # as the Flask extension: the app's own route would never be reached
            f"profiler.monitor: the app already serves {metrics_path}; pass metrics_path=None "
            "to keep it (the metrics are in prometheus_client's default registry), or another path"
        )
    build = app.build_middleware_stack

    def build_monitored() -> ASGIApp:
        monitored = MonitorMiddleware(build(), **options)
        monitored.owns_metrics_path = True  # checked above: the app has no route of its own there
        return monitored

    app.build_middleware_stack = build_monitored
    if safe_errors:
        import openai

        logger: logging.Logger = options["telemetry"].logger
        for error in (openai.APIError, json.JSONDecodeError, UnicodeDecodeError):
            if error not in app.exception_handlers:
                app.add_exception_handler(error, _safe_answer(logger))


def _safe_answer(logger: logging.Logger) -> Callable[[Any, Exception], Awaitable[Any]]:
    async def answer(_request: Any, exc: Exception) -> Any:
        from starlette.responses import JSONResponse

        from profiler.monitor.scope import current_fields

        kind = upstream_kind(exc)
        if kind is None:
            raise exc  # not from an OpenAI call of this request: the app's 500, logged as unhandled
        log_unhandled(logger, exc, "unhandled upstream error", current_fields() or {})
        body, status = upstream_answer(exc, kind)
        return JSONResponse(body, status_code=status)

    return answer
