"""Token usage objects, in the two shapes the APIs report them."""

from __future__ import annotations

from typing import Any

__all__ = ["Usage", "completion_usage", "responses_usage"]

Usage = dict[str, Any]


def completion_usage(prompt_tokens: int, completion_tokens: int, *, details: bool = True) -> Usage:
    """Chat and legacy completions: prompt/completion/total, chat with its token details."""
    usage: Usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if details:
        usage["prompt_tokens_details"] = {"cached_tokens": 0, "audio_tokens": 0}
        usage["completion_tokens_details"] = {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        }
    return usage


def responses_usage(input_tokens: int, output_tokens: int) -> Usage:
    """The Responses API: input/output/total with their details."""
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }
