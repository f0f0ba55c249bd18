"""Which error kind an exception raised out of an SDK call or a stream is (needs the SDK)."""

from __future__ import annotations

import json

import openai

from profiler.trace.kinds import (
    CLIENT_ERROR,
    CONNECTION,
    INVALID_RESPONSE,
    STREAM_INTERRUPTED,
    TIMEOUT,
    kind_of_status,
)


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
