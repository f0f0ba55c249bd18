"""Refusing a request the way the OpenAI API does: an `{"error": {...}}` body and a 4xx status."""

from __future__ import annotations

from typing import Any

__all__ = ["NOT_JSON", "InvalidRequest", "error_body"]

# The API's own words for a body it cannot parse, whatever was wrong with it.
NOT_JSON = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
    "HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)"
)


def error_body(
    message: str, type: str, *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


class InvalidRequest(Exception):
    """The request cannot be served; `body` is the OpenAI-shaped error to answer with `status`."""

    def __init__(
        self, message: str, *, param: str | None = None, code: str | None = None, status: int = 400
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(message, "invalid_request_error", param=param, code=code)
