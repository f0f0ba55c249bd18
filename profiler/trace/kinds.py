"""The error-kind table: every failure of an API call maps to one kind.

``errors`` in a summary counts what the caller finally saw; ``attempt_errors``
counts every failed attempt, retried ones too. Each kind names the simulator
faults that produce it, so accounting tests and docs read the mapping from
here. Classifying an exception needs the SDK: that is :mod:`profiler.trace.exceptions`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ErrorKind:
    name: str
    help: str
    colour: str
    faults: tuple[str, ...] = ()  # simulator faults that produce it on a plain call
    stream_faults: tuple[str, ...] = ()  # … and on a streamed call


RATE_LIMIT = "rate_limit"
TIMEOUT = "timeout"
CONNECTION = "connection"
SERVER_ERROR = "server_error"
CLIENT_ERROR = "client_error"
INVALID_RESPONSE = "invalid_response"
STREAM_INTERRUPTED = "stream_interrupted"

KINDS: tuple[ErrorKind, ...] = (
    ErrorKind(
        RATE_LIMIT, "HTTP 429: too many requests or tokens", "#d62728", ("rate_limit",), ("rate_limit",)
    ),
    ErrorKind(
        TIMEOUT, "no answer in time (HTTP 408 or a client timeout)", "#8c564b", ("timeout",), ("timeout",)
    ),
    ErrorKind(CONNECTION, "the connection failed or was cut before a response", "#111111", ("disconnect",)),
    ErrorKind(SERVER_ERROR, "HTTP 5xx", "#9467bd", ("server_error",), ("server_error",)),
    ErrorKind(CLIENT_ERROR, "HTTP 4xx other than 408 and 429: the request was refused", "#bcbd22"),
    ErrorKind(
        INVALID_RESPONSE,
        "a 200 whose body was not what the API sends",
        "#e377c2",
        ("malformed",),
        ("malformed",),
    ),
    ErrorKind(
        STREAM_INTERRUPTED,
        "a stream that started and then broke or ended early",
        "#17becf",
        (),
        ("disconnect", "truncated_stream"),
    ),
)

ERROR_KINDS: tuple[str, ...] = tuple(kind.name for kind in KINDS)
KIND_BY_NAME: dict[str, ErrorKind] = {kind.name: kind for kind in KINDS}
UNKNOWN_KIND_COLOUR = "#7f7f7f"


def kind_of_fault(fault: str, *, stream: bool) -> str | None:
    """The kind a caller sees when the simulator injects ``fault`` (None: not an error there)."""
    for kind in KINDS:
        if fault in (kind.stream_faults if stream else kind.faults):
            return kind.name
    return None


def colour_of_kind(kind: str | None) -> str:
    found = KIND_BY_NAME.get(kind or "")
    return found.colour if found else UNKNOWN_KIND_COLOUR


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
