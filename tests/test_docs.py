"""Every snippet in docs/ runs as written.

The ```python and ```bash blocks of each docs/*.md run in order, as a reader
follows the page, in one fresh directory per page and a clean environment (no
key, no endpoint): against the embedded simulator. A block that cannot run here
says why in an HTML comment on the line before it (``<!-- not run: needs an
OpenAI key -->``).
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


@dataclass(frozen=True)
class Snippet:
    path: Path
    line: int
    language: str
    code: str
    not_run: str | None

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
                found.append(Snippet(path, index + 1, opened.group(1), code, reason and reason.group(1)))
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


def _run_page(page: Path, directory: Path) -> str | None:
    """Run the page's snippets in order in ``directory``; the first failure's explanation, or None."""
    for snippet in (s for s in SNIPPETS if s.path == page and s.not_run is None):
        result = _run(snippet, directory)
        if result.returncode != 0:
            return f"{snippet.id} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return None


@pytest.fixture(scope="module")
def pages_run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[Path, Future[str | None]]]:
    """The selected pages at once, a few at a time: their runs mostly wait on the simulator's
    latency, so the module takes about as long as its longest page rather than the sum of them."""
    selected = {
        item.callspec.params["page"]
        for item in request.session.items
        if item.name.startswith("test_every_snippet_of_the_page") and hasattr(item, "callspec")
    }
    with ThreadPoolExecutor(max_workers=4) as pool:
        # The longest page first.
        order = sorted(selected, key=lambda page: page.name != "user-guide.md")
        yield {page: pool.submit(_run_page, page, tmp_path_factory.mktemp(page.stem)) for page in order}


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_snippet_of_the_page_runs_as_written(
    page: Path, pages_run: dict[Path, Future[str | None]]
) -> None:
    failure = pages_run[page].result(timeout=900)
    assert failure is None, failure
