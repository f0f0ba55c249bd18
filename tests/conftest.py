from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    """Started with SIGINT ignored (a background job of a non-interactive shell, as a CI runner may start
    it), the test process would hand that on to every program it starts, and a test that presses Ctrl-C
    on one would wait in vain. Python's own handler, as an interactive start gives: children get SIGINT
    back at its default."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


# What the machine's environment may configure that a test must not inherit.
_OUTSIDE_SETTINGS = ("OPENAI_", "LOGGLY_", "SPLUNK_", "OTEL_", "PROMETHEUS_MULTIPROC_DIR")


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without endpoint, key, shipping or telemetry settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OUTSIDE_SETTINGS)}
    env.update(extra)
    return env


def free_port() -> int:
    """A loopback port nothing listens on (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m profiler.run ARGS`` in a child process, as a user runs it."""
    child_env = clean_env(**(env or {}))
    child_env.setdefault("COLUMNS", "160")
    return subprocess.run(
        [sys.executable, "-m", "profiler.run", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env,
        cwd=REPO,
    )


def start_cli(*args: str, stderr: int = subprocess.PIPE, **env: str) -> subprocess.Popen[str]:
    """``python -m profiler.run ARGS`` started in the background, its output piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "profiler.run", *args],
        cwd=REPO,
        env=clean_env(**env),
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )


@pytest.fixture
def cli() -> object:
    return run_cli
