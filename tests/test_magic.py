"""%load_ext profiler and %%llmprofile, through IPython's own test helpers."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.testing.globalipapp import get_ipython

from profiler.simulator import SimulatorProcess, load_scenario


@pytest.fixture(scope="module")
def shell() -> Iterator[Any]:
    ipython = get_ipython()
    ipython.run_line_magic("load_ext", "profiler")
    with SimulatorProcess(load_scenario("instant")) as simulator:
        ipython.run_cell(
            "import openai\n"
            f"client = openai.OpenAI(base_url={simulator.base_url!r}, api_key='sk-magic', max_retries=0)\n"
            "messages = [{'role': 'user', 'content': 'Two books?'}]"
        )
        yield ipython


@pytest.fixture
def displayed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    shown: list[str] = []
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj.data))
    return shown


def test_llmprofile_shows_the_breakdown_of_the_cells_calls(
    shell: Any, displayed: list[str], tmp_path: Path
) -> None:
    run = shell.run_cell_magic(
        "llmprofile",
        f"--output-dir {tmp_path / 'cell'}",
        "for _ in range(3):\n    client.chat.completions.create(model='gpt-3.5-turbo', messages=messages)\n",
    )
    assert run.summary["requests"]["succeeded"] == 3
    # The cell's value (its Out) is one line, not the session's fields and calls.
    assert repr(run) == f"<profiler.Session: 3 calls, 0 failed, saved in {tmp_path / 'cell'}>"
    assert len(displayed) == 1
    page = displayed[0]
    assert "3 calls, 3 succeeded, 0 failed" in page
    assert "<td>server_wait</td>" in page and "<td>Σ network</td>" in page
    assert str(tmp_path / "cell") in page and "<a href=" in page
    assert (tmp_path / "cell" / "summary.json").is_file()


def test_llmprofile_variables_stay_in_the_notebook(shell: Any, displayed: list[str], tmp_path: Path) -> None:
    shell.run_cell_magic(
        "llmprofile",
        f"-o {tmp_path / 'cell'}",
        "reply = client.chat.completions.create(model='gpt-3.5-turbo', messages=messages)",
    )
    assert shell.user_ns["reply"].choices[0].message.content


def test_llmprofile_on_a_cell_without_calls(shell: Any, displayed: list[str], tmp_path: Path) -> None:
    shell.run_cell_magic("llmprofile", f"-o {tmp_path / 'cell'}", "x = 1 + 1")
    assert "0 calls recorded: the program made no OpenAI API call" in displayed[0]


def test_llmprofile_reraises_the_cells_error_after_showing_what_ran(
    shell: Any, displayed: list[str], tmp_path: Path
) -> None:
    with pytest.raises(ZeroDivisionError) as caught:
        shell.run_cell_magic(
            "llmprofile",
            f"-o {tmp_path / 'cell'}",
            "client.chat.completions.create(model='gpt-3.5-turbo', messages=messages)\n1 / 0",
        )
    assert "1 call, 1 succeeded" in displayed[0]
    # The cell printed its traceback already: IPython renders the re-raised error as one line.
    assert caught.value._render_traceback_() == [  # type: ignore[attr-defined]
        "%%llmprofile: the cell raised ZeroDivisionError (its traceback is above); "
        "its calls are profiled above"
    ]


def test_a_failed_cells_traceback_is_formatted_after_its_measured_time(
    shell: Any, displayed: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A traceback 600 frames deep: IPython takes 0.1-0.5 s to format it, in the notebook's process.
    cell = (
        "import time\n"
        "cell_began = time.perf_counter()\n"
        "client.chat.completions.create(model='gpt-3.5-turbo', messages=messages)\n"
        "def deep(n):\n"
        "    global raised_at\n"
        "    if n == 0:\n"
        "        raised_at = time.perf_counter()\n"
        "        raise ValueError('deep down')\n"
        "    return deep(n - 1) + 1\n"
        "deep(600)\n"
    )
    before = time.perf_counter()
    with pytest.raises(ValueError):
        shell.run_cell_magic("llmprofile", f"-o {tmp_path / 'cell'}", cell)
    returned = time.perf_counter()
    raised_at, cell_began = shell.user_ns["raised_at"], shell.user_ns["cell_began"]
    formatting = returned - raised_at  # the traceback, the breakdown and the files: after the raise
    assert formatting > 0.1, "the traceback must take long enough to format to tell the two apart"
    wall_s = json.loads((tmp_path / "cell" / "summary.json").read_text())["wall_s"]
    # The session began after `before` and ends as run_cell returns, a few ms after the raise.
    assert wall_s <= raised_at - before + 0.03
    assert wall_s >= raised_at - cell_began
    shown = capsys.readouterr().out
    assert "ValueError" in shown and "deep down" in shown, "the traceback is still shown, in full"
    assert "1 call, 1 succeeded" in displayed[0]


@pytest.mark.parametrize("line", ["--bogus", "--profiler perf", "-o 'unclosed"])
def test_llmprofile_bad_options_are_a_usage_error(shell: Any, line: str) -> None:
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match=r"^%%llmprofile: "):
        shell.run_cell_magic("llmprofile", line, "x = 1")
