"""The run: one typed model of what a profiling run measured, saved and loaded as itself.

Collectors (the workload, script mode, the Python API, a load test) build a
:class:`Run`; every output (``summary.json``, ``requests.jsonl``, the report,
the console, compare, notebooks) reads one. ``summary.json`` and
``requests.jsonl`` are its serialisation (:mod:`profiler.runs.documents`), and
:func:`profiler.runs.load_run` gives back the same type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from profiler.runs.accumulate import FigureAccumulator
from profiler.runs.figures import RunFigures, figures_from
from profiler.runs.gc import GcFigures
from profiler.runs.stats import Interval
from profiler.trace.model import RequestTrace

SCHEMA = "profiler.run/1"  # the summary.json format this version writes and reads


def _without_none(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def _known_fields(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {key: value for key, value in data.items() if key in names}


@dataclass(frozen=True, slots=True)
class RunConfig:
    """How the run was made; a field that does not apply to its source is None."""

    source: str = "profiler.run"  # profiler.run, script, session, locust
    requests: int | None = None
    concurrency: int | None = None
    client: str | None = None  # threads or async
    rate: float | None = None  # open-loop arrivals per second
    arrival: str | None = None  # poisson or constant
    stream: bool | None = None
    local_work_ms: float | None = None
    model: str | None = None
    n: int | None = None
    api: str | None = None
    profiler: str | None = None
    max_retries: int | None = None
    program: str | None = None
    simulate: bool | None = None
    exit_code: int | None = None
    workers: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return _without_none(asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunConfig:
        return cls(**_known_fields(cls, data))


@dataclass(frozen=True, slots=True)
class TargetInfo:
    """Where the calls went. Never a key; a base URL only without credentials or query."""

    embedded_simulator: bool = False
    base_url: str | None = None
    scenario: str | None = None
    tls: bool | None = None
    requests_served: int | None = None  # what the embedded simulator logged, when it was ours
    arrival_timestamps: str | None = None  # "kernel", or why not

    def to_dict(self) -> dict[str, Any]:
        return _without_none(asdict(self)) | {"embedded_simulator": self.embedded_simulator}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TargetInfo:
        return cls(**_known_fields(cls, data))


MEASURED_TRACE_ONLY = "measure (trace only)"
MEASURED_WITH_PROFILERS = "measure, with profilers attached"


@dataclass(frozen=True, slots=True)
class Passes:
    """Which pass the figures come from, and the profiler passes that produced profiles."""

    figures: str = MEASURED_TRACE_ONLY
    profiles: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"figures": self.figures, "profiles": list(self.profiles)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Passes:
        data = data or {}
        profiles = data.get("profiles") or ()
        return cls(str(data.get("figures", MEASURED_TRACE_ONLY)), tuple(profiles))


@dataclass(frozen=True, slots=True)
class Hotspot:
    """A local function by self time; ``calls`` is None where the profiler cannot count calls."""

    function: str
    file: str
    line: int
    self_ms: float
    calls: int | None

    @property
    def label(self) -> str:
        name = Path(self.file).name if self.file not in ("~", "") else self.file
        return f"{self.function} ({name}:{self.line})"


@dataclass(frozen=True, slots=True)
class ProfileAttribution:
    """Where one profile's time went (seconds by category) and its top local functions.

    Built with its figures rounded as summary.json keeps them (:meth:`rounded`).
    """

    seconds: dict[str, float]
    hotspots: tuple[Hotspot, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"seconds": dict(self.seconds), "hotspots": [asdict(h) for h in self.hotspots]}

    @classmethod
    def rounded(cls, seconds: Mapping[str, float], hotspots: Sequence[Hotspot]) -> ProfileAttribution:
        return cls(
            {key: round(value, 6) for key, value in seconds.items()},
            tuple(Hotspot(h.function, h.file, h.line, round(h.self_ms, 3), h.calls) for h in hotspots),
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProfileAttribution:
        hotspots = tuple(Hotspot(**_known_fields(Hotspot, h)) for h in data.get("hotspots") or ())
        return cls(dict(data.get("seconds") or {}), hotspots)


@dataclass(frozen=True, slots=True)
class Attribution:
    """What the profiler passes say about local time: one entry per profiler."""

    profiles: dict[str, ProfileAttribution]

    @property
    def top_local(self) -> Hotspot | None:
        for name in ("cprofile", "pyinstrument"):
            profile = self.profiles.get(name)
            if profile is not None and profile.hotspots:
                return profile.hotspots[0]
        return None

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {name: profile.to_dict() for name, profile in self.profiles.items()}
        top = self.top_local
        if top is not None:
            document["top_local"] = top.label
        return document

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Attribution | None:
        if not data:
            return None
        profiles = {
            name: ProfileAttribution.from_dict(value)
            for name, value in data.items()
            if isinstance(value, Mapping)
        }
        return cls(profiles) if profiles else None


@dataclass(slots=True)
class Run:
    calls: list[RequestTrace]
    figures: RunFigures
    config: RunConfig = field(default_factory=RunConfig)
    target: TargetInfo = field(default_factory=TargetInfo)
    passes: Passes = field(default_factory=Passes)
    started_at: float = 0.0  # unix time of the run's origin
    interrupted: bool = False
    attribution: Attribution | None = None
    artifacts: dict[str, str] = field(default_factory=dict)
    path: Path | None = None  # its output directory, once saved or when loaded
    schema: str = SCHEMA

    @classmethod
    def build(
        cls,
        calls: Sequence[RequestTrace],
        *,
        wall: Interval,
        cpu_s: float,
        started_at: float,
        config: RunConfig | None = None,
        target: TargetInfo | None = None,
        passes: Passes | None = None,
        interrupted: bool = False,
        attribution: Attribution | None = None,
        loop_lag_s: Sequence[float] | None = None,
        rolled_up: FigureAccumulator | None = None,
        gc: GcFigures | None = None,
    ) -> Run:
        """A run from its traced calls: the figures are derived here, once.

        ``rolled_up``: the calls of a long run that were not kept whole, already accumulated.
        """
        accumulator = FigureAccumulator().add_all(calls)
        if rolled_up is not None:
            accumulator.merge(rolled_up)
        return cls(
            calls=list(calls),
            figures=figures_from(accumulator, wall, cpu_s, loop_lag_s, gc),
            config=config or RunConfig(),
            target=target or TargetInfo(),
            passes=passes or Passes(),
            started_at=started_at,
            interrupted=interrupted,
            attribution=attribution,
        )

    @property
    def summary(self) -> dict[str, Any]:
        """The ``summary.json`` document of this run."""
        from profiler.runs.documents import summary_document

        return summary_document(self)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The ``requests.jsonl`` records of this run, one per call."""
        from profiler.runs.records import call_record

        return [call_record(call) for call in self.calls]

    def to_pandas(self) -> Any:
        """One row per call; every phase as a ``<phase>_ms`` column. Needs pandas."""
        try:
            import pandas as pd
        except ImportError as missing:
            raise ImportError("to_pandas() needs pandas: pip install pandas") from missing
        rows = []
        skipped = ("phases_ms", "attempt_details", "itl_ms", "timeline", "ttft_parts_ms")
        for record in self.requests:
            row = {k: v for k, v in record.items() if k not in skipped}
            row.update({f"{phase}_ms": value for phase, value in record["phases_ms"].items()})
            rows.append(row)
        return pd.DataFrame(rows)
