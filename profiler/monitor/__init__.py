"""Watching an app in production: its OpenAI calls as metrics, an error log, shipping and OTel export.

    import profiler.monitor

    profiler.monitor.init_app(app)      # a Flask app, or a FastAPI/Starlette app
    profiler.monitor.instrument()       # any other process: a worker, a cron job, a notebook

Flask's extension convention works too: ``Monitor(app)``, or ``monitor = Monitor()`` and
``monitor.init_app(app)`` in an app factory; any ASGI app: ``app = MonitorMiddleware(app)``.
What they do and their options: docs/monitoring.md. (Imported on first use, so that
``profiler.monitor.error_log`` does not import Flask.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from profiler.monitor.asgi import MonitorMiddleware
    from profiler.monitor.flask_ext import Monitor
    from profiler.monitor.process import instrument, is_instrumented, uninstrument
    from profiler.monitor.telemetry import Telemetry

__all__ = [
    "Monitor",
    "MonitorMiddleware",
    "Telemetry",
    "init_app",
    "instrument",
    "is_instrumented",
    "uninstrument",
]

_HOMES = {
    "Monitor": "profiler.monitor.flask_ext",
    "MonitorMiddleware": "profiler.monitor.asgi",
    "Telemetry": "profiler.monitor.telemetry",
    "instrument": "profiler.monitor.process",
    "uninstrument": "profiler.monitor.process",
    "is_instrumented": "profiler.monitor.process",
}


def init_app(app: Any, **options: Any) -> Any:
    """Monitor ``app``'s OpenAI calls: a Flask app gets the extension, a Starlette or FastAPI app the
    middleware. Returns the `Monitor` (Flask) or ``app`` (ASGI).

    Options: ``metrics_path`` ("/metrics"; None: none added), ``safe_errors`` (False; True: an OpenAI
    error a route did not handle is answered 502/503/504), ``request_id_header`` ("X-Request-ID"),
    ``telemetry`` (default: the process's, from the environment).
    """
    from flask import Flask

    if isinstance(app, Flask):
        from profiler.monitor.flask_ext import Monitor

        return Monitor(app, **options)
    if callable(getattr(app, "build_middleware_stack", None)):
        from profiler.monitor.asgi import monitor_starlette
        from profiler.monitor.telemetry import Telemetry

        # Built now, not at the first request (Starlette builds its middleware then): a bad shipping
        # configuration fails at start-up.
        options.setdefault("telemetry", Telemetry.default())
        monitor_starlette(app, **options)
        return app
    raise TypeError(
        f"profiler.monitor.init_app: {type(app).__name__} is neither a Flask nor a Starlette/FastAPI app; "
        "wrap an ASGI app instead: app = profiler.monitor.MonitorMiddleware(app)"
    )


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'profiler.monitor' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(home), name)
