"""Which operation an HTTP request of the SDK is: ``gen_ai.operation.name`` and the API it calls.

Known APIs get their GenAI names (the Responses API is ``chat`` with api
``responses``); any other request is recorded generically by method and path,
with ids in the path replaced by ``{id}`` so a metric label never holds one.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_KNOWN: dict[tuple[str, str], tuple[str, str]] = {
    ("POST", "/chat/completions"): ("chat", "chat.completions"),
    ("POST", "/responses"): ("chat", "responses"),
    ("POST", "/completions"): ("text_completion", "completions"),
    ("POST", "/embeddings"): ("embeddings", "embeddings"),
}
# A path segment that names one object rather than a collection: it has a digit in it
# (resp_68ab…, file-abc123, gpt-4o) and is not one of the API's own words.
_ID_SEGMENT = re.compile(r"^(?=.*\d)[A-Za-z0-9._:-]+$")
_API_WORDS = frozenset({"v1", "v2"})


def normalise_path(url: str, base_path: str = "") -> str:
    """The API path of a request: no scheme, host, query or base path; ids as ``{id}``."""
    path = urlsplit(url).path if "://" in url else url.split("?", 1)[0]
    base = base_path.rstrip("/")
    if base and path.startswith(base + "/"):
        path = path[len(base) :]
    segments = [s for s in path.split("/") if s]
    return "/" + "/".join("{id}" if _ID_SEGMENT.match(s) and s not in _API_WORDS else s for s in segments)


def operation_of(method: str, path: str) -> tuple[str, str]:
    """``(operation, api)`` for a normalised path, e.g. ``("chat", "chat.completions")``."""
    method = method.upper()
    known = _KNOWN.get((method, path))
    if known is not None:
        return known
    first = path.strip("/").split("/", 1)[0] or "request"
    return first, f"{method} {path}"
