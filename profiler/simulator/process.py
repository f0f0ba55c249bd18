"""The simulator in a child process, so its event loop never competes with the code being profiled."""

from __future__ import annotations

import atexit
import collections
import contextlib
import os
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from .scenario import Scenario
from .tls import SimulatorCertificates, client_ssl_context, create_certificates

__all__ = ["SimulatorError", "SimulatorProcess"]

# The directory holding the `profiler` package, so the child imports this very copy
# even when the parent runs from elsewhere and the package is not installed.
_IMPORT_ROOT = str(Path(__file__).resolve().parents[2])
_STDERR_TAIL_LINES = 40


class SimulatorError(RuntimeError):
    """The simulator process could not be started; the message says why, in one line."""


class SimulatorProcess:
    """Runs `python -m profiler.simulator` on a free port for the duration of a `with` block.

    The child exits by itself when this process dies, however it dies: it
    watches its stdin, a pipe only this process holds open.

    With `tls=True` it serves HTTPS with a certificate from a test CA made at
    start (and removed at stop); `ca_path` is that CA's PEM file and
    `ssl_context()` a client context that trusts it.
    """

    def __init__(
        self,
        scenario: Scenario,
        ground_truth_path: Path | None = None,
        host: str = "127.0.0.1",
        startup_timeout_s: float = 15.0,
        *,
        tls: bool = False,
    ) -> None:
        self.scenario = scenario
        self.ground_truth_path = ground_truth_path
        self.host = host
        self.startup_timeout_s = startup_timeout_s
        self.tls = tls
        self.port: int | None = None
        self._certificates: SimulatorCertificates | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._ready = threading.Event()
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=_STDERR_TAIL_LINES)
        self._readers: list[threading.Thread] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The server root, e.g. `http://127.0.0.1:41234` (`https://` with `tls=True`)."""
        if self.port is None:
            raise SimulatorError("the simulator is not running")
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{_connect_host(self.host)}:{self.port}"

    @property
    def ca_path(self) -> Path:
        """The test CA's certificate (PEM) that signed the server's; only while running with `tls=True`."""
        if self._certificates is None:
            raise SimulatorError("the simulator is not serving HTTPS" if not self.tls else "not running")
        return self._certificates.ca_path

    def ssl_context(self) -> ssl.SSLContext:
        """A client context trusting the test CA: `httpx2.Client(verify=sim.ssl_context())`."""
        return client_ssl_context(self.ca_path)

    @property
    def base_url(self) -> str:
        """What to pass as the OpenAI client's `base_url`, e.g. `http://127.0.0.1:41234/v1`."""
        return f"{self.url}/v1"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> Self:
        with self._lock:
            if self._process is not None:
                raise SimulatorError("the simulator is already running")
            self._ready.clear()
            self._stderr_tail.clear()
            if self.tls:
                self._certificates = create_certificates()
            try:
                self._process = self._spawn()
            except BaseException:
                self._remove_certificates()
                raise
            atexit.register(self.stop)
        self._wait_until_ready()
        return self

    def stop(self, grace_s: float = 3.0) -> None:
        """Ask the child to exit, then insist: closed stdin, SIGTERM, SIGKILL. Safe to call twice."""
        with self._lock:
            process, self._process = self._process, None
            self.port = None
            atexit.unregister(self.stop)
        if process is None:
            self._remove_certificates()
            return
        if process.stdin is not None:
            with contextlib.suppress(OSError):  # a child that already died broke the pipe
                process.stdin.close()  # the child's cue for a graceful shutdown
        for escalate in (process.terminate, process.kill):
            try:
                process.wait(timeout=grace_s)
                break
            except subprocess.TimeoutExpired:
                escalate()
        process.wait()
        for reader in self._readers:
            reader.join(timeout=1.0)
        self._readers.clear()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
        self._remove_certificates()

    def _remove_certificates(self) -> None:
        certificates, self._certificates = self._certificates, None
        if certificates is not None:
            certificates.remove()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.base_url if self.port is not None else "not running"
        return f"<SimulatorProcess scenario={self.scenario.name!r} {where}>"

    def _spawn(self) -> subprocess.Popen[bytes]:
        command = [
            sys.executable,
            "-m",
            "profiler.simulator",
            "--managed",
            "--host",
            self.host,
            "--port",
            "0",
            "--scenario-json",
            self.scenario.to_json(),
        ]
        if self.ground_truth_path is not None:
            command += ["--ground-truth", str(self.ground_truth_path)]
        if self._certificates is not None:
            command += ["--tls-cert", str(self._certificates.cert_path)]
            command += ["--tls-key", str(self._certificates.key_path)]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_IMPORT_ROOT, env.get("PYTHONPATH")]))
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            # Its own session, so a Ctrl-C meant for the parent does not kill the
            # server under the parent's feet; the stdin pipe ties their lifetimes instead.
            start_new_session=True,
        )
        assert process.stdout is not None and process.stderr is not None
        # Both pipes are drained for the child's whole life: a full pipe would block its writes.
        self._readers = [
            threading.Thread(target=self._read_stdout, args=(process.stdout,), daemon=True),
            threading.Thread(target=self._read_stderr, args=(process.stderr,), daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        return process

    def _wait_until_ready(self) -> None:
        process = self._process
        assert process is not None
        deadline = time.monotonic() + self.startup_timeout_s
        while not self._ready.wait(timeout=0.05):
            if process.poll() is not None:
                self._readers[1].join(timeout=1.0)  # collect the whole stderr before quoting it
                cause = _cause(list(self._stderr_tail))
                self.stop()
                raise SimulatorError(
                    f"the simulator exited with code {process.returncode} before it was ready: {cause}"
                )
            if time.monotonic() > deadline:
                # What it said while starting, read before stopping it: the shutdown's own
                # noise (a closed socket, a cancelled task) is not why it was late.
                said = _cause(list(self._stderr_tail), default="")
                self.stop()
                raise SimulatorError(
                    f"the simulator was not ready within {self.startup_timeout_s:g} s"
                    + (f" (it said: {said})" if said else " (it was still starting and had said nothing)")
                )

    def _read_stdout(self, stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode(errors="replace").strip()
            if not self._ready.is_set() and line.startswith("READY "):
                self.port = int(line.split()[1])
                self._ready.set()

    def _read_stderr(self, stream: IO[bytes]) -> None:
        for raw in stream:
            self._stderr_tail.append(raw.decode(errors="replace").rstrip())


def _cause(lines: list[str], default: str = "it wrote nothing to stderr") -> str:
    """The one line of the child's stderr that says what went wrong.

    Its own `error:` line when it wrote one (bad option, port taken), else the
    last line of a traceback (the exception itself), else the last line at all.
    """
    lines = [line.strip() for line in lines if line.strip()]
    for line in reversed(lines):
        if line.startswith("python -m profiler.simulator: error: "):
            return line.removeprefix("python -m profiler.simulator: error: ")
    if any(line.startswith("Traceback") for line in lines):
        exceptions = [line for line in lines if not line.startswith(("File ", "^", "~", "Traceback"))]
        return exceptions[-1] if exceptions else lines[-1]
    return lines[-1] if lines else default


def _connect_host(host: str) -> str:
    # A wildcard listen address is not somewhere a client can connect to.
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host
