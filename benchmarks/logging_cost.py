"""The cost of one logging call with log shipping on: receiver healthy and receiver hung, side by side.

Loggers in one process, called in turn so that all see the same machine at the
same moment, each `logger.error("call failed: %s after %d ms", ..., extra=...)`:

- `baseline`: a handler that does nothing (the cost of `logging` itself: the
  record, the caller's frame lookup);
- `format`: a handler that formats the record as the shippers do (JSON) in the
  caller's thread: what a shipping call cost before formatting moved off it;
- `healthy`: a `LogglyHandler` whose receiver answers 200 at once;
- `hung`: a `LogglyHandler` whose receiver accepts connections and never answers;
- `exception`: `logger.exception(...)` with a traceback, to the healthy receiver.

and, in the same rotation, the shipping handler's own share alone: `handler.handle(record)`
on a record made beforehand (`healthy.handle`, `hung.handle`), which is what shipping
adds to a logging call.

Before the rounds, `quiet baseline` is the do-nothing handler alone, while no shipper's thread
exists yet: what one logging call costs this machine with nothing else in the process, the floor
under every other row.

After them, `paced *` rows log at an app's pace instead of back to back: `baseline`, `healthy` and
`hung` (fresh shippers) in turn, one call every `--pace-us` microseconds (default 500: 2,000 records
a second in all), so the encoders keep up in the gaps. What a call costs when the thread did
something else (here: slept) just before, as an app's logging calls do.

The receivers run in a child process, so their work does not compete with the
measured calls for the GIL; the shippers' sender threads do, as they would in an
app. The queue is sized so it never fills (a full queue drops, which is cheaper).

    python benchmarks/logging_cost.py [--calls 5000] [--rounds 3] [--paced-calls 3000] [--pace-us 500]

Target (issue #12): p99 ≤ 20 µs a call with shipping on, no difference between healthy and hung.
Every record is still formatted and shipped (the books printed per round show it). Each round
also prints how many garbage collections of each generation ran while the loggers were called:
records waiting to be encoded are the only objects that outlive a call, and what they are made
of decides whether collections have to look at them.
"""

from __future__ import annotations

import argparse
import gc
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from profiler.monitor.shipping import LogglyHandler, ShipperStats
from profiler.monitor.shipping._format import default_formatter
from profiler.runs.stats import percentile

TOKEN = "bench-0000-1111-2222-333344445555"

# A child process serving two ports: one answers every POST at once, one never answers.
_RECEIVERS = r"""
import http.server, socket, sys, threading, time

class Ok(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass

healthy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
healthy.daemon_threads = True
hung = socket.create_server(("127.0.0.1", 0))
held = []

def hold():
    while True:
        conn, _ = hung.accept()
        held.append(conn)
        drain = lambda c=conn: [None for _ in iter(lambda: c.recv(65536), b"")]
        threading.Thread(target=drain, daemon=True).start()

threading.Thread(target=hold, daemon=True).start()
threading.Thread(target=healthy.serve_forever, daemon=True).start()
print(healthy.server_address[1], hung.getsockname()[1], flush=True)
sys.stdin.read()
"""


