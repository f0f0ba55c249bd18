"""The profiled process's side of a packet capture: start the capture process, stop it, read what it saw."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
from pathlib import Path

from profiler.trace.wire.arrivals import Captured, WireArrivals

_IMPORT_ROOT = str(Path(__file__).resolve().parents[3])  # the child imports this copy of profiler
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 60.0


class WireCapture:
    """``with WireCapture(port) as capture:`` … then ``capture.arrivals`` (None, with ``problem``, if
    there was no capture: not Linux, no CAP_NET_RAW, the process did not start)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.problem: str | None = None
        self.arrivals: WireArrivals | None = None
        self._child: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> WireCapture:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_IMPORT_ROOT, env.get("PYTHONPATH")) if p)
        command = [sys.executable, "-m", "profiler.trace.wire.capture", "--port", str(self.port)]
        try:
            child = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
            )
        except OSError as exc:
            self.problem = f"the capture process did not start: {exc.strerror or exc}"
            return
        assert child.stdout is not None
        first = _first_line(child, START_TIMEOUT_S)
        if first != "READY":
            child.kill()
            child.wait()
            self.problem = first.removeprefix("UNAVAILABLE ") or "the capture process did not start"
            return
        self._child = child

    def stop(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        try:
            out, _ = child.communicate(input=b"", timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            self.problem = "the capture process did not finish"
            return
        segments = (Captured(*json.loads(line)) for line in out.splitlines() if line.strip())
        self.arrivals = WireArrivals(segments)


def _first_line(child: subprocess.Popen[bytes], timeout_s: float) -> str:
    assert child.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(child.stdout, selectors.EVENT_READ)
        if not selector.select(timeout_s):
            return ""
    return child.stdout.readline().decode(errors="replace").strip()
