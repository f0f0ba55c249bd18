"""What the profiler passes say about local time, for the summary and the verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from profiler.profiling.attribution import attribute_cprofile, attribute_pyinstrument
from profiler.profiling.local_profile import save_local_profile
from profiler.profiling.passes import CProfilePass, ProfilePass, PyinstrumentPass


def explain(profile_passes: list[ProfilePass], output_dir: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """(the summary's ``attribution`` section, extra artifacts such as ``local.prof``)."""
    attribution: dict[str, Any] = {}
    artifacts: dict[str, str] = {}
    for profile_pass in profile_passes:
        if isinstance(profile_pass, CProfilePass) and (stats := profile_pass.stats()) is not None:
            from_cprofile = attribute_cprofile(stats)
            attribution["cprofile"] = from_cprofile.to_json()
            if from_cprofile.hotspots:
                attribution["top_local"] = from_cprofile.hotspots[0].label
            artifacts["local_profile"] = str(save_local_profile(stats, output_dir / "local.prof"))
        elif isinstance(profile_pass, PyinstrumentPass) and (session := profile_pass.session()) is not None:
            from_pyinstrument = attribute_pyinstrument(session)
            attribution["pyinstrument"] = from_pyinstrument.to_json()
            if from_pyinstrument.hotspots:
                attribution.setdefault("top_local", from_pyinstrument.hotspots[0].label)
    return attribution, artifacts
