from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m profiler.run ARGS`` in a child process, as a user runs it."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    child_env.update(env or {})
    child_env.setdefault("COLUMNS", "160")
    return subprocess.run(
        [sys.executable, "-m", "profiler.run", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env,
        cwd=REPO,
    )


@pytest.fixture
def cli() -> object:
    return run_cli
