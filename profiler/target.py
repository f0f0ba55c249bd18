"""Which server a run talks to: the embedded simulator, or a real endpoint."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

SIMULATOR_API_KEY = "sk-simulator-no-key-needed"


class TargetError(ValueError):
    """The target cannot be used as configured (one clear line for the user)."""


@dataclass(frozen=True, slots=True)
class Target:
    base_url: str | None  # None: start the embedded simulator
    api_key: str

    @property
    def embedded(self) -> bool:
        return self.base_url is None

    def describe(self) -> dict[str, object]:
        """For summary.json: where the run went, never the key (nor credentials in the URL)."""
        return {"embedded_simulator": self.embedded, "base_url": redact_url(self.base_url)}


def redact_url(url: str | None) -> str | None:
    """The URL without user, password or query string, which may carry secrets."""
    if url is None:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_target(base_url: str | None, environ: Mapping[str, str] = os.environ) -> Target:
    """``--base-url`` wins over ``OPENAI_BASE_URL``; with neither, the embedded simulator.

    A non-local endpoint needs ``OPENAI_API_KEY``; a local one gets a dummy key
    when none is set (local OpenAI-compatible servers rarely check it).
    """
    url = base_url or environ.get("OPENAI_BASE_URL") or None
    key = environ.get("OPENAI_API_KEY") or ""
    if url is None:
        return Target(base_url=None, api_key=SIMULATOR_API_KEY)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetError(f"base URL {url!r} is not an http(s) URL")
    if not key:
        if not is_loopback(url):
            raise TargetError(
                f"OPENAI_API_KEY is not set; it is needed to call {parts.scheme}://{parts.hostname}"
            )
        key = SIMULATOR_API_KEY
    return Target(base_url=url, api_key=key)
