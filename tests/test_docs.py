"""Every snippet in docs/ runs as written.

The ```python and ```bash blocks of each docs/*.md run in order, as a reader
follows the page, in one fresh directory per page and a clean environment (no
key, no endpoint): against the embedded simulator. A block that cannot run here
says why in an HTML comment on the line before it (``<!-- not run: needs an
OpenAI key -->``). A block that neither needs what the blocks before it made nor
leaves anything the blocks after it read says so (``<!-- runs on its own -->``):
it runs in a fresh directory of its own, beside the rest of the page.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, clean_env

DOCS = REPO / "docs"
_FENCE = re.compile(r"^```(\w+)\s*$")
_NOT_RUN = re.compile(r"<!--\s*not run:\s*(.+?)\s*-->")
_ON_ITS_OWN = re.compile(r"<!--\s*runs on its own\s*-->")


@dataclass(frozen=True)
class Snippet:
    path: Path
    line: int
    language: str
    code: str
    not_run: str | None
    on_its_own: bool = False

    @property
    def id(self) -> str:
        return f"{self.path.name}:{self.line}"


def snippets() -> list[Snippet]:
    found: list[Snippet] = []
    for path in sorted(DOCS.glob("*.md")):
        lines = path.read_text(encoding="utf-8").splitlines()
        index = 0
        while index < len(lines):
            opened = _FENCE.match(lines[index])
            if opened is None:
                index += 1
                continue
            end = next(j for j in range(index + 1, len(lines)) if lines[j].startswith("```"))
            previous = lines[index - 1] if index else ""
            reason = _NOT_RUN.search(previous)
            if opened.group(1) in ("python", "bash"):
                code = "\n".join(lines[index + 1 : end]) + "\n"
                alone = _ON_ITS_OWN.search(previous) is not None
                found.append(
                    Snippet(path, index + 1, opened.group(1), code, reason and reason.group(1), alone)
                )
            index = end + 1
    return found


SNIPPETS = snippets()


def test_the_docs_have_runnable_snippets() -> None:
    runnable = [s for s in SNIPPETS if s.not_run is None]
    assert len(runnable) >= 10, [s.id for s in SNIPPETS]


def _run(snippet: Snippet, directory: Path) -> subprocess.CompletedProcess[str]:
    env = clean_env(PYTHONPATH=str(REPO), COLUMNS="160")
    if snippet.language == "python":
        command = [sys.executable, "-c", snippet.code]
    else:
        env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
        command = ["bash", "-euo", "pipefail", "-c", snippet.code]
    return subprocess.run(command, cwd=directory, env=env, capture_output=True, text=True, timeout=240)


PAGES = sorted({s.path for s in SNIPPETS if s.not_run is None})


def _run_in_order(snippets: list[Snippet], directory: Path) -> str | None:
    """Run ``snippets`` in order in ``directory``; the first failure's explanation, or None."""
    for snippet in snippets:
        result = _run(snippet, directory)
        if result.returncode != 0:
            return f"{snippet.id} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return None


def _runs_of(page: Path) -> list[list[Snippet]]:
    """The page's snippets as runs that may go side by side: those in order, and each that runs on its own."""
    runnable = [s for s in SNIPPETS if s.path == page and s.not_run is None]
    in_order = [s for s in runnable if not s.on_its_own]
    return [[s] for s in runnable if s.on_its_own] + ([in_order] if in_order else [])


@pytest.fixture(scope="module")
def pages_run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[Path, list[Future[str | None]]]]:
    """The selected pages at once, a few runs at a time: they mostly wait on the simulator's
    latency, so the module takes about as long as its longest run rather than the sum of them."""
    selected = {
        item.callspec.params["page"]
        for item in request.session.items
        if item.name.startswith("test_every_snippet_of_the_page") and hasattr(item, "callspec")
    }
    runs = [(page, run) for page in sorted(selected) for run in _runs_of(page)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        launched: dict[Path, list[Future[str | None]]] = {page: [] for page in selected}
        # The user guide's runs first: they are the longest.
        for page, run in sorted(runs, key=lambda pair: pair[0].name != "user-guide.md"):
            directory = tmp_path_factory.mktemp(f"{page.stem}-{run[0].line}")
            launched[page].append(pool.submit(_run_in_order, run, directory))
        yield launched


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_snippet_of_the_page_runs_as_written(
    page: Path, pages_run: dict[Path, list[Future[str | None]]]
) -> None:
    failures = [failure for run in pages_run[page] if (failure := run.result(timeout=900)) is not None]
    assert not failures, "\n".join(failures)
