"""What the model says in one choice: prose, JSON, or function calls, cut into exactly N tokens.

Every API streams one content event per token, so the number of pieces is fixed
by the scenario (`output_tokens`), whatever the natural length of the text.
A `max_tokens`-style limit below that cuts the output short, as the API does
(finish reason `length`, JSON left unfinished).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Literal

from ..content import WORDS, books_json, split_evenly, write_replies
from ..schema_instance import instance_of
from ..wire import new_id
from .formats import TextFormat
from .tools import FunctionSpec

__all__ = ["Output", "ToolCall", "write_outputs"]

OutputKind = Literal["text", "json", "tool_calls"]


@dataclass(frozen=True)
class ToolCall:
    call_id: str
    name: str
    pieces: tuple[str, ...]  # the arguments' JSON text, one piece per token

    @property
    def arguments(self) -> str:
        return "".join(self.pieces)


@dataclass(frozen=True)
class Output:
    kind: OutputKind
    pieces: tuple[str, ...] = ()  # text or JSON content, one piece per token
    calls: tuple[ToolCall, ...] = ()
    truncated: bool = False  # cut short by the request's token limit
    _flat: tuple[tuple[int, str], ...] = field(default=(), repr=False)

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    @property
    def tokens(self) -> int:
        return len(self.pieces) if self.kind != "tool_calls" else sum(len(c.pieces) for c in self.calls)

    def token(self, index: int) -> tuple[int, str]:
        """Token `index` of the reply as (call index, piece); the call index is -1 for content."""
        if self.kind != "tool_calls":
            return -1, self.pieces[index]
        return self._flat[index]


def write_outputs(
    rng: random.Random,
    *,
    choices: int,
    tokens: int,
    limit: int | None,
    text_format: TextFormat | None,
    calls: list[FunctionSpec],
) -> list[Output]:
    """One output per choice, each `tokens` long, or `limit` if that is smaller."""
    if calls:
        outputs = [_tool_calls(rng, calls, tokens) for _ in range(choices)]
    elif text_format is not None and text_format.kind == "json_schema":
        outputs = [_json(instance_of(text_format.schema or {}, rng, WORDS), tokens) for _ in range(choices)]
    elif text_format is not None and text_format.kind == "json_object":
        outputs = [_json(books_json(rng), tokens) for _ in range(choices)]
    else:
        outputs = [Output("text", tuple(pieces)) for pieces in write_replies(rng, choices, tokens)]
    if limit is not None and limit < tokens:
        outputs = [_cut(output, limit) for output in outputs]
    return outputs


def _json(value: object, tokens: int) -> Output:
    return Output("json", tuple(split_evenly(_compact(value), tokens)))


def _compact(value: object) -> str:
    # As the API writes JSON content and arguments: no spaces after separators.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _tool_calls(rng: random.Random, functions: list[FunctionSpec], tokens: int) -> Output:
    # Every call needs at least one token of arguments.
    functions = functions[:tokens]
    share, surplus = divmod(tokens, len(functions))
    calls = []
    for index, spec in enumerate(functions):
        arguments = _compact(instance_of(spec.parameters or {"type": "object"}, rng, WORDS))
        count = share + (1 if index < surplus else 0)
        calls.append(ToolCall(new_id("call_", 24), spec.name, tuple(split_evenly(arguments, count))))
    return _with_flat(Output("tool_calls", calls=tuple(calls)))


def _with_flat(output: Output) -> Output:
    flat = tuple((index, piece) for index, call in enumerate(output.calls) for piece in call.pieces)
    return Output(output.kind, output.pieces, output.calls, output.truncated, flat)


def _cut(output: Output, limit: int) -> Output:
    if output.kind != "tool_calls":
        return Output(output.kind, output.pieces[:limit], truncated=True)
    calls, left = [], limit
    for call in output.calls:
        if left <= 0:
            break
        calls.append(ToolCall(call.call_id, call.name, call.pieces[:left]))
        left -= len(call.pieces)
    return _with_flat(Output("tool_calls", calls=tuple(calls), truncated=True))
