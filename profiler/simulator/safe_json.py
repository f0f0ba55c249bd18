"""Parsing untrusted JSON without letting it cost a RecursionError, a NaN or a lone surrogate.

Python's json module recurses once per nesting level and raises RecursionError
on input such as 100,000 `[`; it also accepts `NaN` and `Infinity`, and turns
`"\\ud800"` into a str that cannot be encoded again. Strict JSON parsers (the
API's among them) refuse all three, so this one does too, each with a message
saying which.
"""

from __future__ import annotations

import json
import re
import sys
from itertools import accumulate
from typing import Any

__all__ = ["JSONRejected", "loads"]

# A JSON string literal, used to blank strings out before counting brackets so
# that `"[[["` inside a string is not mistaken for nesting. An unterminated string
# runs to the end of the text: were it allowed to fail, the engine would retry
# from every later quote, which is quadratic on input such as `"\"\"\"…`.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# Only an escape can put a surrogate in a parsed string: strict UTF-8 decoding refuses encoded ones.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class JSONRejected(ValueError):
    """The text is not JSON we accept; `reason` is one of the strings below, `str()` says why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def loads(data: bytes | str, *, max_depth: int) -> Any:
    """Parse `data` as strict JSON, refusing nesting deeper than `max_depth`.

    Raises JSONRejected with `reason` `encoding` (not UTF-8), `syntax` (including a
    number with more digits than Python converts), `depth`,
    `constant` (NaN, Infinity) or `surrogate` (an unpaired \\uD800-\\uDFFF escape).
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONRejected("encoding", f"not UTF-8 text (byte {exc.start})") from None
    else:
        text = data
    depth = nesting_depth(text)
    if depth > max_depth:
        raise JSONRejected("depth", f"nested {depth} levels deep, more than the {max_depth} allowed")
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except JSONRejected:
        raise
    except json.JSONDecodeError as exc:
        raise JSONRejected(
            "syntax", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except ValueError:
        # int() refuses more than sys.get_int_max_str_digits() digits (4300 by default).
        limit = sys.get_int_max_str_digits()
        raise JSONRejected("syntax", f"invalid JSON: a number has more than {limit} digits") from None
    except RecursionError:  # pragma: no cover - nesting_depth bounds the recursion; kept as a last guard
        raise JSONRejected("depth", "nested too deeply") from None
    if _SURROGATE_ESCAPE.search(text) and _holds_surrogate(value):
        raise JSONRejected("surrogate", "a string holds an unpaired UTF-16 surrogate escape")
    return value


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text`, counted without recursion.

    Strings are blanked out first and everything but brackets dropped, both by
    the regex engine; only the brackets themselves are stepped through. Unbalanced
    text gets some number back: the parser that runs next rejects it anyway.
    """
    brackets = _NOT_A_BRACKET.sub("", _STRING.sub('""', text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _refuse_constant(name: str) -> Any:
    raise JSONRejected("constant", f"{name} is not a JSON number")


def _holds_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
