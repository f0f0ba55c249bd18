"""A Responses API answer: the `response` object and its stream of typed, numbered events.

Text: `response.created`, `response.in_progress`, `response.output_item.added`,
`response.content_part.added`, one `response.output_text.delta` per token,
`response.output_text.done`, `response.content_part.done`,
`response.output_item.done`, `response.completed` (`response.incomplete` when
max_output_tokens cut it short). Function calls: per call an
`output_item.added`, one `response.function_call_arguments.delta` per token, the
`.done` event and `output_item.done`. Every event carries its `sequence_number`
and travels under an `event:` line naming its type. No `[DONE]` follows.
"""

from __future__ import annotations

import time
from typing import Any

from ..wire import new_id, sse_event
from .output import Output
from .reply import Frame
from .responses_request import ResponsesRequest
from .usage import Usage, responses_usage

__all__ = ["ResponseEvents", "ResponseObject"]


class ResponseObject:
    """One response's identity and every state of its object (queued, in progress, final)."""

    def __init__(self, request: ResponsesRequest, output: Output) -> None:
        self.request = request
        self.output = output
        self.id = new_id("resp_", 48, hex_only=True)
        self.created_at = int(time.time())
        # Item ids are fixed up front: every event about an item must name the same id.
        if output.kind == "tool_calls":
            self.item_ids = [new_id("fc_", 48, hex_only=True) for _ in output.calls]
        else:
            self.item_ids = [new_id("msg_", 48, hex_only=True)]
        self.usage: Usage = responses_usage(request.input_tokens, output.tokens)

    @property
    def final_status(self) -> str:
        return "incomplete" if self.output.truncated else "completed"

    def snapshot(self, status: str) -> dict[str, Any]:
        """The object as a given moment sees it: no output and no usage until it is done."""
        done = status in ("completed", "incomplete")
        snapshot: dict[str, Any] = {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "background": self.request.background,
            "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
            "instructions": self.request.echo["instructions"],
            "max_output_tokens": self.request.echo["max_output_tokens"],
            "max_tool_calls": None,
            "model": self.request.model,
            "output": self.items() if done else [],
            "parallel_tool_calls": self.request.echo["parallel_tool_calls"],
            "previous_response_id": self.request.echo["previous_response_id"],
            "reasoning": {"effort": None, "summary": None},
            "service_tier": "default",
            "temperature": self.request.echo["temperature"],
            "text": self.request.echo["text"],
            "tool_choice": self.request.echo["tool_choice"],
            "tools": self.request.echo["tools"],
            "top_logprobs": 0,
            "top_p": self.request.echo["top_p"],
            "truncation": "disabled",
            "metadata": self.request.echo["metadata"],
        }
        # The spec types these as an object and a string, not nullable: absent until there is one.
        if done:
            snapshot["usage"] = self.usage
        if self.request.echo["user"] is not None:
            snapshot["user"] = self.request.echo["user"]
        return snapshot

    def final(self) -> dict[str, Any]:
        return self.snapshot(self.final_status)

    def items(self, status: str | None = None) -> list[dict[str, Any]]:
        status = status or ("incomplete" if self.output.truncated else "completed")
        if self.output.kind == "tool_calls":
            return [self.call_item(index, status) for index in range(len(self.output.calls))]
        return [self.message_item(status, self.output.text)]

    def message_item(self, status: str, text: str | None) -> dict[str, Any]:
        content = [] if text is None else [_text_part(text)]
        return {
            "id": self.item_ids[0],
            "type": "message",
            "status": status,
            "role": "assistant",
            "content": content,
        }

    def call_item(self, index: int, status: str, arguments: str | None = None) -> dict[str, Any]:
        call = self.output.calls[index]
        return {
            "id": self.item_ids[index],
            "type": "function_call",
            "status": status,
            "arguments": call.arguments if arguments is None else arguments,
            "call_id": call.call_id,
            "name": call.name,
        }


class ResponseEvents:
    """The stream script; sequence numbers count the events in the order they are built."""

    terminator = b""

    def __init__(self, response: ResponseObject) -> None:
        self.response = response
        self.output = response.output
        self._sequence = 0

    def preamble(self) -> list[bytes]:
        frames = [
            self._event("response.created", response=self.response.snapshot("in_progress")),
            self._event("response.in_progress", response=self.response.snapshot("in_progress")),
        ]
        if self.output.kind == "tool_calls":
            return frames + self._call_added(0)
        item_id = self.response.item_ids[0]
        return [
            *frames,
            self._event(
                "response.output_item.added",
                output_index=0,
                item=self.response.message_item("in_progress", None),
            ),
            self._event(
                "response.content_part.added",
                item_id=item_id,
                output_index=0,
                content_index=0,
                part=_text_part(""),
            ),
        ]

    def round(self, index: int) -> list[Frame]:
        call, piece = self.output.token(index)
        if call < 0:
            delta = self._event(
                "response.output_text.delta",
                item_id=self.response.item_ids[0],
                output_index=0,
                content_index=0,
                delta=piece,
                logprobs=[],
            )
            return [(delta, True)]
        frames: list[Frame] = []
        if call > 0 and self.output.token(index - 1)[0] != call:
            frames += [(frame, False) for frame in self._call_done(call - 1) + self._call_added(call)]
        delta = self._event(
            "response.function_call_arguments.delta",
            item_id=self.response.item_ids[call],
            output_index=call,
            delta=piece,
        )
        return [*frames, (delta, True)]

    def closing(self) -> list[bytes]:
        final = self.response.final()
        ending = "response.incomplete" if self.output.truncated else "response.completed"
        if self.output.kind == "tool_calls":
            return [*self._call_done(len(self.output.calls) - 1), self._event(ending, response=final)]
        item_id = self.response.item_ids[0]
        text = self.output.text
        status = self.response.final_status
        return [
            self._event(
                "response.output_text.done",
                item_id=item_id,
                output_index=0,
                content_index=0,
                text=text,
                logprobs=[],
            ),
            self._event(
                "response.content_part.done",
                item_id=item_id,
                output_index=0,
                content_index=0,
                part=_text_part(text),
            ),
            self._event(
                "response.output_item.done", output_index=0, item=self.response.message_item(status, text)
            ),
            self._event(ending, response=final),
        ]

    def _call_added(self, call: int) -> list[bytes]:
        item = self.response.call_item(call, "in_progress", arguments="")
        return [self._event("response.output_item.added", output_index=call, item=item)]

    def _call_done(self, call: int) -> list[bytes]:
        item = self.response.call_item(call, self.response.final_status)
        return [
            self._event(
                "response.function_call_arguments.done",
                item_id=self.response.item_ids[call],
                output_index=call,
                name=item["name"],
                arguments=item["arguments"],
            ),
            self._event("response.output_item.done", output_index=call, item=item),
        ]

    def _event(self, kind: str, **fields: Any) -> bytes:
        frame = sse_event({"type": kind, "sequence_number": self._sequence, **fields}, event=kind)
        self._sequence += 1
        return frame


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
