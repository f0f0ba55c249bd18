"""What ``POST /chat`` accepts: the Chat Completions API's own message shapes, and nothing it refuses.

A message is one of the API's: ``system``/``developer`` (text or text parts),
``user`` (text, or parts: text, image_url, input_audio, file), ``assistant``
(text, text/refusal parts, or ``null`` content with ``tool_calls``), ``tool``
(with its ``tool_call_id``) and the deprecated ``function``. Unknown roles, keys
or part types, wrong types, an empty part list, and text that cannot be sent
(a lone surrogate such as ``"\\ud800"``, which JSON can spell but UTF-8 cannot)
are the caller's mistake: :class:`BadRequest`, a 400 naming the problem, never an
upstream failure.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MAX_MESSAGES", "BadRequest", "ChatInput", "parse_chat_input"]

MAX_MESSAGES = 100
DEFAULT_MODEL = "gpt-3.5-turbo"

_TEXT_PARTS = frozenset({"text"})
_PARTS_BY_ROLE: dict[str, frozenset[str]] = {
    "system": _TEXT_PARTS,
    "developer": _TEXT_PARTS,
    "user": frozenset({"text", "image_url", "input_audio", "file"}),
    "assistant": frozenset({"text", "refusal"}),
    "tool": _TEXT_PARTS,
}
_KEYS_BY_ROLE: dict[str, frozenset[str]] = {
    "system": frozenset({"role", "content", "name"}),
    "developer": frozenset({"role", "content", "name"}),
    "user": frozenset({"role", "content", "name"}),
    "assistant": frozenset({"role", "content", "name", "tool_calls", "refusal", "function_call", "audio"}),
    "tool": frozenset({"role", "content", "tool_call_id"}),
    "function": frozenset({"role", "content", "name"}),
}
# The fields of each content part type, with the type each must have ("str", "dict").
_PART_FIELDS: dict[str, dict[str, str]] = {
    "text": {"text": "str"},
    "refusal": {"refusal": "str"},
    "image_url": {"image_url": "dict"},
    "input_audio": {"input_audio": "dict"},
    "file": {"file": "dict"},
}


class BadRequest(ValueError):
    """The client's request cannot be served as sent (the message is safe to return)."""


class ChatInput:
    __slots__ = ("messages", "model", "stream")

    def __init__(self, messages: list[dict[str, Any]], model: str, stream: bool) -> None:
        self.messages = messages
        self.model = model
        self.stream = stream


def _sendable(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{where} must be a string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"{where} is not valid Unicode text (a lone surrogate?)") from None
    return value


