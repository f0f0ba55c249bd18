"""A chat completion, as one `chat.completion` body or a stream of `chat.completion.chunk` events."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ..wire import DONE_EVENT, new_id, sse_event
from .output import Output
from .reply import Frame
from .usage import Usage

__all__ = ["ChatChunks", "chat_completion", "finish_reason", "new_completion_id"]


def new_completion_id() -> str:
    return new_id("chatcmpl-", 29)


def finish_reason(output: Output) -> str:
    if output.truncated:
        return "length"
    return "tool_calls" if output.kind == "tool_calls" else "stop"


def chat_completion(
    *, model: str, outputs: Sequence[Output], usage: Usage, system_fingerprint: str
) -> dict[str, Any]:
    return {
        "id": new_completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": index,
                "message": _message(output),
                "logprobs": None,
                "finish_reason": finish_reason(output),
            }
            for index, output in enumerate(outputs)
        ],
        "usage": usage,
        "service_tier": "default",
        "system_fingerprint": system_fingerprint,
    }


def _message(output: Output) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": output.text if output.kind != "tool_calls" else None,
        "refusal": None,
        "annotations": [],
    }
    if output.kind == "tool_calls":
        message["tool_calls"] = [
            {
                "id": call.call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in output.calls
        ]
    return message


class ChatChunks:
    """The stream script of one chat completion: every chunk shares id, created and model.

    Text: a role chunk per choice, one content chunk per token and choice (choices
    interleaved), a finish chunk per choice, the usage chunk if asked for, `[DONE]`.
    Tool calls: the role chunk carries the first call's id and name; each later call's
    first argument chunk comes after a chunk with its id and name; argument chunks
    are the content.
    """

    terminator = DONE_EVENT

    def __init__(
        self,
        *,
        model: str,
        outputs: Sequence[Output],
        usage: Usage,
        system_fingerprint: str,
        include_usage: bool,
    ) -> None:
        self._header: dict[str, Any] = {
            "id": new_completion_id(),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "service_tier": "default",
            "system_fingerprint": system_fingerprint,
        }
        self._outputs = outputs
        self._usage = usage
        self._include_usage = include_usage

    def preamble(self) -> list[bytes]:
        frames = []
        for index, output in enumerate(self._outputs):
            if output.kind == "tool_calls":
                delta: dict[str, Any] = {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [_call_start(output, 0)],
                }
            else:
                delta = {"role": "assistant", "content": ""}
            frames.append(self._chunk(index, delta, None))
        return frames

    def round(self, token: int) -> list[Frame]:
        frames: list[Frame] = []
        for index, output in enumerate(self._outputs):
            if token >= output.tokens:
                continue
            call, piece = output.token(token)
            if call < 0:
                frames.append((self._chunk(index, {"content": piece}, None), True))
                continue
            if call > 0 and output.token(token - 1)[0] != call:
                frames.append((self._chunk(index, {"tool_calls": [_call_start(output, call)]}, None), False))
            delta = {"tool_calls": [{"index": call, "function": {"arguments": piece}}]}
            frames.append((self._chunk(index, delta, None), True))
        return frames

    def closing(self) -> list[bytes]:
        frames = [self._chunk(index, {}, finish_reason(output)) for index, output in enumerate(self._outputs)]
        if self._include_usage:
            frames.append(sse_event({**self._header, "choices": [], "usage": self._usage}))
        return frames

    def _chunk(self, index: int, delta: dict[str, Any], finish: str | None) -> bytes:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
        body: dict[str, Any] = {**self._header, "choices": [choice]}
        if self._include_usage:
            # The API announces the usage field on every chunk and fills it only on the last one.
            body["usage"] = None
        return sse_event(body)


def _call_start(output: Output, call: int) -> dict[str, Any]:
    tool_call = output.calls[call]
    return {
        "index": call,
        "id": tool_call.call_id,
        "type": "function",
        "function": {"name": tool_call.name, "arguments": ""},
    }
