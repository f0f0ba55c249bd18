"""The legacy completions API (`POST /v1/completions`): `text_completion` bodies and chunks."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .. import params
from ..errors import InvalidRequest
from ..limits import MAX_CHOICES, MAX_EMBEDDING_INPUTS
from ..wire import DONE_EVENT, new_id, sse_event
from .common import check_sampling, estimate_tokens, max_tokens
from .output import Output
from .reply import Frame
from .usage import Usage

__all__ = ["CompletionChunks", "CompletionRequest", "parse_completion_request", "text_completion"]


@dataclass(frozen=True)
class CompletionRequest:
    model: str
    prompts: int
    n: int
    stream: bool
    include_usage: bool
    prompt_tokens: int
    max_tokens: int | None

    @property
    def choices(self) -> int:
        # The API answers every prompt n times: choice i*n + j is prompt i's j-th.
        return self.prompts * self.n


def parse_completion_request(payload: dict[str, Any]) -> CompletionRequest:
    model = params.model_name(payload)
    prompts, prompt_tokens = _prompts(payload.get("prompt", "<|endoftext|>"))
    n = params.optional_int(payload, "n", minimum=1, maximum=MAX_CHOICES) or 1
    best_of = params.optional_int(payload, "best_of", minimum=0, maximum=20)
    if best_of is not None and best_of < n:
        raise InvalidRequest("best_of must be greater than or equal to n.", param="best_of")
    params.optional_int(payload, "logprobs", minimum=0, maximum=5)
    params.optional_bool(payload, "echo", False)
    params.optional_str(payload, "suffix")
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
    limit = max_tokens(payload, "max_tokens")
    return CompletionRequest(model, prompts, n, stream, include_usage, prompt_tokens, limit)


def _prompts(prompt: Any) -> tuple[int, int]:
    """How many prompts, and their tokens: a string, strings, token ids, or lists of token ids."""
    if prompt is None:
        prompt = "<|endoftext|>"
    if isinstance(prompt, str):
        return 1, estimate_tokens(prompt)
    if not isinstance(prompt, list):
        raise params.wrong_type("prompt", "a string or an array", prompt)
    if not prompt:
        raise InvalidRequest(
            "Invalid 'prompt': empty array. Expected an array with minimum length 1, but got an empty array "
            "instead.",
            param="prompt",
            code="empty_array",
        )
    if len(prompt) > MAX_EMBEDDING_INPUTS:
        raise InvalidRequest(
            "Invalid 'prompt': array too long. Expected an array with maximum length "
            f"{MAX_EMBEDDING_INPUTS}, "
            f"but got an array with length {len(prompt)} instead.",
            param="prompt",
            code="array_above_max_length",
        )
    if all(_is_token(item) for item in prompt):
        return 1, len(prompt)
    if all(isinstance(item, str) for item in prompt):
        return len(prompt), sum(estimate_tokens(item) for item in prompt)
    if all(isinstance(item, list) and item and all(_is_token(t) for t in item) for item in prompt):
        return len(prompt), sum(len(item) for item in prompt)
    raise InvalidRequest(
        "Invalid 'prompt': expected a string, an array of strings, an array of integers, or an array of "
        "arrays of integers.",
        param="prompt",
        code="invalid_type",
    )


def _is_token(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _finish(output: Output) -> str:
    return "length" if output.truncated else "stop"


def new_completion_id() -> str:
    return new_id("cmpl-", 29)


def text_completion(
    *, model: str, outputs: Sequence[Output], usage: Usage, system_fingerprint: str
) -> dict[str, Any]:
    return {
        "id": new_completion_id(),
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"text": output.text, "index": index, "logprobs": None, "finish_reason": _finish(output)}
            for index, output in enumerate(outputs)
        ],
        "usage": usage,
        "system_fingerprint": system_fingerprint,
    }


class CompletionChunks:
    """One chunk per token and choice (choices interleaved), a finish chunk per choice, usage if asked,
    `[DONE]`. Unlike chat there is no role chunk: the first chunk already carries text."""

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
            "object": "text_completion",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": system_fingerprint,
        }
        self._outputs = outputs
        self._usage = usage
        self._include_usage = include_usage

    def preamble(self) -> list[bytes]:
        return []

    def round(self, token: int) -> list[Frame]:
        return [
            (self._chunk(index, output.pieces[token], None), True)
            for index, output in enumerate(self._outputs)
            if token < output.tokens
        ]

    def closing(self) -> list[bytes]:
        frames = [self._chunk(index, "", _finish(output)) for index, output in enumerate(self._outputs)]
        if self._include_usage:
            frames.append(sse_event({**self._header, "choices": [], "usage": self._usage}))
        return frames

    def _chunk(self, index: int, text: str, finish: str | None) -> bytes:
        choice = {"text": text, "index": index, "logprobs": None, "finish_reason": finish}
        # Unlike chat chunks, no `"usage": null` on the way: the spec types a completion's usage
        # as an object, so it appears on the last chunk alone.
        return sse_event({**self._header, "choices": [choice]})
