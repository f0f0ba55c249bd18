"""The ASGI application: which endpoint serves which path.

Endpoints talk raw ASGI rather than returning Starlette responses because the
timing is the product: each `send` is timed where it happens, and a fault may
need to stop half-way through a body (see `endpoint.py`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from .api import handlers
from .bookkeeping import Bookkeeping
from .endpoint import Endpoint
from .errors import error_body
from .ground_truth import GroundTruthLog
from .scenario import Scenario
from .state import SimulatorState

__all__ = ["create_app"]

logger = logging.getLogger("profiler.simulator")


def create_app(scenario: Scenario, ground_truth_path: Path | None = None) -> ASGIApp:
    """An OpenAI-compatible ASGI app that behaves as `scenario` says and logs what it did."""
    state = SimulatorState(scenario, GroundTruthLog(ground_truth_path) if ground_truth_path else None)

    def route(path: str, handler: handlers.Handler, method: str) -> Route:
        return Route(path, Endpoint(state, handler), methods=[method])

    routes = [
        route("/v1/chat/completions", handlers.ChatCompletionsHandler(), "POST"),
        route("/v1/responses", handlers.ResponsesHandler(), "POST"),
        route("/v1/responses/{response_id}", handlers.ResponseRetrieveHandler(), "GET"),
        route("/v1/completions", handlers.CompletionsHandler(), "POST"),
        route("/v1/embeddings", handlers.EmbeddingsHandler(), "POST"),
        route("/v1/models", handlers.ModelsHandler(), "GET"),
        route("/v1/models/{model:path}", handlers.ModelHandler(), "GET"),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _invalid_url, Exception: _server_error})
    return Bookkeeping(app, state)


async def _invalid_url(request: Request, exc: Exception) -> Response:
    # The API answers a wrong method on a known path like an unknown path.
    message = f"Invalid URL ({request.method} {request.url.path})"
    return JSONResponse(error_body(message, "invalid_request_error"), status_code=404)


async def _server_error(request: Request, exc: Exception) -> Response:
    # A bug of ours: an API-shaped 500 (which the SDK retries), never a traceback in the body.
    logger.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    body = error_body(
        "The server had an error while processing your request. Sorry about that!", "server_error"
    )
    return JSONResponse(body, status_code=500)
