"""Reading a Responses API request (`POST /v1/responses`), refusing it the way the real API does."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import params
from ..errors import InvalidRequest
from ..limits import MIN_MAX_OUTPUT_TOKENS
from .common import check_sampling, estimate_tokens, max_tokens, texts_of
from .formats import TextFormat, mentions_json, read_format
from .tools import ToolRequest, read_tools

__all__ = ["ResponsesRequest", "parse_responses_request"]

_ROLES = ("user", "assistant", "system", "developer")


@dataclass(frozen=True)
class ResponsesRequest:
    model: str
    stream: bool
    background: bool
    store: bool
    input_tokens: int
    max_output_tokens: int | None
    text_format: TextFormat | None
    tools: ToolRequest | None
    has_tool_results: bool
    previous_response_id: str | None
    # Echoed back in the response object, as the API does.
    echo: dict[str, Any] = field(default_factory=dict)


def parse_responses_request(payload: dict[str, Any]) -> ResponsesRequest:
    model = params.model_name(payload)
    items = _input_items(payload.get("input"))
    instructions = payload.get("instructions")
    if instructions is not None and not isinstance(instructions, str | list):
        raise params.wrong_type("instructions", "a string", instructions)
    stream = params.optional_bool(payload, "stream", False)
    background = params.optional_bool(payload, "background", False)
    store = params.optional_bool(payload, "store", True)
    previous = params.optional_str(payload, "previous_response_id")
    check_sampling(payload)
    limit = max_tokens(payload, "max_output_tokens", minimum=MIN_MAX_OUTPUT_TOKENS)
    metadata = params.optional_object(payload, "metadata") or {}
    for key, value in metadata.items():
        if not isinstance(value, str):
            raise params.wrong_type(f"metadata.{key}", "a string", value)

    texts = [*_instruction_texts(instructions), *(t for item in items for t in texts_of(item.get("content")))]
    text_format = None
    text = params.optional_object(payload, "text")
    if text is not None and text.get("format") is not None:
        text_format = read_format(text["format"], "text.format", nested=False)
        if text_format.kind == "json_object" and not mentions_json(texts):
            raise InvalidRequest(
                "Response input messages must contain the word 'json' in some form to use 'text.format' of "
                "type 'json_object'.",
                param="input",
            )
    tools, tools_sent = read_tools(payload, nested=False)
    echo = {
        "instructions": instructions,
        "max_output_tokens": limit,
        "metadata": metadata,
        "parallel_tool_calls": params.optional_bool(payload, "parallel_tool_calls", True),
        "previous_response_id": previous,
        "temperature": _or(params.optional_number(payload, "temperature", minimum=0.0, maximum=2.0), 1.0),
        "top_p": _or(params.optional_number(payload, "top_p", minimum=0.0, maximum=1.0), 1.0),
        "text": {"format": (text_format or TextFormat("text")).to_responses(), "verbosity": "medium"},
        "tool_choice": _tool_choice_echo(payload.get("tool_choice"), tools),
        "tools": [_tool_echo(tool) for tool in tools_sent if isinstance(tool, dict)],
        "user": params.optional_str(payload, "user"),
    }
    return ResponsesRequest(
        model=model,
        stream=stream,
        background=background,
        store=store,
        input_tokens=3 + sum(4 + estimate_tokens(t) for t in texts),
        max_output_tokens=limit,
        text_format=None if text_format is None or text_format.kind == "text" else text_format,
        tools=tools,
        has_tool_results=_has_tool_results(items),
        previous_response_id=previous,
        echo=echo,
    )


def _input_items(value: Any) -> list[dict[str, Any]]:
    """The input as a list of items; a string is one user message."""
    if value is None:
        return []
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, list):
        raise params.wrong_type("input", "a string or an array", value)
    for index, item in enumerate(value):
        where = f"input[{index}]"
        if not isinstance(item, dict):
            raise params.wrong_type(where, "an object", item)
        kind = item.get("type", "message")
        if not isinstance(kind, str):
            raise params.wrong_type(f"{where}.type", "a string", kind)
        if kind == "message":
            role = item.get("role")
            if role not in _ROLES:
                if role is None:
                    raise params.missing(f"{where}.role")
                shown = f"'{role}'" if isinstance(role, str) else params.type_name(role)
                raise InvalidRequest(
                    f"Invalid value: {shown}. Supported values are: 'assistant', 'system', 'developer', "
                    "and 'user'.",
                    param=f"{where}.role",
                    code="invalid_value",
                )
        elif kind == "function_call_output":
            if not isinstance(item.get("call_id"), str):
                raise params.missing(f"{where}.call_id")
            if "output" not in item:
                raise params.missing(f"{where}.output")
    return value


def _instruction_texts(instructions: Any) -> list[str]:
    if isinstance(instructions, str):
        return [instructions]
    if isinstance(instructions, list):
        return [t for item in instructions if isinstance(item, dict) for t in texts_of(item.get("content"))]
    return []


def _has_tool_results(items: list[dict[str, Any]]) -> bool:
    for item in reversed(items):
        if item.get("type") == "function_call_output":
            return True
        if item.get("type", "message") == "message" and item.get("role") == "user":
            return False
    return False


def _tool_choice_echo(value: Any, tools: ToolRequest | None) -> Any:
    if isinstance(value, dict) and value.get("type") == "function":
        return {"type": "function", "name": value.get("name")}
    if isinstance(value, str):
        return value
    return "auto"


def _tool_echo(tool: dict[str, Any]) -> dict[str, Any]:
    if tool.get("type") != "function":
        return tool
    return {
        "type": "function",
        "name": tool.get("name"),
        "description": tool.get("description"),
        "parameters": tool.get("parameters"),
        "strict": tool.get("strict", True),
    }


def _or(value: float | None, default: float) -> float:
    return default if value is None else value
