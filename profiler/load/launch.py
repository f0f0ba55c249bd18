"""``python -m profiler.run --locust --workers N``: a Locust master and N workers on this machine.

For trying the distributed mode on one machine: the master binds 127.0.0.1 on a
free port, the workers connect to it, all three run headless against the target
(the embedded simulator unless a base URL is given, as for any run), and the
master writes the merged run. Every child is waited for with a bound and
killed past it, so nothing is left running. No Locust import here: the children
are ``python -m locust`` processes.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from profiler.modes.common import prepare_output_dir, start_simulator
from profiler.paths import default_output_dir
from profiler.simulator import Scenario
from profiler.target import Target, client_timeout, redact_url

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
_IMPORT_ROOT = str(Path(__file__).resolve().parents[2])  # so every child imports this copy of profiler
EXIT_OK, EXIT_NO_SUCCESS, EXIT_INTERRUPTED = 0, 1, 130
WORKERS_STOP_S = 15.0  # how long the workers get to go once the master is gone
MASTER_STOP_S = 20.0  # how long the master gets to write the run after Ctrl-C
HEARTBEAT_LIVENESS = 30  # seconds a worker may go unheard: here they share the machine's CPU with the rest


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def profiler_options(args: argparse.Namespace, output_dir: Path, scenario: Scenario | None) -> list[str]:
    """The workload options of ``python -m profiler.run`` as the locustfile's ``--profiler-…`` ones."""
    timeout = client_timeout(args.timeout, scenario.client_timeout_s if scenario else None)
    options = [
        f"--profiler-requests={args.requests}",
        f"--profiler-local-work-ms={args.local_work_ms}",
        f"--profiler-model={args.model}",
        f"--profiler-choices={args.choices}",
        f"--profiler-timeout={timeout}",
        f"--profiler-max-retries={args.max_retries}",
        f"--profiler-output-dir={output_dir}",
        f"--profiler-heartbeat-liveness={HEARTBEAT_LIVENESS}",
    ]
    if args.rate:
        options.append(f"--profiler-rate={args.rate}")
    if args.stream:
        options.append("--profiler-stream")
    if scenario is not None:
        options.append(f"--profiler-scenario={scenario.name}")
    return options


def master_command(port: int, users: int, workers: int, host: str, extra: list[str]) -> list[str]:
    return [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--master", "--headless",
        "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
        "--expect-workers", str(workers), "--expect-workers-max-wait", "60",
        "-u", str(users), "-r", str(users), "-H", host,
        "--only-summary", "--exit-code-on-error", "0", *extra,
    ]  # fmt: skip


def worker_command(port: int, output_dir: Path) -> list[str]:
    # The output directory only names the run's processes (the master's options win on a worker).
    return [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker",
        "--master-host", "127.0.0.1", "--master-port", str(port), f"--profiler-output-dir={output_dir}",
    ]  # fmt: skip


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the launcher dies, however it dies (Linux)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _interrupt_on_sigterm() -> None:
    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


def _ignore_interrupts() -> None:
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)


def _environment(api_key: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_IMPORT_ROOT, env.get("PYTHONPATH")) if p)
    if api_key:
        env["OPENAI_API_KEY"] = api_key
    return env


def _stop(process: subprocess.Popen[bytes], grace_s: float) -> None:
    """Wait for the process up to ``grace_s``, then terminate it, then kill it."""
    for action in (None, process.terminate, process.kill):
        if action is not None:
            action()
        try:
            process.wait(grace_s if action is None else 5.0)
            return
        except subprocess.TimeoutExpired:
            continue
    process.wait()


def _wait_for(
    master: subprocess.Popen[bytes], workers: list[subprocess.Popen[bytes]], console: Console, logs: Path
) -> None:
    """Until the master exits; a worker that dies first ends the run (the master would wait for it)."""
    while master.poll() is None:
        for index, worker in enumerate(workers):
            if worker.poll() not in (None, 0):
                console.print(f"[red]Locust worker {index} exited with {worker.returncode}[/red]:")
                tail = (logs / f"worker-{index}.log").read_text(errors="replace")[-3000:]
                console.print(tail, markup=False)
                master.terminate()
                return
        time.sleep(0.2)


