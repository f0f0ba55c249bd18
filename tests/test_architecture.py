"""The layering the design promises: the measurement core imports none of its readers."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "profiler"
# Everything that reads what profiler/trace measures.
READERS = (
    "profiler.monitor",
    "profiler.report",
    "profiler.compare",
    "profiler.profiling",
    "profiler.output",
    "profiler.modes",
    "profiler.runs",
    "profiler.run",
    "profiler.app",
    "profiler.api",
    "profiler.magic",
    "profiler.finish",
    "profiler.load",
)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_measurement_core_imports_no_reader() -> None:
    offenders = {
        f"{path.relative_to(REPO)} imports {name}"
        for path in (PACKAGE / "trace").rglob("*.py")
        for name in _imports(path)
        if any(name == reader or name.startswith(reader + ".") for reader in READERS)
    }
    assert offenders == set()


def test_only_cli_entry_modules_parse_argv() -> None:
    """argparse lives in the modules ``python -m`` runs (and the notebook magic's own line)."""
    entries = {
        "run.py",
        "app.py",
        "magic.py",
        "simulator/__main__.py",
        "compare/__main__.py",
        "load/__main__.py",
        "trace/wire/capture.py",  # the capture process, python -m profiler.trace.wire.capture
    }
    parsing = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if "argparse" in _imports(path) and "ArgumentParser(" in path.read_text(encoding="utf-8")
    }
    assert parsing <= entries, parsing - entries


@pytest.mark.parametrize("module", ["profiler.runs", "profiler.compare", "profiler.trace.model"])
def test_reading_runs_imports_no_sdk_no_bokeh_no_profiler(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "print(sorted({m.split('.')[0] for m in sys.modules}"
        " & {'openai', 'bokeh', 'pyinstrument', 'httpx2'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert result.stdout.strip() == "[]"
