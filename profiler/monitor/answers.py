"""What a caller is told when the upstream API failed: a status and a generic message, never internals.

Shared by ``profiler.app``'s ``/chat`` and the ``safe_errors`` option of the
Flask extension and the ASGI middleware, so every monitored app answers alike.
"""

from __future__ import annotations

from typing import Any

import openai

from profiler.trace.exceptions import kind_of_exception
from profiler.trace.kinds import RATE_LIMIT, TIMEOUT

__all__ = ["UPSTREAM_MESSAGE", "upstream_answer", "upstream_status"]

UPSTREAM_MESSAGE = "the language model service did not answer; try again later"


def upstream_status(kind: str | None) -> int:
    """504 for a timeout, 503 for a rate limit (after the SDK's retries), 502 for anything else."""
    if kind == TIMEOUT:
        return 504
    if kind == RATE_LIMIT:
        return 503
    return 502


def upstream_answer(exc: BaseException, kind: str | None = None) -> tuple[dict[str, Any], int]:
    """The JSON body and the status for an upstream failure the route did not handle."""
    if kind is None:
        kind = kind_of_exception(exc)
    response = getattr(exc, "response", None) if isinstance(exc, openai.APIStatusError) else None
    request_id = None
    if response is not None:
        request_id = getattr(response, "headers", {}).get("x-request-id")
    return {"error": {"message": UPSTREAM_MESSAGE, "kind": kind, "request_id": request_id}}, upstream_status(
        kind
    )
