"""Keeping tokens out of everything a shipper shows: its repr, its errors, its stats."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = ["describe", "redact", "where"]

MASK = "***"
_MAX_ERROR_CHARS = 300


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret masked, cut to a length that is safe to keep and show."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text[:_MAX_ERROR_CHARS]


def describe(exc: BaseException, secrets: Iterable[str]) -> str:
    """One line for `last_error`: the exception's type and message, tokens masked."""
    text = str(exc).replace("\n", " ")
    return redact(f"{type(exc).__name__}: {text}" if text else type(exc).__name__, secrets)


def where(url: str) -> str:
    """Scheme, host and port only: Loggly puts its token in the URL path, so the path is never shown."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
