"""The error taxonomy: every failure of an OpenAI call maps to one kind.

``errors`` in a summary counts what the caller finally saw; ``attempt_errors``
counts every failed attempt, retried ones too. Both use these kinds.
"""

from __future__ import annotations

import json

import openai

RATE_LIMIT = "rate_limit"
TIMEOUT = "timeout"
CONNECTION = "connection"
SERVER_ERROR = "server_error"
CLIENT_ERROR = "client_error"
INVALID_RESPONSE = "invalid_response"
STREAM_INTERRUPTED = "stream_interrupted"

ERROR_KINDS: tuple[str, ...] = (
    RATE_LIMIT,
    TIMEOUT,
    CONNECTION,
    SERVER_ERROR,
    CLIENT_ERROR,
    INVALID_RESPONSE,
    STREAM_INTERRUPTED,
)


def kind_of_status(status: int) -> str | None:
    """The kind of an HTTP status, or None when it is not an error."""
    if status < 400:
        return None
    if status == 429:
        return RATE_LIMIT
    if status == 408:
        return TIMEOUT
    if status >= 500:
        return SERVER_ERROR
    return CLIENT_ERROR


def kind_of_transport_failure(exception_type: str) -> str:
    """The kind of an httpcore/httpx failure, from its class name alone."""
    return TIMEOUT if "Timeout" in exception_type else CONNECTION


def kind_of_exception(exc: BaseException, *, in_stream_body: bool = False) -> str:
    """The kind of an exception raised out of an SDK call or a stream.

    ``in_stream_body``: raised while reading a stream's chunks, after a 200. The SDK
    wraps a connection cut there as ``APIConnectionError`` and does not retry it;
    for the caller it is a stream that started and broke: ``stream_interrupted``.
    """
    if in_stream_body and not isinstance(exc, json.JSONDecodeError | openai.APIResponseValidationError):
        return STREAM_INTERRUPTED
    if isinstance(exc, openai.APITimeoutError):
        return TIMEOUT
    if isinstance(exc, openai.APIConnectionError):
        return CONNECTION
    if isinstance(exc, openai.APIStatusError):
        return kind_of_status(exc.status_code) or CLIENT_ERROR
    if isinstance(exc, openai.APIResponseValidationError | json.JSONDecodeError | UnicodeDecodeError):
        return INVALID_RESPONSE
    name = type(exc).__name__
    if "Timeout" in name:
        return TIMEOUT
    if "Protocol" in name or "Connect" in name or "Network" in name or isinstance(exc, OSError):
        return CONNECTION
    if isinstance(exc, ValueError):
        return INVALID_RESPONSE
    return CLIENT_ERROR
