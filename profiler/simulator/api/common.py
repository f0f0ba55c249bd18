"""Request checks and estimates that chat, legacy completions and the Responses API share."""

from __future__ import annotations

from typing import Any

from .. import params
from ..errors import InvalidRequest
from ..limits import MAX_REQUEST_TOKENS, MAX_TOKENS_PARAM

__all__ = ["check_sampling", "estimate_tokens", "max_tokens", "planned_tokens", "texts_of"]


def check_sampling(payload: dict[str, Any]) -> None:
    """temperature in [0, 2], top_p in [0, 1], the penalties in [-2, 2], as the API bounds them."""
    params.optional_number(payload, "temperature", minimum=0.0, maximum=2.0)
    params.optional_number(payload, "top_p", minimum=0.0, maximum=1.0)
    for name in ("presence_penalty", "frequency_penalty"):
        params.optional_number(payload, name, minimum=-2.0, maximum=2.0)


def max_tokens(payload: dict[str, Any], *names: str, minimum: int = 1) -> int | None:
    """The smallest of the token limits given under any of `names`, each checked."""
    limits = []
    for name in names:
        value = params.optional_int(payload, name, minimum=minimum)
        if value is not None and value > MAX_TOKENS_PARAM:
            raise InvalidRequest(
                f"{name} is too large: {value}. This model supports at most {MAX_TOKENS_PARAM} "
                f"completion tokens, whereas you provided {value}.",
                param=name,
                code="invalid_value",
            )
        if value is not None:
            limits.append(value)
    return min(limits) if limits else None


def planned_tokens(scenario_tokens: int, limit: int | None, choices: int) -> int:
    """Tokens per choice the reply will have; refuses a request that would cost absurdly many."""
    tokens = scenario_tokens if limit is None else min(scenario_tokens, limit)
    if tokens * choices > MAX_REQUEST_TOKENS:
        raise InvalidRequest(
            f"This request asks for {tokens * choices} output tokens ({choices} choices × {tokens}); "
            f"the simulator generates at most {MAX_REQUEST_TOKENS} per request.",
            param="n",
            code="invalid_value",
        )
    return tokens


def estimate_tokens(text: str) -> int:
    """About four characters a token."""
    return (len(text) + 3) // 4


def texts_of(content: Any) -> list[str]:
    """The text in a message's content: a string, or a list of parts with `text`."""
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [
            part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)
        ]
    return []
