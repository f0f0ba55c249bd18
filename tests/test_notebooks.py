"""Every notebook runs top to bottom with a real Jupyter kernel, against the embedded simulator.

The notebooks run at once, each in a process and a directory of its own: they mostly wait
on the simulator's latency, so the module takes about as long as the longest of them."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from tests.conftest import REPO, clean_env

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))

# Executes one notebook as the tests always did (nbclient, a python3 kernel, the notebook's
# directory set), and saves it with its outputs: argv is the notebook, the directory, the result.
_EXECUTE = """
import sys

import nbformat
from nbclient import NotebookClient

notebook = nbformat.read(sys.argv[1], as_version=4)
resources = {"metadata": {"path": sys.argv[2]}}
client = NotebookClient(notebook, timeout=240, kernel_name="python3", resources=resources)
try:
    client.execute()
finally:
    nbformat.write(notebook, sys.argv[3])
"""


def _execute(path: Path, directory: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    executed = directory / f"executed-{path.name}"
    command = [sys.executable, "-c", _EXECUTE, str(path), str(directory), str(executed)]
    result = subprocess.run(command, env=clean_env(), capture_output=True, text=True, timeout=600)
    return result, executed


@pytest.fixture(scope="module")
def executed(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Future[tuple[subprocess.CompletedProcess[str], Path]]]]:
    with ThreadPoolExecutor(max_workers=len(NOTEBOOKS)) as pool:
        yield {
            path.stem: pool.submit(_execute, path, tmp_path_factory.mktemp(path.stem)) for path in NOTEBOOKS
        }


def test_there_are_notebooks() -> None:
    assert [n.name for n in NOTEBOOKS] == [
        "01-quickstart.ipynb",
        "02-network-vs-local.ipynb",
        "03-errors.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(
    path: Path, executed: dict[str, Future[tuple[subprocess.CompletedProcess[str], Path]]]
) -> None:
    result, saved = executed[path.stem].result(timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    notebook = nbformat.read(saved, as_version=4)
    errors = [
        o for cell in notebook.cells for o in cell.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert not errors
    images = [
        o for cell in notebook.cells for o in cell.get("outputs", []) if "image/png" in o.get("data", {})
    ]
    assert images, "the notebook's plots were not drawn"


def test_a_notebook_runs_again_in_the_same_directory(
    executed: dict[str, Future[tuple[subprocess.CompletedProcess[str], Path]]],
) -> None:
    """A notebook run a second time replaces its run (it writes to a fixed directory)."""
    first, saved = executed["01-quickstart"].result(timeout=900)
    assert first.returncode == 0, first.stderr[-4000:]
    again, _ = _execute(REPO / "notebooks" / "01-quickstart.ipynb", saved.parent)
    assert again.returncode == 0, again.stderr[-4000:]
