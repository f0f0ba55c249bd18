"""A run's figures, accumulated call by call in bounded memory, and mergeable.

:func:`profiler.runs.figures.figures_of` feeds every call of a run through a
:class:`FigureAccumulator`; a long run feeds each call as it ends and keeps only
the first calls' traces (:mod:`profiler.trace.recording` ``keep``); a
distributed run merges its workers' accumulators. The same figures either way:
counts and sums are exact, distributions exact up to
:data:`~profiler.runs.sketch.EXACT_LIMIT` values and then within 1% (DDSketch).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from profiler.runs.sketch import Quantiles
from profiler.runs.stats import (
    SECONDS_DIGITS,
    Interval,
    WallSplit,
    clip_intervals,
    merge_intervals,
    subtract_intervals,
    total_length,
)
from profiler.trace.derive import TTFT_PARTS
from profiler.trace.model import RequestTrace
from profiler.trace.phases import OCCASIONAL_PHASES, Group

# Interval lists past this length are folded into totals up to a horizon no new call can start before.
_FOLD_AT = 20_000
_MIN_HORIZON_S = 60.0


@dataclass(slots=True)
class WallSplitter:
    """The union arithmetic of the wall-time split, done as intervals come in.

    Intervals that end before the fold point (the latest end seen, less twice the
    longest call and at least a minute) cannot overlap a call still to come, so
    their part of the split is summed and they are dropped.
    """

    network: list[Interval] = field(default_factory=list)
    backoff: list[Interval] = field(default_factory=list)
    calls: list[Interval] = field(default_factory=list)
    folded_to: float | None = None
    folded: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])  # network, backoff, in calls
    latest_end: float = float("-inf")
    longest: float = 0.0

    def add(self, call: RequestTrace, shift: float = 0.0) -> None:
        self.network.extend((a + shift, b + shift) for a, b in call.intervals(Group.NETWORK))
        self.backoff.extend((a + shift, b + shift) for a, b in call.intervals(Group.BACKOFF))
        self.calls.append((call.start + shift, call.end + shift))
        self.latest_end = max(self.latest_end, call.end + shift)
        self.longest = max(self.longest, call.e2e)
        if len(self.calls) + len(self.network) > _FOLD_AT:
            self.fold(self.latest_end - max(_MIN_HORIZON_S, 2 * self.longest))

    @staticmethod
    def _parts(
        network: list[Interval], backoff: list[Interval], calls: list[Interval]
    ) -> tuple[float, float, float]:
        net = merge_intervals(network)
        back = subtract_intervals(merge_intervals(backoff), net)
        busy = merge_intervals([*net, *back])
        in_calls = subtract_intervals(merge_intervals(calls), busy)
        return total_length(net), total_length(back), total_length(in_calls)

    def fold(self, until: float) -> None:
        start = self.folded_to if self.folded_to is not None else float("-inf")
        if until <= start:
            return
        lists = (self.network, self.backoff, self.calls)
        parts = self._parts(*(clip_intervals(items, start, until) for items in lists))
        self.folded = [done + part for done, part in zip(self.folded, parts, strict=True)]
        self.network, self.backoff, self.calls = (
            clip_intervals(items, until, float("inf")) for items in lists
        )
        self.folded_to = until

    def merge(self, other: WallSplitter) -> None:
        """Another process's intervals on this one's clock (already shifted when they were added)."""
        self.network.extend(other.network)
        self.backoff.extend(other.backoff)
        self.calls.extend(other.calls)
        self.folded = [a + b for a, b in zip(self.folded, other.folded, strict=True)]
        self.latest_end, self.longest = (
            max(self.latest_end, other.latest_end),
            max(self.longest, other.longest),
        )

    def split(self, wall: Interval) -> WallSplit:
        start, end = wall
        if self.folded_to is not None:
            start = max(start, self.folded_to)
        parts = self._parts(
            *(clip_intervals(items, start, end) for items in (self.network, self.backoff, self.calls))
        )
        network_s, backoff_s, in_calls_s = (a + b for a, b in zip(self.folded, parts, strict=True))
        local_s = max(0.0, (wall[1] - wall[0]) - network_s - backoff_s)
        in_calls_s = min(in_calls_s, local_s)
        return WallSplit(
            network=round(network_s, SECONDS_DIGITS),
            backoff=round(backoff_s, SECONDS_DIGITS),
            local=round(local_s, SECONDS_DIGITS),
            local_in_calls=round(in_calls_s, SECONDS_DIGITS),
            local_between_calls=round(local_s - in_calls_s, SECONDS_DIGITS),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "network": self.network,
            "backoff": self.backoff,
            "calls": self.calls,
            "folded_to": self.folded_to,
            "folded": self.folded,
            "latest_end": self.latest_end,
            "longest": self.longest,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WallSplitter:
        def intervals(key: str) -> list[Interval]:
            return [(float(a), float(b)) for a, b in data[key]]

        return cls(
            intervals("network"),
            intervals("backoff"),
            intervals("calls"),
            data["folded_to"],
            list(data["folded"]),
            float(data["latest_end"]),
            float(data["longest"]),
        )


def _quantiles() -> dict[str, Quantiles]:
    return {}


@dataclass(slots=True)
class FigureAccumulator:
    """Everything a run's figures need, call by call (seconds, as the traces have them)."""

    started: int = 0
    failed: int = 0
    attempts: int = 0
    retried: int = 0
    connections_new: int = 0
    connections_reused: int = 0
    server_processing_reported: int = 0
    itl_unknown: int = 0
    ttft_bounded: int = 0  # streamed calls whose TTFT split has only a bound for its server part
    streamed: bool = False  # some counted call streamed
    errors: Counter[str] = field(default_factory=Counter)
    attempt_errors: Counter[str] = field(default_factory=Counter)
    calls_by_api: Counter[str] = field(default_factory=Counter)
    values: dict[str, Quantiles] = field(default_factory=_quantiles)  # figure name -> its values
    wall: WallSplitter = field(default_factory=WallSplitter)

    def _q(self, name: str) -> Quantiles:
        found = self.values.get(name)
        if found is None:
            found = self.values[name] = Quantiles()
        return found

    def add(self, call: RequestTrace, shift: float = 0.0) -> None:
        """One call (``shift``: seconds to add to its times, to put it on this run's clock)."""
        self.wall.add(call, shift)
        if call.interrupted:  # cut short by Ctrl-C: drawn and split, neither succeeded nor failed
            return
        self.started += 1
        self.failed += not call.ok
        self.attempts += len(call.attempts)
        self.retried += max(0, len(call.attempts) - 1)
        for attempt in call.attempts:
            if attempt.reused_connection is not None:
                self.connections_reused += attempt.reused_connection
                self.connections_new += not attempt.reused_connection
        if call.error_kind:
            self.errors[call.error_kind] += 1
        self.attempt_errors.update(call.attempt_errors)
        self.calls_by_api[call.api] += 1
        self.server_processing_reported += call.phases["server_processing"] is not None
        self._q("latency").add(call.e2e)
        if call.ok:
            self._q("latency_ok").add(call.e2e)
        for key, value in call.breakdown().items():
            # A step a call did not take has no time (its segments all have some): a reused
            # connection's connect, a plain call's caller are not a 0 to average.
            if value is None or (not value and key in OCCASIONAL_PHASES):
                continue
            self._q(f"phase:{key}").add(value)
        if call.cpu_s is not None:
            self._q("cpu").add(call.cpu_s)
        if call.scheduled is not None:
            self._q("schedule_lag").add(max(0.0, call.start - call.scheduled))
            self._q("latency_from_schedule").add(call.end - call.scheduled)
        self.streamed |= call.stream
        if call.stream and call.ok:
            self._stream(call)

    def _stream(self, call: RequestTrace) -> None:
        self._q("itl").extend(call.itl_s)
        self._q("itl_seen").extend(call.itl_seen_s)
        self.itl_unknown += call.itl_unknown
        if call.tpot_s is not None:
            self._q("tpot").add(call.tpot_s)
        if call.output_tokens and call.e2e > 0:
            self._q("tokens_per_s").add(call.output_tokens / call.e2e)
        if call.ttft_s is not None:
            self._q("ttft").add(call.ttft_s)
            self.ttft_bounded += call.ttft_bounded
            parts = call.ttft_parts or {}
            for part in TTFT_PARTS:
                self._q(f"ttft:{part}").add(parts.get(part, 0.0))

    def add_all(self, calls: Iterable[RequestTrace]) -> FigureAccumulator:
        for call in calls:
            self.add(call)
        return self

    def merge(self, other: FigureAccumulator) -> None:
        for name in ("started", "failed", "attempts", "retried", "connections_new", "connections_reused"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.server_processing_reported += other.server_processing_reported
        self.itl_unknown += other.itl_unknown
        self.ttft_bounded += other.ttft_bounded
        self.streamed |= other.streamed
        self.errors.update(other.errors)
        self.attempt_errors.update(other.attempt_errors)
        self.calls_by_api.update(other.calls_by_api)
        for name, quantiles in other.values.items():
            self._q(name).merge(quantiles)
        self.wall.merge(other.wall)

    def quantiles(self, name: str) -> Quantiles | None:
        return self.values.get(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": {
                name: getattr(self, name)
                for name in (
                    "started",
                    "failed",
                    "attempts",
                    "retried",
                    "connections_new",
                    "connections_reused",
                    "server_processing_reported",
                    "itl_unknown",
                    "ttft_bounded",
                    "streamed",
                )
            },
            "errors": dict(self.errors),
            "attempt_errors": dict(self.attempt_errors),
            "calls_by_api": dict(self.calls_by_api),
            "values": {name: q.to_dict() for name, q in self.values.items()},
            "wall": self.wall.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FigureAccumulator:
        accumulator = cls(**data["counts"])
        accumulator.errors.update(data["errors"])
        accumulator.attempt_errors.update(data["attempt_errors"])
        accumulator.calls_by_api.update(data["calls_by_api"])
        accumulator.values = {name: Quantiles.from_dict(v) for name, v in data["values"].items()}
        accumulator.wall = WallSplitter.from_dict(data["wall"])
        return accumulator
