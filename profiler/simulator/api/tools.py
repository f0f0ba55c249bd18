"""Which functions a reply calls, read from `tools`, `tool_choice` and `parallel_tool_calls`.

Chat nests a function under `function` (`{"type": "function", "function": {"name", "parameters"}}`),
the Responses API does not (`{"type": "function", "name", "parameters"}`); both are read here.

The rule: with function tools offered and `tool_choice` not `none`, the reply calls
them, unless `tool_choice` is `auto` and the conversation already holds tool
results after its last user message, in which case it answers in text (so an
agent loop ends). `required` and a named function always call. With parallel
tool calls (the default) a reply calls each offered function, up to
MAX_PARALLEL_TOOL_CALLS; without, only the first (or the named one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .. import params
from ..errors import InvalidRequest
from ..limits import MAX_PARALLEL_TOOL_CALLS

__all__ = ["FunctionSpec", "ToolRequest", "read_tools"]

_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    parameters: dict[str, Any] | None
    description: str | None = None
    strict: bool | None = None


@dataclass(frozen=True)
class ToolRequest:
    functions: tuple[FunctionSpec, ...]
    # "none", "auto", "required", or the name of the one function to call.
    choice: str
    named: bool
    parallel: bool

    def calls(self, *, has_results: bool) -> list[FunctionSpec]:
        """The functions to call, in order; empty means answer in text."""
        if not self.functions or self.choice == "none":
            return []
        if self.named:
            return [spec for spec in self.functions if spec.name == self.choice][:1]
        if self.choice == "auto" and has_results:
            return []
        return list(self.functions[: MAX_PARALLEL_TOOL_CALLS if self.parallel else 1])


def read_tools(payload: dict[str, Any], *, nested: bool) -> tuple[ToolRequest | None, list[Any]]:
    """The tool request (None without function tools) and the `tools` list as sent, to echo."""
    tools = params.optional_list(payload, "tools") or []
    functions: list[FunctionSpec] = []
    for index, tool in enumerate(tools):
        where = f"tools[{index}]"
        if not isinstance(tool, dict):
            raise params.wrong_type(where, "an object", tool)
        kind = tool.get("type")
        if not isinstance(kind, str):
            raise (
                params.missing(f"{where}.type")
                if kind is None
                else params.wrong_type(f"{where}.type", "a string", kind)
            )
        if kind != "function":
            continue  # built-in and custom tools: accepted, never called
        spec = tool
        if nested:
            spec = tool.get("function")
            where = f"{where}.function"
            if spec is None:
                raise params.missing(where)
            if not isinstance(spec, dict):
                raise params.wrong_type(where, "an object", spec)
        functions.append(_function(spec, where))
    parallel = params.optional_bool(payload, "parallel_tool_calls", True)
    choice, named = _choice(payload.get("tool_choice"), functions, nested=nested, any_tools=bool(tools))
    if not functions:
        return None, tools
    return ToolRequest(tuple(functions), choice, named, parallel), tools


def _function(spec: dict[str, Any], where: str) -> FunctionSpec:
    name = spec.get("name")
    if name is None:
        raise params.missing(f"{where}.name")
    if not isinstance(name, str):
        raise params.wrong_type(f"{where}.name", "a string", name)
    if not _NAME.fullmatch(name):
        raise InvalidRequest(
            f"Invalid '{where}.name': string does not match pattern. "
            "Expected a string that matches the pattern '^[a-zA-Z0-9_-]{1,64}$'.",
            param=f"{where}.name",
            code="invalid_value",
        )
    parameters = params.optional_object(spec, "parameters", param=f"{where}.parameters")
    description = params.optional_str(spec, "description", param=f"{where}.description")
    strict = params.optional_bool(spec, "strict", False) if spec.get("strict") is not None else None
    return FunctionSpec(name, parameters, description, strict)


def _choice(value: Any, functions: list[FunctionSpec], *, nested: bool, any_tools: bool) -> tuple[str, bool]:
    if value is None:
        return ("auto" if functions else "none"), False
    if not any_tools:
        raise InvalidRequest(
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
            param="tool_choice",
            code="invalid_value",
        )
    if isinstance(value, str):
        if value not in ("none", "auto", "required"):
            raise InvalidRequest(
                f"Invalid value: '{value}'. Supported values are: 'none', 'auto', and 'required'.",
                param="tool_choice",
                code="invalid_value",
            )
        return value, False
    if not isinstance(value, dict):
        raise params.wrong_type("tool_choice", "a string or an object", value)
    if value.get("type") != "function":
        return "auto", False  # a built-in tool choice: nothing here to call
    holder = value.get("function") if nested else value
    name = holder.get("name") if isinstance(holder, dict) else None
    if not isinstance(name, str):
        raise params.missing("tool_choice.function.name" if nested else "tool_choice.name")
    if name not in {spec.name for spec in functions}:
        raise InvalidRequest(
            f"Invalid value for 'tool_choice': no function named '{name}' "
            "was specified in the 'tools' parameter.",
            param="tool_choice",
            code="invalid_value",
        )
    return name, True
