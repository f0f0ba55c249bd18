"""Names of the moments recorded during one SDK call, stored as one-byte codes.

httpcore reports each step of an HTTP exchange as ``<prefix>.<step>.<outcome>``
(``http11.send_request_headers.started``). We keep a byte per event instead of
the string so that a recorded call stays small (a few hundred bytes).
"""

from __future__ import annotations

from enum import IntEnum


class Step(IntEnum):
    """A step of one HTTP attempt. Values are stable: they are stored as bytes."""

    ATTEMPT = 0  # our request hook: the SDK handed the request to the HTTP client
    CONNECT = 1
    TLS = 2
    SEND_HEADERS = 3
    SEND_BODY = 4
    RECEIVE_HEADERS = 5
    RECEIVE_BODY = 6
    RESPONSE_CLOSED = 7
    OTHER = 8


class Outcome(IntEnum):
    STARTED = 0
    COMPLETE = 1
    FAILED = 2


_STEP_BY_NAME: dict[str, Step] = {
    "connect_tcp": Step.CONNECT,
    "connect_unix_socket": Step.CONNECT,
    "start_tls": Step.TLS,
    "send_request_headers": Step.SEND_HEADERS,
    "send_request_body": Step.SEND_BODY,
    "receive_response_headers": Step.RECEIVE_HEADERS,
    "receive_response_body": Step.RECEIVE_BODY,
    "response_closed": Step.RESPONSE_CLOSED,
}
_OUTCOME_BY_NAME = {"started": Outcome.STARTED, "complete": Outcome.COMPLETE, "failed": Outcome.FAILED}


def encode(step: Step, outcome: Outcome) -> int:
    return step * 4 + outcome


_DECODED: dict[int, tuple[Step, Outcome]] = {
    encode(step, outcome): (step, outcome) for step in Step for outcome in Outcome
}


def decode(code: int) -> tuple[Step, Outcome]:
    return _DECODED[code]  # a table: building enum members per event costs a microsecond each


def code_for_trace_name(name: str) -> int:
    """Map an httpcore trace name (``http11.send_request_body.complete``) to a code."""
    _prefix, _, rest = name.partition(".")
    step_name, _, outcome_name = rest.rpartition(".")
    step = _STEP_BY_NAME.get(step_name, Step.OTHER)
    return encode(step, _OUTCOME_BY_NAME.get(outcome_name, Outcome.COMPLETE))


# Codes of the trace names seen so far (the instrumentation keeps its own table of the non-failures).
TRACE_CODES: dict[str, int] = {}


def trace_code(name: str) -> int:
    code = TRACE_CODES.get(name)
    if code is None:
        code = TRACE_CODES[name] = code_for_trace_name(name)
    return code


ATTEMPT_STARTED = encode(Step.ATTEMPT, Outcome.STARTED)