def run_locust(args: argparse.Namespace, target: Target, scenario: Scenario | None, console: Console) -> int:
    output_dir = prepare_output_dir(args.output_dir or default_output_dir(), force=args.force)
    workers: list[subprocess.Popen[bytes]] = []
    with ExitStack() as stack:
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="profiler-locust-")))
        if scenario is not None:
            base_url = start_simulator(stack, scenario, output_dir, console).base_url
        else:
            base_url = target.base_url or ""
        console.print(
            f"Locust: a master and {args.workers} worker{'s' if args.workers != 1 else ''} on 127.0.0.1"
            "  ·  target "
            f"{escape(redact_url(base_url) or '')}  ·  {args.requests} requests, {args.concurrency} users"
            f"{f', {args.rate:g} calls/s' if args.rate else ''}{', streamed' if args.stream else ''}"
        )
        port = _free_port()
        env = _environment(target.api_key)
        extra = [*profiler_options(args, output_dir, scenario), "--csv", str(output_dir / "locust")]
        master_log = stack.enter_context((logs / "master.log").open("wb"))
        # Each child in a session of its own: a terminal's Ctrl-C (SIGINT to the whole foreground
        # group) reaches only this launcher, which stops the master, which stops the workers and
        # gathers what they did; signalled all at once, each would quit on its own.
        master = subprocess.Popen(
            master_command(port, args.concurrency, args.workers, base_url, extra),
            stdout=None,  # the run's report (Locust prints only its summary): --quiet drops no figures
            stderr=master_log,
            env=env,
            preexec_fn=_die_with_parent,
            start_new_session=True,
        )
        interrupted = False
        _interrupt_on_sigterm()
        try:
            for index in range(args.workers):
                log = stack.enter_context((logs / f"worker-{index}.log").open("wb"))
                workers.append(
                    subprocess.Popen(
                        worker_command(port, output_dir),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        env=env,
                        preexec_fn=_die_with_parent,
                        start_new_session=True,
                    )
                )
            _wait_for(master, workers, console, logs)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            # From here the master writes what was measured: a second Ctrl-C (or SIGTERM) would cut
            # that short, so the launcher takes none; each child still has a bound, then is killed.
            _ignore_interrupts()
            if interrupted:
                console.print(f"Stopping: the master writes what was measured (at most {MASTER_STOP_S:g} s)")
                master.terminate()  # Locust quits on SIGTERM, and the master writes what it has
            _stop(master, MASTER_STOP_S)
            for worker in workers:
                _stop(worker, WORKERS_STOP_S)
        logs_tail = (logs / "master.log").read_text(errors="replace")
        if not (output_dir / "summary.json").exists() and interrupted:
            console.print(
                f"[yellow]Interrupted: the Locust master wrote no run[/yellow] (exit {master.returncode}: "
                "the test had not started, or it did not stop in time)"
            )
            return EXIT_INTERRUPTED
        if not (output_dir / "summary.json").exists():
            console.print(f"[red]The Locust master wrote no run[/red] (exit {master.returncode}):")
            console.print(logs_tail[-3000:], markup=False)
            return EXIT_NO_SUCCESS
    summary = json.loads((output_dir / "summary.json").read_text())
    if interrupted:
        return EXIT_INTERRUPTED
    if summary.get("interrupted"):  # Locust stopped the test early: its workers went missing
        console.print("[red]Locust stopped the test before every request was done[/red]; its log ends:")
        console.print(logs_tail[-3000:], markup=False)
        return EXIT_INTERRUPTED
    return EXIT_OK if summary["requests"]["succeeded"] else EXIT_NO_SUCCESS
