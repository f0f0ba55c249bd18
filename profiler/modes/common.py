"""What every mode of ``python -m profiler.run`` shares: the output directory, the simulator,
the progress display, the shippers, the program's environment."""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from profiler.frozen_heap import frozen_heap
from profiler.monitor.shipping import BatchingHTTPHandler
from profiler.paths import clear_run, run_files_in
from profiler.simulator import Scenario, SimulatorError, SimulatorProcess
from profiler.simulator.settle import settle
from profiler.trace.gc_pauses import GcLog
from profiler.trace.instrument import collecting, install
from profiler.trace.recording import CallRecording, Collector
from profiler.trace.wire import WireCapture


class UsageError(ValueError):
    """The run cannot start as asked: one line for the user, exit 2."""


def prepare_output_dir(directory: Path, *, force: bool) -> Path:
    """Create the directory; refuse one that holds a run unless ``force`` (then clear that run's files)."""
    existing = run_files_in(directory)
    if existing and not force:
        raise UsageError(
            f"{directory} already holds a run ({', '.join(existing[:3])}{' …' if len(existing) > 3 else ''})"
            ": "
            "choose another --output-dir, or add --force to replace it"
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        clear_run(directory)
        probe = directory / ".profiler-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"cannot write to output directory {directory}: {exc.strerror or exc}") from None
    return directory


def start_simulator(
    stack: ExitStack, scenario: Scenario, output_dir: Path, console: Console, *, tls: bool = False
) -> SimulatorProcess:
    """Start the embedded simulator for this run (stopped with ``stack``), logging to ground_truth.jsonl."""
    console.print(
        f"Starting the embedded simulator (scenario [bold]{escape(scenario.name)}[/bold]) on 127.0.0.1"
        f"{' over HTTPS' if tls else ''} …"
    )
    try:
        return stack.enter_context(
            SimulatorProcess(scenario, ground_truth_path=output_dir / "ground_truth.jsonl", tls=tls)
        )
    except SimulatorError as exc:
        raise UsageError(f"the embedded simulator did not start: {exc}") from None


def served_requests(
    ground_truth: Path, simulator_url: str, context: ssl.SSLContext | None = None
) -> int | None:
    """How many requests the simulator logged (None when there is no log), once it has logged every
    request it took: it logs one a moment after the client read its answer, so it is asked to settle
    first (for at most 2 s)."""
    settle(simulator_url, context=context)
    try:
        with ground_truth.open("rb") as handle:
            return sum(1 for line in handle if line.strip())
    except OSError:
        return None


class CallProgress:
    """A progress bar per pass, advanced as calls end, failed ones counted as the summary will count them."""

    def __init__(self, console: Console, quiet: bool) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<22}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            console=console,
            disable=quiet,
            transient=False,
        )
        self._task: Any = None
        self._failed = 0

    def start(self, description: str, total: int | None) -> None:
        self._failed = 0
        self._task = self.progress.add_task(description, total=total, failed=0)

    def call_done(self, recording: CallRecording) -> None:
        if self._task is None or recording.interrupted:
            return
        self._failed += recording.error_kind is not None
        self.progress.update(self._task, advance=1, failed=self._failed)

    def __enter__(self) -> CallProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)


def close_shippers(shippers: Sequence[BatchingHTTPHandler], console: Console) -> None:
    """Deliver the error records (within each shipper's close bound) and say what happened."""
    for shipper in shippers:
        shipper.close()
        stats = shipper.stats()
        dropped = ", ".join(f"{reason} {count}" for reason, count in stats.dropped.items() if count)
        console.print(
            f"{type(shipper).__name__}: {stats.sent} error records shipped"
            + (f", dropped: {dropped}" if dropped else "")
            + (f" ({stats.last_error})" if stats.last_error and dropped else ""),
            markup=False,
        )


@contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for the block (the user's program reads them), then restore them."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def measured_pass(
    collector: Collector, gc_log: GcLog, wire_arrivals: bool, base_url: str | None, console: Console
) -> Iterator[WireCapture | None]:
    """Around the measured pass, of the sample job or of a user's program: every call recorded in
    ``collector``, the garbage collector's pauses logged, the long-lived objects that exist now
    (our modules, the SDK's models…) frozen so collections do not scan them again and again, and,
    with ``--wire-arrivals``, the packet capture running (yielded: the run's artifacts use it)."""
    install()  # the SDK patched (its resource modules imported) before the heap is frozen and GC logged
    wire = start_wire_capture(wire_arrivals, base_url, console)
    try:
        with frozen_heap(), gc_log.attached(), collecting(collector):
            yield wire
    finally:
        if wire is not None:
            wire.stop()


def start_wire_capture(enabled: bool, base_url: str | None, console: Console) -> WireCapture | None:
    """With ``--wire-arrivals``: a packet capture of the target's port, or a line saying why there is none."""
    if not enabled:
        return None
    port = target_port(base_url)
    capture = WireCapture(port)
    capture.start()
    if capture.problem:
        console.print(
            f"[yellow]--wire-arrivals: no packet capture ({escape(capture.problem)}); "
            "arrival times come from the socket's kernel stamps[/yellow]"
        )
    return capture


def target_port(base_url: str | None) -> int:
    """The TCP port of a base URL (default: the API's, 443)."""
    parts = urlsplit(base_url or "https://api.openai.com/v1")
    try:
        return parts.port or (80 if parts.scheme == "http" else 443)
    except ValueError:
        return 443
