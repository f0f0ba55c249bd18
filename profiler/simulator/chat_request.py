"""Reading a chat completions request body, refusing it the way the real API does."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .responses import error

__all__ = ["ChatRequest", "InvalidRequest", "parse_chat_request"]

_NOT_JSON = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
    "HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)"
)
MAX_CHOICES = 128


class InvalidRequest(Exception):
    """The request cannot be served; `body` is the 400 response's OpenAI-shaped error."""

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.body = error(message, "invalid_request_error", param=param, code=code)


@dataclass(frozen=True)
class ChatRequest:
    model: str
    n: int
    stream: bool
    include_usage: bool
    prompt_tokens: int


def parse_chat_request(body: bytes) -> ChatRequest:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest(_NOT_JSON) from None
    if not isinstance(payload, dict):
        raise InvalidRequest(_NOT_JSON)

    model = payload.get("model")
    if model is None or model == "":
        raise InvalidRequest("you must provide a model parameter")
    if not isinstance(model, str):
        raise _wrong_type("model", "a string", model)

    if "messages" not in payload:
        raise InvalidRequest(
            "Missing required parameter: 'messages'.", param="messages", code="missing_required_parameter"
        )
    messages = payload["messages"]
    if not isinstance(messages, list):
        raise _wrong_type("messages", "an array", messages)
    if not messages:
        raise InvalidRequest(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, "
            "but got an empty array instead.",
            param="messages",
            code="empty_array",
        )

    n = _optional(payload, "n", 1)
    if isinstance(n, bool) or not isinstance(n, int):
        raise _wrong_type("n", "an integer", n)
    if not 1 <= n <= MAX_CHOICES:
        code = "integer_below_min_value" if n < 1 else "integer_above_max_value"
        raise InvalidRequest(
            f"Invalid 'n': must be between 1 and {MAX_CHOICES}, got {n}.", param="n", code=code
        )

    stream = _optional(payload, "stream", False)
    if not isinstance(stream, bool):
        raise _wrong_type("stream", "a boolean", stream)

    stream_options = _optional(payload, "stream_options", None)
    include_usage = False
    if stream_options is not None:
        if not isinstance(stream_options, dict):
            raise _wrong_type("stream_options", "an object", stream_options)
        if not stream:
            raise InvalidRequest(
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                param="stream_options",
            )
        include_usage = bool(stream_options.get("include_usage", False))

    return ChatRequest(
        model=model,
        n=n,
        stream=stream,
        include_usage=include_usage,
        prompt_tokens=estimate_prompt_tokens(messages),
    )


def estimate_prompt_tokens(messages: list[Any]) -> int:
    """About four characters a token plus the per-message framing the chat format adds."""
    total = 3
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            content = " ".join(part.get("text", "") for part in content if isinstance(part, dict))
        total += 4 + (len(content) + 3) // 4 if isinstance(content, str) else 4
    return total


def _optional(payload: dict[str, Any], name: str, default: Any) -> Any:
    # The API treats an explicit null like an omitted parameter.
    value = payload.get(name)
    return default if value is None else value


def _wrong_type(name: str, expected: str, value: Any) -> InvalidRequest:
    return InvalidRequest(
        f"Invalid type for '{name}': expected {expected}, but got {_type_name(value)} instead.",
        param=name,
        code="invalid_type",
    )


def _type_name(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a decimal", str: "a string", list: "an array"}
    return names.get(type(value), "an object")
