"""The snakeviz commands, spelled once: the line a person pastes and the server ``--view`` starts."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path


def view_command(profile: str | Path) -> str:
    """The shell line that serves a ``.prof`` with snakeviz on 127.0.0.1 (no browser needed)."""
    return f"snakeviz -s -H 127.0.0.1 {shlex.quote(str(profile))}"


def server_command(profile: Path, port: int) -> list[str]:
    """snakeviz in server mode on 127.0.0.1 and ``port``, run with this interpreter."""
    return [
        sys.executable,
        "-m",
        "snakeviz",
        "--server",
        "--hostname",
        "127.0.0.1",
        "--port",
        str(port),
        str(profile),
    ]
