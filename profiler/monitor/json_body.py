"""A request body as JSON, or a reason it is not one that the caller can be told (a 400, never a 500).

``json.loads`` recurses once per nesting level: a small body of 100,000 ``[``
raises RecursionError, and even a few hundred levels that parse can make later
code (validation, the SDK's encoder) recurse too deep. So the nesting is measured
before parsing, on the raw text with its strings taken out, and refused past
`MAX_DEPTH` (the Chat Completions API's bodies need a handful of levels). The text
must be UTF-8; ``NaN`` and ``Infinity`` are refused, as the API refuses them.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["MAX_DEPTH", "BadJson", "parse_json_body"]

MAX_DEPTH = 64
# A JSON string (escapes included), and the brackets outside strings.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


class BadJson(ValueError):
    """Not a JSON body we accept; the message is safe to return."""


def _refuse_constant(name: str) -> Any:
    raise BadJson(f"{name} is not valid JSON")


def nesting_depth(text: str) -> int:
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def parse_json_body(body: bytes) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadJson("the body is not UTF-8 text") from None
    if nesting_depth(text) > MAX_DEPTH:
        raise BadJson(f"the JSON is nested more than {MAX_DEPTH} levels deep")
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except BadJson:
        raise
    except (ValueError, RecursionError):
        raise BadJson("the body is not valid JSON") from None
