"""Response bodies shaped exactly like the OpenAI API's, and their SSE framing."""

from __future__ import annotations

import json
import secrets
import string
import time
import uuid
from collections.abc import Sequence
from typing import Any

__all__ = [
    "DONE_EVENT",
    "MODELS",
    "ChunkWriter",
    "Usage",
    "completion",
    "encode_json",
    "error",
    "models_list",
    "new_completion_id",
    "new_request_id",
    "sse_event",
    "usage",
]

DONE_EVENT = b"data: [DONE]\n\n"

MODELS: tuple[tuple[str, int, str], ...] = (
    ("gpt-3.5-turbo", 1677610602, "openai"),
    ("gpt-4o", 1715367049, "system"),
    ("gpt-4o-mini", 1721172741, "system"),
    ("gpt-4.1-mini", 1744318173, "system"),
)

_ALPHANUMERIC = string.ascii_letters + string.digits

Usage = dict[str, Any]


def new_request_id() -> str:
    return f"req_{uuid.uuid4().hex}"


def new_completion_id() -> str:
    return "chatcmpl-" + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(29))


def encode_json(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def sse_event(body: Any) -> bytes:
    return b"data: " + encode_json(body) + b"\n\n"


def error(message: str, type: str, *, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def usage(prompt_tokens: int, completion_tokens: int) -> Usage:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def completion(
    *,
    completion_id: str,
    created: int,
    model: str,
    replies: Sequence[str],
    usage: Usage,
    system_fingerprint: str,
) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": index,
                "message": {"role": "assistant", "content": text, "refusal": None, "annotations": []},
                "logprobs": None,
                "finish_reason": "stop",
            }
            for index, text in enumerate(replies)
        ],
        "usage": usage,
        "service_tier": "default",
        "system_fingerprint": system_fingerprint,
    }


class ChunkWriter:
    """Encodes the `chat.completion.chunk` events of one stream; every chunk shares id, created and model."""

    def __init__(self, *, model: str, system_fingerprint: str, include_usage: bool) -> None:
        self._header: dict[str, Any] = {
            "id": new_completion_id(),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "service_tier": "default",
            "system_fingerprint": system_fingerprint,
        }
        self._include_usage = include_usage

    def role(self, index: int) -> bytes:
        return self._choice(index, {"role": "assistant", "content": ""}, None)

    def content(self, index: int, text: str) -> bytes:
        return self._choice(index, {"content": text}, None)

    def finish(self, index: int) -> bytes:
        return self._choice(index, {}, "stop")

    def usage(self, usage: Usage) -> bytes:
        return sse_event({**self._header, "choices": [], "usage": usage})

    def _choice(self, index: int, delta: dict[str, Any], finish_reason: str | None) -> bytes:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        body: dict[str, Any] = {**self._header, "choices": [choice]}
        if self._include_usage:
            # The API announces the usage field on every chunk and fills it only on the last one.
            body["usage"] = None
        return sse_event(body)


def models_list() -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {"id": model_id, "object": "model", "created": created, "owned_by": owner}
            for model_id, created, owner in MODELS
        ],
    }