def _check_strings(value: Any, where: str) -> None:
    """Every string inside a nested value (an image part's object, say) must be sendable."""
    if isinstance(value, str):
        _sendable(value, where)
    elif isinstance(value, dict):
        for key, item in value.items():
            _sendable(key, f"{where} key")
            _check_strings(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_strings(item, f"{where}[{index}]")


def _part(part: Any, role: str, where: str) -> None:
    if not isinstance(part, dict):
        raise BadRequest(f"{where} must be an object")
    kind = part.get("type")
    if not isinstance(kind, str) or kind not in _PARTS_BY_ROLE[role]:
        allowed = ", ".join(sorted(_PARTS_BY_ROLE[role]))
        raise BadRequest(f"{where}.type must be one of {allowed} for a {role} message")
    fields = _PART_FIELDS[kind]
    for key in part:
        if key != "type" and key not in fields:
            raise BadRequest(f"{where} has an unknown field {key!r}")
    for key, expected in fields.items():
        value = part.get(key)
        if expected == "str":
            _sendable(value, f"{where}.{key}")
        elif not isinstance(value, dict):
            raise BadRequest(f"{where}.{key} must be an object")
        else:
            _check_strings(value, f"{where}.{key}")


def _content(message: dict[str, Any], role: str, where: str) -> None:
    content = message.get("content")
    if content is None:
        if role == "assistant" and (message.get("tool_calls") or message.get("function_call")):
            return
        if role == "function" and "content" in message:
            return
        raise BadRequest(f"{where}.content is required (null only for an assistant message with tool_calls)")
    if isinstance(content, str):
        _sendable(content, f"{where}.content")
        return
    if role == "function" or not isinstance(content, list):
        raise BadRequest(f"{where}.content must be a string or a list of content parts")
    if not content:
        raise BadRequest(f"{where}.content must not be an empty list")
    for index, part in enumerate(content):
        _part(part, role, f"{where}.content[{index}]")


def _tool_calls(calls: Any, where: str) -> None:
    if not isinstance(calls, list) or not calls:
        raise BadRequest(f"{where}.tool_calls must be a non-empty list")
    for index, call in enumerate(calls):
        at = f"{where}.tool_calls[{index}]"
        if not isinstance(call, dict) or set(call) - {"id", "type", "function"}:
            raise BadRequest(f"{at} must be an object with id, type and function")
        _sendable(call.get("id"), f"{at}.id")
        if call.get("type") != "function":
            raise BadRequest(f"{at}.type must be 'function'")
        function = call.get("function")
        if not isinstance(function, dict) or set(function) - {"name", "arguments"}:
            raise BadRequest(f"{at}.function must be an object with name and arguments")
        _sendable(function.get("name"), f"{at}.function.name")
        _sendable(function.get("arguments"), f"{at}.function.arguments")


def _message(message: Any, index: int) -> dict[str, Any]:
    where = f"messages[{index}]"
    if not isinstance(message, dict):
        raise BadRequest(f"{where} must be an object with a known 'role'")
    role = message.get("role")
    if not isinstance(role, str) or role not in _KEYS_BY_ROLE:
        raise BadRequest(f"{where} must be an object with a known 'role' ({', '.join(_KEYS_BY_ROLE)})")
    unknown = set(message) - _KEYS_BY_ROLE[role]
    if unknown:
        raise BadRequest(
            f"{where} has an unknown field {sorted(map(str, unknown))[0]!r} for a {role} message"
        )
    _content(message, role, where)
    if "name" in message or role == "function":
        _sendable(message.get("name"), f"{where}.name")
    if role == "tool":
        _sendable(message.get("tool_call_id"), f"{where}.tool_call_id")
    if "tool_calls" in message:
        _tool_calls(message["tool_calls"], where)
    if message.get("refusal") is not None:
        _sendable(message["refusal"], f"{where}.refusal")
    for key in ("function_call", "audio"):
        if key in message and message[key] is not None:
            if not isinstance(message[key], dict):
                raise BadRequest(f"{where}.{key} must be an object")
            _check_strings(message[key], f"{where}.{key}")
    return message


def parse_chat_input(body: Any, default_model: str = DEFAULT_MODEL) -> ChatInput:
    """The messages, model and stream flag of a ``/chat`` body, or :class:`BadRequest`."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    model = body.get("model", default_model)
    if not isinstance(model, str) or not model:
        raise BadRequest("'model' must be a non-empty string")
    _sendable(model, "'model'")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise BadRequest("'stream' must be true or false")
    if "messages" in body:
        messages = body["messages"]
        if not isinstance(messages, list) or not messages or len(messages) > MAX_MESSAGES:
            raise BadRequest(f"'messages' must be a list of 1 to {MAX_MESSAGES} messages")
        return ChatInput([_message(m, i) for i, m in enumerate(messages)], model, stream)
    if "prompt" in body:
        prompt = body["prompt"]
        if not isinstance(prompt, str) or not prompt.strip():
            raise BadRequest("'prompt' must be a non-empty string")
        _sendable(prompt, "'prompt'")
        return ChatInput([{"role": "user", "content": prompt}], model, stream)
    raise BadRequest("the body needs 'messages' (OpenAI chat format) or 'prompt'")
