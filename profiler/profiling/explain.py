"""What the profiler passes say about local time, for the run and its verdict."""

from __future__ import annotations

from pathlib import Path

from profiler.profiling.attribution import attribute_cprofile, attribute_pyinstrument
from profiler.profiling.local_profile import save_local_profile
from profiler.profiling.passes import CProfilePass, ProfilePass, PyinstrumentPass
from profiler.runs.model import Attribution, ProfileAttribution


def explain(profile_passes: list[ProfilePass]) -> Attribution | None:
    """The attribution of every pass that profiled something (None when none did)."""
    profiles: dict[str, ProfileAttribution] = {}
    for profile_pass in profile_passes:
        if isinstance(profile_pass, CProfilePass) and (stats := profile_pass.stats()) is not None:
            profiles["cprofile"] = attribute_cprofile(stats)
        elif isinstance(profile_pass, PyinstrumentPass) and (session := profile_pass.session()) is not None:
            profiles["pyinstrument"] = attribute_pyinstrument(session)
    return Attribution(profiles) if profiles else None


def save_profiles(profile_passes: list[ProfilePass], output_dir: Path) -> dict[str, str]:
    """Write every pass's profile files (and ``local.prof``); returns the artifacts written."""
    artifacts: dict[str, str] = {}
    for profile_pass in profile_passes:
        artifacts.update({name: str(path) for name, path in profile_pass.save(output_dir).items()})
        if isinstance(profile_pass, CProfilePass) and (stats := profile_pass.stats()) is not None:
            artifacts["local_profile"] = str(save_local_profile(stats, output_dir / "local.prof"))
    return artifacts
