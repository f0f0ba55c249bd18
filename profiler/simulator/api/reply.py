"""What an endpoint hands the generic request flow: how long to wait and what to send.

The flow (`endpoint.py`) owns timing and faults; an API only says what its
answer is, as a JSON body or as a stream script: frames before the first token,
one round of frames per token (some of them content events, which ground truth
times), frames after the last token, and the stream's terminator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

__all__ = ["Answer", "Frame", "Script", "Wait"]

# One SSE frame and whether it carries content (a token the client shows).
Frame = tuple[bytes, bool]
# `generate`: the scenario's generation time (ttft, then tokens); `lookup`: one ttft-long wait;
# `none`: answer at once (a background response's acknowledgement).
Wait = Literal["generate", "lookup", "none"]


class Script(Protocol):
    """A stream, produced lazily so that a long one is never held in memory whole."""

    terminator: bytes

    def preamble(self) -> list[bytes]: ...

    def round(self, index: int) -> list[Frame]: ...

    def closing(self) -> list[bytes]: ...


@dataclass
class Answer:
    """One request's answer, for the flow to deliver (or break) as the fault plan says."""

    api: str
    wait: Wait
    tokens: int  # token rounds, i.e. content tokens per choice
    body: Callable[[], Any]  # the plain JSON body, built when it is sent
    script: Callable[[], Script] | None = None  # set for a streamed answer
    model: str | None = None
    n: int | None = None
    usage_tokens: int = 0  # what the rate-limit headers charge
    content_kind: str | None = None  # text, json, tool_calls: what the timed content events carry
    status: int = 200
    # Called once a 200 answer has started to go out: a response exists from then on (and is stored).
    on_delivered: Callable[[], None] | None = None
    # A background response's planned generation time; the acknowledgement itself waits for nothing.
    background_ms: float | None = None

    @property
    def stream(self) -> bool:
        return self.script is not None
