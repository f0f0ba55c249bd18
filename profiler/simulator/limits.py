"""Every bound the simulator enforces, in one place, so docs and tests quote the same figures.

Requests: the API's own ranges where it has them (n, temperature, top_p, the
Responses API's 16-token floor on max_output_tokens). Everything else bounds
the work one request or one scenario can ask of a server that shares a
machine with the program it measures.
"""

from __future__ import annotations

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_CHOICES",
    "MAX_EMBEDDING_DIMENSIONS",
    "MAX_EMBEDDING_INPUTS",
    "MAX_JSON_DEPTH",
    "MAX_OUTPUT_TOKENS",
    "MAX_PARALLEL_TOOL_CALLS",
    "MAX_REPLY_MS",
    "MAX_REQUEST_TOKENS",
    "MAX_SCHEMA_DEPTH",
    "MAX_STORED_RESPONSES",
    "MAX_TOKENS_PARAM",
    "MIN_MAX_OUTPUT_TOKENS",
]

# A request body larger than this is refused (400) after it has been read and discarded.
# Large enough for a long conversation or a few images sent as base64 data URLs.
MAX_BODY_BYTES = 8 * 1024 * 1024
# Arrays and objects nested deeper than this are refused before Python's parser sees them:
# json.loads would otherwise raise RecursionError on a body such as 100,000 `[`.
MAX_JSON_DEPTH = 128
# `n` on chat and legacy completions, as the API bounds it.
MAX_CHOICES = 128
# The largest max_tokens / max_completion_tokens / max_output_tokens accepted.
MAX_TOKENS_PARAM = 1_000_000
# The Responses API refuses a smaller max_output_tokens.
MIN_MAX_OUTPUT_TOKENS = 16
# Content tokens per choice a scenario may ask for.
MAX_OUTPUT_TOKENS = 100_000
# Content tokens one request may cost in all (choices × tokens per choice).
MAX_REQUEST_TOKENS = 1_000_000
# The longest reply a scenario may plan, `ttft_ms + output_tokens × token_ms`: the SDK's default timeout.
MAX_REPLY_MS = 600_000.0
# How many calls a reply makes when parallel tool calls are allowed and several tools are offered.
MAX_PARALLEL_TOOL_CALLS = 3
# The API takes at most 2048 inputs per embeddings request; text-embedding-3-large has 3072 dimensions.
MAX_EMBEDDING_INPUTS = 2048
MAX_EMBEDDING_DIMENSIONS = 3072
# Past this depth a generated JSON instance takes the shortest way out ($ref cycles, deep schemas).
MAX_SCHEMA_DEPTH = 12
# Responses kept for GET /v1/responses/{id} and previous_response_id, least recently used dropped first.
MAX_STORED_RESPONSES = 4096
