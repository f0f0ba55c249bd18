"""The values of one figure: kept exactly up to a limit, then as a mergeable DDSketch.

A run of a few thousand calls keeps every value, so its percentiles are exact
(numpy's linear interpolation, as :class:`~profiler.runs.stats.Distribution`
computes them). Past :data:`EXACT_LIMIT` values a figure rolls into a DDSketch
(DataDog's, a well-kept library) with 1% relative accuracy: memory stays
bounded however long the run, and sketches of different processes merge — the
load workers of a distributed run send theirs to the master. Count, sum (so
the mean), min and max stay exact either way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from ddsketch import DDSketch

from profiler.runs.stats import DIGITS, Distribution, percentile

EXACT_LIMIT = 20_000  # values per figure kept exactly (160 KB as floats); past it, a sketch
RELATIVE_ACCURACY = 0.01  # of a quantile read from the sketch: within 1% of a true value's


class Quantiles:
    """count, sum, min, max exactly; the values themselves exactly or in a sketch."""

    __slots__ = ("_sketch", "_values", "count", "max", "min", "total")

    def __init__(self) -> None:
        self._values: list[float] | None = []
        self._sketch: DDSketch | None = None
        self.count = 0
        self.total = 0.0
        self.min = math.inf
        self.max = -math.inf

    @property
    def exact(self) -> bool:
        return self._values is not None

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.min = min(self.min, value)
        self.max = max(self.max, value)
        if self._values is not None:
            self._values.append(value)
            if len(self._values) > EXACT_LIMIT:
                self._roll()
        else:
            assert self._sketch is not None
            self._sketch.add(value)

    def extend(self, values: Iterable[float]) -> None:
        for value in values:
            self.add(value)

    def _roll(self) -> None:
        sketch = DDSketch(relative_accuracy=RELATIVE_ACCURACY)
        for value in self._values or ():
            sketch.add(value)
        self._sketch, self._values = sketch, None

    def merge(self, other: Quantiles) -> None:
        self.count += other.count
        self.total += other.total
        self.min, self.max = min(self.min, other.min), max(self.max, other.max)
        if self._values is not None and other._values is not None:
            self._values.extend(other._values)
            if len(self._values) > EXACT_LIMIT:
                self._roll()
            return
        if self._values is not None:
            self._roll()
        assert self._sketch is not None
        if other._values is not None:
            for value in other._values:
                self._sketch.add(value)
        else:
            assert other._sketch is not None
            self._sketch.merge(other._sketch)

    def quantile(self, q: float) -> float:
        """The q-th quantile (0..1): exact, or within the sketch's relative accuracy."""
        if self._values is not None:
            return percentile(sorted(self._values), q * 100)
        assert self._sketch is not None
        value = self._sketch.get_quantile_value(q)
        return min(self.max, max(self.min, value if value is not None else math.nan))

    def distribution(self, scale: float = 1.0) -> Distribution | None:
        """As :meth:`Distribution.of` would give it for the same values (rounded once, here)."""
        if self.count == 0:
            return None
        if self._values is not None:
            return Distribution.of(self._values, scale)
        return Distribution(
            count=self.count,
            mean=round(self.total / self.count * scale, DIGITS),
            p50=round(self.quantile(0.50) * scale, DIGITS),
            p90=round(self.quantile(0.90) * scale, DIGITS),
            p99=round(self.quantile(0.99) * scale, DIGITS),
            max=round(self.max * scale, DIGITS),
            min=round(self.min * scale, DIGITS),
        )

    # --- travelling between processes (a load worker → the master) -----------------------------

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {"count": self.count, "total": self.total}
        if self.count:
            document.update(min=self.min, max=self.max)
        if self._values is not None:
            document["values"] = list(self._values)
        else:
            assert self._sketch is not None
            document["sketch"] = _sketch_to_dict(self._sketch)
        return document

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Quantiles:
        quantiles = cls()
        quantiles.count, quantiles.total = int(data["count"]), float(data["total"])
        quantiles.min, quantiles.max = float(data.get("min", math.inf)), float(data.get("max", -math.inf))
        if "values" in data:
            quantiles._values = [float(v) for v in data["values"]]
        else:
            quantiles._values, quantiles._sketch = None, _sketch_from_dict(data["sketch"])
        return quantiles


def _store_to_dict(store: Any) -> dict[str, Any]:
    return {
        "bins": list(store.bins),
        "offset": store.offset,
        "min_key": store.min_key,
        "max_key": store.max_key,
        "count": store.count,
    }


def _store_from_dict(store: Any, data: Mapping[str, Any]) -> None:
    store.bins = list(data["bins"])
    store.offset, store.min_key, store.max_key = data["offset"], data["min_key"], data["max_key"]
    store.count = data["count"]


def _sketch_to_dict(sketch: DDSketch) -> dict[str, Any]:
    """A DDSketch as plain data (the package's own encoding needs protobuf)."""
    return {
        "store": _store_to_dict(sketch._store),
        "negative": _store_to_dict(sketch._negative_store),
        "zero_count": sketch._zero_count,
        "count": sketch._count,
        "sum": sketch._sum,
        "min": sketch._min,
        "max": sketch._max,
    }


def _sketch_from_dict(data: Mapping[str, Any]) -> DDSketch:
    sketch = DDSketch(relative_accuracy=RELATIVE_ACCURACY)
    _store_from_dict(sketch._store, data["store"])
    _store_from_dict(sketch._negative_store, data["negative"])
    sketch._zero_count, sketch._count, sketch._sum = data["zero_count"], data["count"], data["sum"]
    sketch._min, sketch._max = data["min"], data["max"]
    return sketch
