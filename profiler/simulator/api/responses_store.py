"""Responses kept for `GET /v1/responses/{id}` and `previous_response_id`, in a bounded LRU.

A background response is stored when it is acknowledged and completes when its
planned generation time has passed: a GET before then sees it `in_progress`,
after it sees the final object. Nothing runs in the background to get there.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from time import perf_counter
from typing import Any

from ..limits import MAX_STORED_RESPONSES
from .responses_reply import ResponseObject

__all__ = ["ResponseStore"]


@dataclass
class _Stored:
    response: ResponseObject
    ready_at: float  # perf_counter when the final object is there to see


class ResponseStore:
    def __init__(self, capacity: int = MAX_STORED_RESPONSES) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[str, _Stored] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, response_id: object) -> bool:
        return response_id in self._entries

    def put(self, response: ResponseObject, *, ready_in_s: float = 0.0) -> None:
        self._entries[response.id] = _Stored(response, perf_counter() + ready_in_s)
        self._entries.move_to_end(response.id)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    def get(self, response_id: str) -> dict[str, Any] | None:
        """The object as of now, or None if it was never stored or has been dropped."""
        stored = self._entries.get(response_id)
        if stored is None:
            return None
        self._entries.move_to_end(response_id)
        if perf_counter() < stored.ready_at:
            return stored.response.snapshot("in_progress")
        return stored.response.final()
