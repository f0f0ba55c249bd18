"""Which server a run talks to: the embedded simulator, or a real endpoint."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

SIMULATOR_API_KEY = "sk-simulator-no-key-needed"
DEFAULT_TIMEOUT_S = 60.0
OPENAI_BASE_URL = "https://api.openai.com/v1"


class TargetError(ValueError):
    """The target cannot be used as configured (one clear line for the user)."""


@dataclass(frozen=True, slots=True)
class Target:
    base_url: str | None  # None: start the embedded simulator
    api_key: str
    key_without_url: bool = False  # OPENAI_API_KEY set, no base URL: the simulator all the same

    @property
    def embedded(self) -> bool:
        return self.base_url is None


def redact_url(url: str | None) -> str | None:
    """The URL without user, password, query string or fragment, which may carry secrets.

    Whatever the scheme; a URL that does not even parse is shown as ``<unparsable URL>``.
    """
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "<unparsable URL>"
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(url: str) -> None:
    """One clear line (never the URL's credentials) when ``url`` cannot be an API base URL."""
    shown = redact_url(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetError(f"base URL {shown!r} is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetError(f"base URL {shown!r} is not an http(s) URL")
    if port == 0:
        raise TargetError(f"base URL {shown!r}: port 0 cannot be connected to")


def resolve_target(base_url: str | None, environ: Mapping[str, str] = os.environ) -> Target:
    """``--base-url`` wins over ``OPENAI_BASE_URL``; with neither, the embedded simulator.

    A key alone does not send the calls anywhere: without a base URL the run
    uses the embedded simulator (and says how to target OpenAI). A non-local
    endpoint needs ``OPENAI_API_KEY``; a local one gets a dummy key when none
    is set (local OpenAI-compatible servers rarely check it).
    """
    url = base_url or environ.get("OPENAI_BASE_URL") or None
    key = environ.get("OPENAI_API_KEY") or ""
    if url is None:
        return Target(base_url=None, api_key=SIMULATOR_API_KEY, key_without_url=bool(key))
    check_base_url(url)
    if not key:
        if not is_loopback(url):
            host = urlsplit(url).hostname
            raise TargetError(
                f"OPENAI_API_KEY is not set; it is needed to call {urlsplit(url).scheme}://{host}"
            )
        key = SIMULATOR_API_KEY
    return Target(base_url=url, api_key=key)


def key_without_url_note() -> str:
    return (
        "OPENAI_API_KEY is set but no base URL is: the calls go to the embedded simulator. "
        f"To profile OpenAI itself, add --base-url {OPENAI_BASE_URL} (or set OPENAI_BASE_URL)."
    )


def client_timeout(requested: float | None, scenario_hint: float | None) -> float:
    """The client's per-attempt timeout: as asked, else the scenario's hint, else 60 s."""
    return requested if requested is not None else (scenario_hint or DEFAULT_TIMEOUT_S)