@contextmanager
def receivers() -> Iterator[tuple[str, str]]:
    child = subprocess.Popen(
        [sys.executable, "-c", _RECEIVERS], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        healthy_port, hung_port = child.stdout.readline().split()
        yield f"http://127.0.0.1:{healthy_port}", f"http://127.0.0.1:{hung_port}"
    finally:
        child.kill()
        child.wait()


class _Nothing(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        pass


class _FormatOnly(logging.Handler):
    """What any JSON log handler pays before shipping anything: the shippers' formatting and encoding."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(default_formatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.format(record).encode()


def _logger(name: str, handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(f"bench.{name}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    return logger


def _quiet_baseline(calls: int, warmup: int) -> list[int]:
    """The do-nothing handler's calls in a process with no shipper thread: logging's own floor here."""
    logger = _logger("quiet", _Nothing())
    samples = []
    for i in range(warmup + calls):
        began = time.perf_counter_ns()
        logger.error("call failed: %s after %d ms", "rate_limit", i, extra={"attempt": 2})
        took = time.perf_counter_ns() - began
        if i >= warmup:
            samples.append(took)
    return samples


def _paced(healthy_url: str, hung_url: str, calls: int, warmup: int, pace_s: float) -> dict[str, list[int]]:
    """The do-nothing handler and a healthy and a hung shipper in turn, a call every ``pace_s``."""
    shippers = {
        "healthy": LogglyHandler(url=f"{healthy_url}/bulk/{TOKEN}/tag/bench/"),
        "hung": LogglyHandler(url=f"{hung_url}/bulk/{TOKEN}/tag/bench/", read_timeout_s=600),
    }
    loggers = {"baseline": _logger("paced.baseline", _Nothing())}
    loggers.update((name, _logger(f"paced.{name}", handler)) for name, handler in shippers.items())
    samples: dict[str, list[int]] = {name: [] for name in loggers}
    order = list(loggers)
    for i in range(warmup + calls):
        turn = i % len(order)
        for name in order[turn:] + order[:turn]:
            logger = loggers[name]
            began = time.perf_counter_ns()
            logger.error("call failed: %s after %d ms", "rate_limit", i, extra={"attempt": 2})
            took = time.perf_counter_ns() - began
            if i >= warmup:
                samples[name].append(took)
            time.sleep(pace_s)
    print(f"paced, a call every {pace_s * 1e6:.0f} µs:")
    for name, handler in shippers.items():
        behind = handler.stats()
        handler.close()
        print(_shipper_line(name, handler.stats(), behind))
    return samples


def _row(name: str, samples_ns: list[int]) -> str:
    us = sorted(s / 1000 for s in samples_ns)
    figures = "  ".join(
        f"{label} {percentile(us, q):6.1f}" for label, q in (("p50", 50), ("p90", 90), ("p99", 99))
    )
    return f"  {name:<14} n={len(us):<6} {figures}  p99.9 {percentile(us, 99.9):7.1f}  max {us[-1]:8.1f} µs"


def _shipper_line(name: str, closed: ShipperStats, behind: ShipperStats) -> str:
    """A shipper's books once closed, and how far behind it was when the logging stopped."""
    return (
        f"  {name + ':':<10} {_books(closed)};"
        f" when the logging stopped: {behind.sent} sent, {behind.queue_depth} waiting"
    )


def _books(stats: ShipperStats) -> str:
    dropped = ", ".join(f"{reason} {n}" for reason, n in stats.dropped.items() if n) or "none"
    return f"emitted {stats.emitted}, sent {stats.sent} in {stats.batches_sent} batches, dropped: {dropped}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=5000, help="measured calls per logger per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; each gets fresh shippers")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured calls per logger first")
    parser.add_argument(
        "--paced-calls", type=int, default=3000, help="measured calls per logger at an app's pace (0: none)"
    )
    parser.add_argument("--pace-us", type=float, default=500.0, help="microseconds between two paced calls")
    args = parser.parse_args()

    names = ("baseline", "format", "healthy", "hung", "exception", "healthy.handle", "hung.handle")
    samples: dict[str, list[int]] = {name: [] for name in names}
    quiet = _quiet_baseline(args.rounds * args.calls, args.warmup)
    try:
        raise TimeoutError("upstream did not answer")
    except TimeoutError:
        failure = sys.exc_info()
    with receivers() as (healthy_url, hung_url):
        for round_ in range(args.rounds):
            options: dict[str, Any] = {
                "max_queue": 2 * (args.calls + args.warmup),
                "max_queue_bytes": 200_000_000,
                "close_timeout_s": 1.0,
            }
            shippers = {
                "healthy": LogglyHandler(url=f"{healthy_url}/bulk/{TOKEN}/tag/bench/", **options),
                # Hung: the request waits out its read timeout, longer than the whole run.
                "hung": LogglyHandler(
                    url=f"{hung_url}/bulk/{TOKEN}/tag/bench/", read_timeout_s=600, **options
                ),
                "exception": LogglyHandler(url=f"{healthy_url}/bulk/{TOKEN}/tag/bench/", **options),
            }
            loggers = {
                "baseline": _logger(f"baseline{round_}", _Nothing()),
                "format": _logger(f"format{round_}", _FormatOnly()),
                **{name: _logger(f"{name}{round_}", h) for name, h in shippers.items()},
            }
            order = list(samples)
            collections_before = [generation["collections"] for generation in gc.get_stats()]
            for i in range(args.warmup + args.calls):
                # Rotate who goes first, so no logger always follows the same one.
                turn = i % len(order)
                for name in order[turn:] + order[:turn]:
                    if name.endswith(".handle"):
                        handler = shippers[name.split(".")[0]]
                        record = loggers["baseline"].makeRecord(
                            "bench", logging.ERROR, __file__, 1, "call failed: %s after %d ms",
                            ("rate_limit", i), None, extra={"attempt": 2},
                        )  # fmt: skip
                        began = time.perf_counter_ns()
                        handler.handle(record)
                    elif name == "exception":
                        logger = loggers[name]
                        began = time.perf_counter_ns()
                        logger.error("call failed after %d ms", i, exc_info=failure, extra={"attempt": 2})
                    else:
                        logger = loggers[name]
                        began = time.perf_counter_ns()
                        logger.error("call failed: %s after %d ms", "rate_limit", i, extra={"attempt": 2})
                    took = time.perf_counter_ns() - began
                    if i >= args.warmup:
                        samples[name].append(took)
            collections = [
                generation["collections"] - before
                for generation, before in zip(gc.get_stats(), collections_before, strict=True)
            ]
            # What the shippers had not sent yet when the logging stopped: how far behind the flood they were.
            waiting = {name: handler.stats() for name, handler in shippers.items()}
            began = time.monotonic()
            for handler in shippers.values():
                handler.close()
            closing = time.monotonic() - began
            print(
                f"round {round_ + 1}, closed in {closing:.2f} s;"
                f" garbage collections while logging (generations 0/1/2): {'/'.join(map(str, collections))}"
            )
            for name, handler in shippers.items():
                behind = waiting[name]
                print(_shipper_line(name, handler.stats(), behind))
            gc.collect()
        paced = (
            _paced(healthy_url, hung_url, args.paced_calls, args.warmup, args.pace_us / 1e6)
            if args.paced_calls
            else {}
        )

    print(f"\nOne call, µs ({args.rounds} rounds × {args.calls} calls each, interleaved):")
    print(_row("quiet baseline", quiet))
    for name, values in samples.items():
        print(_row(name, values))
    for name, values in paced.items():
        print(_row(f"paced {name}", values))
    print(f"Python {sys.version.split()[0]}, {sys.platform}")


if __name__ == "__main__":
    main()
