"""Noticing, while a handler sleeps, that its client has gone."""

from __future__ import annotations

import asyncio
from time import perf_counter

from starlette.types import Receive

__all__ = ["DisconnectWatch"]


class DisconnectWatch:
    """Listens for `http.disconnect` while the endpoint sleeps, so a client that gave up
    ends the wait at once instead of holding a stalled handler for its full delay."""

    def __init__(self, receive: Receive) -> None:
        self.event = asyncio.Event()
        self.disconnected_at: float | None = None
        self._task = asyncio.create_task(self._watch(receive))

    def stop(self) -> None:
        # Called before the last body message: the server reports the end of a
        # response as `http.disconnect` too, and that must not count as the client leaving.
        self._task.cancel()

    async def _watch(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.disconnected_at = perf_counter()
                self.event.set()
                return
