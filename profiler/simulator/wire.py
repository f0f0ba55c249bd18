"""Bytes on the wire: compact JSON, server-sent-event framing and the API's id formats."""

from __future__ import annotations

import json
import secrets
import string
import uuid
from typing import Any

__all__ = [
    "DONE_EVENT",
    "encode_json",
    "new_id",
    "new_request_id",
    "sse_event",
]

# Chat and legacy completions end a stream with this; the Responses API ends with `response.completed`.
DONE_EVENT = b"data: [DONE]\n\n"

_ALPHANUMERIC = string.ascii_letters + string.digits


def new_request_id() -> str:
    return f"req_{uuid.uuid4().hex}"


def new_id(prefix: str, length: int, *, hex_only: bool = False) -> str:
    """A random object id as the API spells it: `chatcmpl-` + 29 alphanumerics, `resp_` + 48 hex, …

    Ids are random, not drawn from the seed: like the API's, they must be unique across runs.
    """
    if hex_only:
        return prefix + secrets.token_hex(length // 2)
    return prefix + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


def encode_json(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def sse_event(body: Any, event: str | None = None) -> bytes:
    """One SSE frame; the Responses API names each event in an `event:` line before its data."""
    data = b"data: " + encode_json(body) + b"\n\n"
    return data if event is None else b"event: " + event.encode() + b"\n" + data
