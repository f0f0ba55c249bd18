"""`LogglyHandler`: records to Loggly's HTTP/S bulk endpoint, newline-separated, one event per line.

Loggly documents at most 1 MB an event and 5 MB a batch; the limits here are
the decimal 1,000,000 and 5,000,000 bytes, the safe reading of "MB".

Loggly's other endpoint, ``/inputs/<token>/tag/<tags>``, takes one event per
request; it is the URL loggly-python-handler's ``HTTPSHandler(url, "POST")`` is
given. Such a URL is accepted as it is written and sent to the same host's
``/bulk/<token>/tag/<tags>/``: the same token and tags, one request per batch
instead of one per record. `HTTPSHandler` takes that handler's arguments, so an
app written for it changes one import.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from typing import Unpack
from urllib.parse import urlsplit, urlunsplit

from ._format import is_json_formatter
from .base import BadDestination, BatchingHTTPHandler, ShipperOptions

__all__ = ["LOGGLY_BATCH_BYTES", "LOGGLY_EVENT_BYTES", "HTTPSHandler", "LogglyHandler", "bulk_url_of"]

LOGGLY_EVENT_BYTES = 1_000_000
LOGGLY_BATCH_BYTES = 5_000_000
LOGGLY_HOST = "https://logs-01.loggly.com"

# Loggly tags: letters, digits, dot, dash and underscore; they go in the URL path.
_TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_TOKEN = re.compile(r"[A-Za-z0-9-]+")
_TOKEN_IN_URL = re.compile(r"/(?:bulk|inputs)/([^/?#]+)")
# /inputs/<token>, /inputs/<token>/, /inputs/<token>/tag/<tags>, /inputs/<token>/tag/<tags>/
_INPUTS_PATH = re.compile(r"^(?P<base>.*)/inputs/(?P<token>[^/?#]+)(?:/tag/(?P<tags>[^/?#]+))?/?$")


class LogglyHandler(BatchingHTTPHandler):
    """Where to send, the first given of: `url`; `token` (the URL built with `tags`); env `LOGGLY_URL`;
    env `LOGGLY_TOKEN`.

    A bad or missing configuration raises ValueError here, never later in emit().
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        url: str | None = None,
        tags: Sequence[str] = ("profiler",),
        environ: Mapping[str, str] | None = None,
        **options: Unpack[ShipperOptions],
    ) -> None:
        env = os.environ if environ is None else environ
        if token is not None and "://" in token:  # LogglyHandler("https://logs-01.loggly.com/inputs/…")
            token, url = None, url or token
        url, token = _resolve(token, url, tags, env)
        options.setdefault("max_batch_bytes", LOGGLY_BATCH_BYTES)
        options.setdefault("max_event_bytes", min(LOGGLY_EVENT_BYTES, options["max_batch_bytes"]))
        super().__init__(url, secrets=(token,) if token else (), **options)

    def encode_event(self, record: logging.LogRecord) -> bytes:
        text = self.format(record)
        if "\n" in text or "\r" in text:
            # Loggly splits a bulk body at line breaks. In JSON output a raw line break can only be
            # whitespace between tokens (json.dumps escapes those inside strings); in plain text it
            # is kept visible as a literal backslash-n.
            replacement = " " if is_json_formatter(self.formatter) else "\\n"
            text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", replacement)
        return text.encode("utf-8", "replace")


class HTTPSHandler(LogglyHandler):
    """loggly-python-handler's ``HTTPSHandler(url, method="POST")``, batching and never blocking.

    `url` may be the ``/inputs/`` URL that handler takes or a ``/bulk/`` one; see `LogglyHandler`.
    """

    def __init__(self, url: str, method: str = "POST", **options: Unpack[ShipperOptions]) -> None:
        if method.upper() != "POST":
            raise ValueError(f"HTTPSHandler: Loggly takes POST only, got method={method!r}")
        super().__init__(url=url, **options)


def bulk_url_of(url: str) -> str:
    """The bulk endpoint for a Loggly URL: an ``/inputs/<token>[/tag/<tags>]`` URL becomes
    ``/bulk/<token>/tag/<tags>/`` on the same host; any other URL is returned as it is."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url  # the base class reports it, without repeating it
    found = _INPUTS_PATH.match(parts.path)
    if found is None:
        return url
    tags = f"tag/{found['tags']}/" if found["tags"] else ""
    path = f"{found['base']}/bulk/{found['token']}/{tags}"
    return urlunsplit(parts._replace(path=path))


def _resolve(
    token: str | None, url: str | None, tags: Sequence[str], env: Mapping[str, str]
) -> tuple[str, str | None]:
    """The URL to POST to, and the token to keep out of everything shown."""
    if url:
        return bulk_url_of(url), token or _token_in(url)
    if token:
        return _bulk_url(token, tags), token
    if env_url := env.get("LOGGLY_URL"):
        return bulk_url_of(env_url), _token_in(env_url)
    if env_token := env.get("LOGGLY_TOKEN"):
        return _bulk_url(env_token, tags), env_token
    raise ValueError("LogglyHandler: no destination; pass token= or url=, or set LOGGLY_TOKEN or LOGGLY_URL")


def _bulk_url(token: str, tags: Sequence[str]) -> str:
    if not _TOKEN.fullmatch(token):
        raise BadDestination("LogglyHandler: a Loggly customer token is letters, digits and dashes", "token")
    if isinstance(tags, str):
        tags = (tags,)
    if not tags or not all(_TAG.fullmatch(tag) for tag in tags):
        raise ValueError(f"LogglyHandler: tags must be one or more of [A-Za-z0-9._-], got {list(tags)!r}")
    return f"{LOGGLY_HOST}/bulk/{token}/tag/{','.join(tags)}/"


def _token_in(url: str) -> str | None:
    match = _TOKEN_IN_URL.search(url)
    return match.group(1) if match else None
