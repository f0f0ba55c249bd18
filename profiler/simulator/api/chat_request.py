"""Reading a chat completions request body, refusing it the way the real API does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import params
from ..errors import InvalidRequest
from ..limits import MAX_CHOICES
from .common import check_sampling, estimate_tokens, max_tokens, texts_of
from .formats import TextFormat, mentions_json, read_format
from .tools import ToolRequest, read_tools

__all__ = ["ChatRequest", "parse_chat_request"]

_ROLES = ("system", "assistant", "user", "function", "tool", "developer")


@dataclass(frozen=True)
class ChatRequest:
    model: str
    n: int
    stream: bool
    include_usage: bool
    prompt_tokens: int
    max_tokens: int | None = None
    text_format: TextFormat | None = None
    tools: ToolRequest | None = None
    # A tool result came after the last user message: the model has what it asked for.
    has_tool_results: bool = False


def parse_chat_request(payload: dict[str, Any]) -> ChatRequest:
    model = params.model_name(payload)
    if "messages" not in payload:
        raise params.missing("messages")
    messages = payload["messages"]
    if not isinstance(messages, list):
        raise params.wrong_type("messages", "an array", messages)
    if not messages:
        raise InvalidRequest(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, "
            "but got an empty array instead.",
            param="messages",
            code="empty_array",
        )
    for index, message in enumerate(messages):
        _check_message(message, index)

    n = params.optional_int(payload, "n", minimum=1, maximum=MAX_CHOICES) or 1
    stream = params.optional_bool(payload, "stream", False)
    stream_options = params.optional_object(payload, "stream_options")
    include_usage = False
    if stream_options is not None:
        if not stream:
            raise InvalidRequest(
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                param="stream_options",
            )
        include_usage = params.optional_bool(stream_options, "include_usage", False)
    check_sampling(payload)
    limit = max_tokens(payload, "max_tokens", "max_completion_tokens")

    text_format = None
    if payload.get("response_format") is not None:
        text_format = read_format(payload["response_format"], "response_format", nested=True)
        if text_format.kind == "text":
            text_format = None
        elif text_format.kind == "json_object" and not mentions_json(_texts(messages)):
            raise InvalidRequest(
                "'messages' must contain the word 'json' in some form, to use 'response_format' of type "
                "'json_object'.",
                param="messages",
                code=None,
            )
    tools, _ = read_tools(payload, nested=True)

    return ChatRequest(
        model=model,
        n=n,
        stream=stream,
        include_usage=include_usage,
        prompt_tokens=estimate_prompt_tokens(messages),
        max_tokens=limit,
        text_format=text_format,
        tools=tools,
        has_tool_results=_has_tool_results(messages),
    )


def estimate_prompt_tokens(messages: list[Any]) -> int:
    """About four characters a token plus the per-message framing the chat format adds."""
    total = 3
    for message in messages:
        content = " ".join(texts_of(message.get("content"))) if isinstance(message, dict) else ""
        total += 4 + estimate_tokens(content)
    return total


def _check_message(message: Any, index: int) -> None:
    where = f"messages[{index}]"
    if not isinstance(message, dict):
        raise params.wrong_type(where, "an object", message)
    role = message.get("role")
    if role is None:
        raise params.missing(f"{where}.role")
    if role not in _ROLES:
        shown = f"'{role}'" if isinstance(role, str) else params.type_name(role)
        raise InvalidRequest(
            f"Invalid value: {shown}. Supported values are: 'system', 'assistant', 'user', 'function', "
            "'tool', and 'developer'.",
            param=f"{where}.role",
            code="invalid_value",
        )


def _texts(messages: list[dict[str, Any]]) -> list[str]:
    return [text for message in messages for text in texts_of(message.get("content"))]


def _has_tool_results(messages: list[dict[str, Any]]) -> bool:
    for message in reversed(messages):
        if message.get("role") in ("tool", "function"):
            return True
        if message.get("role") == "user":
            return False
    return False
