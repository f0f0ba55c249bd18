"""Putting the backend under an existing httpx2 client, or building a transport with it.

httpx2's ``HTTPTransport`` keeps an ``httpcore2.ConnectionPool`` in ``_pool`` (an
``HTTPProxy``/``SOCKSProxy`` subclass when proxied), and the pool hands its
``_network_backend`` to every connection it opens. Swapping that attribute reaches every
*new* connection; connections already open keep their streams until they close.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpcore2
import httpx2
from httpcore2._backends.auto import AutoBackend

from profiler.trace.netio.async_backend import AsyncTimestampingBackend
from profiler.trace.netio.support import unsupported_reason
from profiler.trace.netio.sync_backend import TimestampingBackend

_STOCK_SYNC = (httpcore2.SyncBackend, TimestampingBackend)
_STOCK_ASYNC = (AutoBackend, httpcore2.AnyIOBackend, AsyncTimestampingBackend)


@dataclass(frozen=True)
class Installation:
    """What ``install`` did; true when every transport of the client now stamps arrivals."""

    pools: int  # connection pools now on our backend
    reason: str | None  # why not all of them, or None

    def __bool__(self) -> bool:
        return self.pools > 0 and self.reason is None


def _transports(client: httpx2.Client | httpx2.AsyncClient) -> list[Any]:
    mounted = [t for t in client._mounts.values() if t is not None]
    return [client._transport, *mounted]


def _problem(transport: Any, asynchronous: bool) -> str | None:
    """Why ``transport``'s pool cannot take our backend, or None if it can."""
    name = type(transport).__name__
    expected = httpx2.AsyncHTTPTransport if asynchronous else httpx2.HTTPTransport
    pool_type = httpcore2.AsyncConnectionPool if asynchronous else httpcore2.ConnectionPool
    pool = getattr(transport, "_pool", None)
    if not isinstance(transport, expected) or not isinstance(pool, pool_type):
        return f"custom transport {name} does not expose an httpcore2 connection pool"
    proxy = getattr(pool, "_proxy_url", None)
    if proxy is not None and proxy.scheme == b"https":
        return "an HTTPS proxy needs TLS inside TLS, which this backend does not do"
    stock = _STOCK_ASYNC if asynchronous else _STOCK_SYNC
    if not isinstance(pool._network_backend, stock):
        return f"the pool already has a custom network backend ({type(pool._network_backend).__name__})"
    return None


def install(client: httpx2.Client | httpx2.AsyncClient, *, frame_aware: bool = True) -> Installation:
    """Put the timestamping backend under every transport of ``client`` that can take it."""
    reason = unsupported_reason()
    if reason is not None:
        return Installation(0, reason)
    asynchronous = isinstance(client, httpx2.AsyncClient)
    pools, problems = 0, []
    for transport in _transports(client):
        problem = _problem(transport, asynchronous)
        if problem is not None:
            problems.append(problem)
            continue
        pool = transport._pool
        if not isinstance(pool._network_backend, (TimestampingBackend, AsyncTimestampingBackend)):
            pool._network_backend = (
                AsyncTimestampingBackend(frame_aware=frame_aware)
                if asynchronous
                else TimestampingBackend(frame_aware=frame_aware)
            )
        pools += 1
    return Installation(pools, "; ".join(dict.fromkeys(problems)) or None)


def timestamping_transport(*, frame_aware: bool = True, **kwargs: Any) -> httpx2.HTTPTransport:
    """An ``httpx2.HTTPTransport(**kwargs)`` whose pool uses our backend where supported."""
    transport = httpx2.HTTPTransport(**kwargs)
    if unsupported_reason() is None and _problem(transport, False) is None:
        transport._pool._network_backend = TimestampingBackend(frame_aware=frame_aware)
    return transport


def async_timestamping_transport(*, frame_aware: bool = True, **kwargs: Any) -> httpx2.AsyncHTTPTransport:
    """An ``httpx2.AsyncHTTPTransport(**kwargs)`` whose pool uses our backend where supported."""
    transport = httpx2.AsyncHTTPTransport(**kwargs)
    if unsupported_reason() is None and _problem(transport, True) is None:
        transport._pool._network_backend = AsyncTimestampingBackend(frame_aware=frame_aware)
    return transport
