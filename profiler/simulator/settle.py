"""``GET /_simulator/settle``: wait until the simulator has logged every request it took.

A client has its answer once it has read the last byte; the simulator logs that
request only when its handler returns, a moment later — on two loaded cores, late
enough that a run counting the log right after its last call counted one request
short. A run asks this endpoint first: it answers once no request is in flight
(or after ``timeout_ms``), with how many requests are still in flight and how
many have finished. It is not an API endpoint: it gets no OpenAI headers and no
ground-truth line.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

if TYPE_CHECKING:  # the parent asks, the child answers: the parent need not import the server
    from starlette.types import Scope, Send

    from .state import SimulatorState

__all__ = ["SETTLE_PATH", "Settled", "answer_settle", "settle"]

SETTLE_PATH = "/_simulator/settle"
DEFAULT_TIMEOUT_S = 2.0
_MAX_TIMEOUT_MS = 60_000
_POLL_S = 0.002


@dataclass(frozen=True)
class Settled:
    """What the simulator said: requests still in flight (0 once settled) and requests finished."""

    in_flight: int
    finished: int


async def answer_settle(state: SimulatorState, scope: Scope, send: Send) -> None:
    """Answer once no request is in flight, or after the query's ``timeout_ms`` (default 2000)."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    try:
        timeout_ms = min(max(int(query.get("timeout_ms", ["2000"])[0]), 0), _MAX_TIMEOUT_MS)
    except ValueError:
        await _send(send, 400, {"error": "timeout_ms must be a whole number of milliseconds"})
        return
    deadline = time.monotonic() + timeout_ms / 1000
    while state.in_flight and time.monotonic() < deadline:
        await asyncio.sleep(_POLL_S)
    await _send(send, 200, {"in_flight": state.in_flight, "finished": state.finished})


async def _send(send: Send, status: int, body: dict[str, object]) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def settle(
    url: str, timeout_s: float = DEFAULT_TIMEOUT_S, context: ssl.SSLContext | None = None
) -> Settled | None:
    """Ask the simulator at ``url`` (its root or its ``/v1`` base URL) to settle; None if it cannot say.

    No proxy is asked: the simulator is on this machine.
    """
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.urlencode({"timeout_ms": round(timeout_s * 1000)})
    address = urllib.parse.urlunsplit((parts.scheme, parts.netloc, SETTLE_PATH, query, ""))
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
    )
    try:
        with opener.open(address, timeout=timeout_s + 5.0) as response:
            body = json.loads(response.read())
        return Settled(in_flight=int(body["in_flight"]), finished=int(body["finished"]))
    except (OSError, ValueError, KeyError, TypeError):  # URLError and timeouts are OSErrors
        return None
