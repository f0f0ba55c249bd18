"""Log shipping against local receivers on 127.0.0.1: wire formats, failure modes, and exact books.

Every receiver is bounded (short timeouts, daemon threads) and closed by its
fixture; every handler is closed at the end of its test.
"""

from __future__ import annotations

import gc
import http.server
import json
import logging
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from profiler.monitor.shipping import (
    DROP_REASONS,
    BatchingHTTPHandler,
    HTTPSHandler,
    LogglyHandler,
    ShipperStats,
    SplunkHECHandler,
    handlers_from_env,
)
from profiler.monitor.shipping._format import ShippingJsonFormatter
from profiler.monitor.shipping._retry import backoff_delay, outcome_of_status, parse_retry_after
from profiler.monitor.shipping._snapshot import revive, snapshot

pytestmark = pytest.mark.timeout(60)

LOGGLY_TOKEN = "a1b2c3d4-e5f6-7890-abcd-ef0123456789"
SPLUNK_TOKEN = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
# "Never blocks", as a behaviour, not a benchmark: a call that waited on the network would take at least a
# timeout or a back-off (0.3 s and more here). 20 ms, not 5: on a busy machine the OS alone can pause a
# thread for 5-7 ms (seen with two CPU-bound processes per core), and the first call starts the thread.
LOG_CALL_BOUND_S = 0.02
TYPICAL_CALL_S = 0.001
# Fast test settings: short waits, small retry budgets.
QUICK = {"backoff_base_s": 0.01, "backoff_cap_s": 0.05, "close_timeout_s": 3.0}


# Receivers ------------------------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


Answer = tuple[int, dict[str, str], float]  # status, headers, delay before answering


@dataclass
class Receiver:
    """An HTTP/1.1 server on 127.0.0.1 that records every request and answers the n-th as `answer(n)` says."""

    answer: Callable[[int], Answer] = lambda n: (200, {}, 0.0)
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                request_headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.requests.append(Received(self.path, request_headers, body, time.monotonic()))
                status, headers, delay = receiver.answer(len(receiver.requests) - 1)
                time.sleep(delay)
                reply = b'{"response": "ok"}'
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


class HungReceiver:
    """Accepts connections and reads whatever comes, but never answers."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._stop = threading.Event()
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
                conn.setblocking(False)
                self._held.append(conn)
            except TimeoutError:
                pass
            for held in self._held:  # drain, so a sender's write never fills the socket buffer
                try:
                    while held.recv(65536):
                        pass
                except (BlockingIOError, OSError):
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for conn in self._held:
            conn.close()
        self._listener.close()


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(answer: Callable[[int], Answer] | None = None) -> Receiver:
        made.append(Receiver(answer) if answer else Receiver())
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.fixture
def hung() -> Iterator[HungReceiver]:
    r = HungReceiver()
    yield r
    r.close()


@pytest.fixture
def attach() -> Iterator[Callable[[BatchingHTTPHandler], logging.Logger]]:
    """A fresh logger feeding only the given handler; handler closed and detached afterwards."""
    attached: list[tuple[logging.Logger, BatchingHTTPHandler]] = []

    def _attach(handler: BatchingHTTPHandler) -> logging.Logger:
        logger = logging.getLogger(f"test_shipping.{len(attached)}.{random.random()}")
        logger.propagate = False
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
        attached.append((logger, handler))
        return logger

    yield _attach
    for logger, handler in attached:
        handler.close()
        logger.removeHandler(handler)


# Helpers ---------------------------------------------------------------------------------------------


def loggly(base: str, **options: object) -> LogglyHandler:
    return LogglyHandler(url=f"{base}/bulk/{LOGGLY_TOKEN}/tag/profiler/", **{**QUICK, **options})  # type: ignore[arg-type]


def splunk(base: str, **options: object) -> SplunkHECHandler:
    return SplunkHECHandler(base, SPLUNK_TOKEN, **{**QUICK, **options})  # type: ignore[arg-type]


def log_timed(logger: logging.Logger, count: int, start: int = 0, size: int = 0) -> list[float]:
    """`count` logger.error calls, each with its sequence number; the duration of each call."""
    durations = []
    padding = "x" * size
    for seq in range(start, start + count):
        began = time.perf_counter()
        logger.error("event %d", seq, extra={"seq": seq, "padding": padding})
        durations.append(time.perf_counter() - began)
    return durations


def loggly_events(requests: list[Received]) -> list[dict]:
    return [json.loads(line) for r in requests for line in r.body.split(b"\n")]


def splunk_envelopes(body: bytes) -> list[dict]:
    """Concatenated JSON objects, as HEC reads them; a JSON array would fail here."""
    text, decoder, at, found = body.decode(), json.JSONDecoder(), 0, []
    while at < len(text):
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            break
        obj, at = decoder.raw_decode(text, at)
        assert isinstance(obj, dict), "each envelope is an object, not an array"
        found.append(obj)
    return found


def balanced_after_close(stats: ShipperStats) -> None:
    assert stats.queue_depth == 0 and stats.in_flight == 0
    assert stats.emitted == stats.sent + sum(stats.dropped.values()), stats
    assert set(stats.dropped) == set(DROP_REASONS)


def no_token_in(handler: BatchingHTTPHandler, *tokens: str) -> None:
    shown = repr(handler) + str(handler) + repr(handler.stats()) + str(handler.stats().last_error)
    for token in tokens:
        assert token not in shown


# Healthy receivers: wire formats and exact counts -------------------------------------------------


def test_loggly_bulk_wire_format_and_exact_counts(receiver, attach) -> None:
    r = receiver()
    handler = loggly(r.base, max_batch_events=100, max_batch_bytes=20_000, flush_interval_s=0.05)
    logger = attach(handler)
    log_timed(logger, 300, size=100)
    assert handler.flush(10)
    handler.close()

    stats = handler.stats()
    balanced_after_close(stats)
    assert (stats.emitted, stats.sent, sum(stats.dropped.values()), stats.retried) == (300, 300, 0, 0)
    assert stats.batches_sent == len(r.requests)
    for request in r.requests:
        assert request.path == f"/bulk/{LOGGLY_TOKEN}/tag/profiler/"
        assert request.headers["content-type"] == "text/plain"
        assert len(request.body) <= 20_000 and not request.body.endswith(b"\n")
    events = loggly_events(r.requests)
    assert sorted(e["seq"] for e in events) == list(range(300)), "each record exactly once"
    assert events[0]["level"] == "ERROR" and events[0]["message"] == "event 0" and "timestamp" in events[0]


def test_loggly_url_from_token_and_tags() -> None:
    handler = LogglyHandler(LOGGLY_TOKEN, tags=("web", "prod"))
    assert handler._url == f"https://logs-01.loggly.com/bulk/{LOGGLY_TOKEN}/tag/web,prod/"
    assert repr(handler) == "<LogglyHandler https://logs-01.loggly.com (NOTSET)>"
    handler.close()


def test_splunk_hec_wire_format(receiver, attach) -> None:
    r = receiver()
    handler = splunk(r.base, index="main", source="profiler-test", host="web-1", flush_interval_s=0.05)
    assert handler._url == f"{r.base}/services/collector/event"
    logger = attach(handler)
    log_timed(logger, 50)
    assert handler.flush(10)
    handler.close()

    stats = handler.stats()
    balanced_after_close(stats)
    assert stats.sent == 50
    envelopes = []
    for request in r.requests:
        assert request.path == "/services/collector/event"
        assert request.headers["authorization"] == f"Splunk {SPLUNK_TOKEN}"
        assert not request.body.lstrip().startswith(b"[")
        assert len(request.body) <= 1_000_000
        envelopes += splunk_envelopes(request.body)
    assert sorted(e["event"]["seq"] for e in envelopes) == list(range(50))
    first = envelopes[0]
    assert (first["host"], first["source"], first["sourcetype"], first["index"]) == (
        "web-1",
        "profiler-test",
        "_json",
        "main",
    )
    assert abs(first["time"] - time.time()) < 60 and first["event"]["message"].startswith("event ")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://splunk:8088", "https://splunk:8088/services/collector/event"),
        ("https://splunk:8088/", "https://splunk:8088/services/collector/event"),
        ("https://splunk:8088/services/collector", "https://splunk:8088/services/collector/event"),
        ("https://splunk:8088/services/collector/event", "https://splunk:8088/services/collector/event"),
        ("https://proxy/hec", "https://proxy/hec/services/collector/event"),
    ],
)
def test_splunk_url_completed(given: str, expected: str) -> None:
    handler = SplunkHECHandler(given, SPLUNK_TOKEN)
    assert handler._url == expected
    handler.close()


def test_plain_text_formatter_is_one_event_each(receiver, attach) -> None:
    """A multi-line text record stays one Loggly line and one Splunk string event."""
    r = receiver()
    handlers = [loggly(r.base, flush_interval_s=0.05), splunk(r.base, flush_interval_s=0.05)]
    for handler in handlers:
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        attach(handler).error("line one\nline two")
        assert handler.flush(10)
    loggly_body, splunk_body = (req.body for req in r.requests)
    assert loggly_body == b"ERROR line one\\nline two"
    assert splunk_envelopes(splunk_body)[0]["event"] == "ERROR line one\nline two"


def test_batches_go_by_time_without_flush(receiver, attach) -> None:
    r = receiver()
    handler = loggly(r.base, flush_interval_s=0.2)
    attach(handler).error("alone")
    began = time.monotonic()
    while not r.requests and time.monotonic() - began < 5:
        time.sleep(0.01)
    assert r.requests, "a lone event is sent once flush_interval_s has passed"
    assert 0.15 <= r.requests[0].at - began < 2


def test_the_seeds_inputs_url_is_sent_to_the_bulk_endpoint(receiver, attach) -> None:
    """loggly-python-handler's HTTPSHandler(url, 'POST') takes an /inputs/ URL: the same line works here."""
    r = receiver()
    seed_style = HTTPSHandler(f"{r.base}/inputs/{LOGGLY_TOKEN}/tag/python", "POST", **QUICK)
    as_token = LogglyHandler(f"{r.base}/inputs/{LOGGLY_TOKEN}/tag/python/", flush_interval_s=0.01)
    for handler in (seed_style, as_token):
        attach(handler).error("from the seed")
        assert handler.flush(10)
        assert LOGGLY_TOKEN not in repr(handler)
    assert [req.path for req in r.requests] == [f"/bulk/{LOGGLY_TOKEN}/tag/python/"] * 2
    assert [e["message"] for e in loggly_events(r.requests)] == ["from the seed"] * 2
    with pytest.raises(ValueError, match="POST only"):
        HTTPSHandler(f"{r.base}/inputs/{LOGGLY_TOKEN}/tag/python", "GET")


def test_formatting_happens_off_the_callers_thread_and_keeps_everything(receiver, attach) -> None:
    """The caller's thread only copies the record; what the formatter would have written is all there,
    as it was at the call, however the caller changes its objects afterwards."""
    r = receiver()
    handler = loggly(r.base, flush_interval_s=0.01)
    formatted_in: list[str] = []
    original_format = handler.format

    def spying_format(record: logging.LogRecord) -> str:
        formatted_in.append(threading.current_thread().name)
        return original_format(record)

    handler.format = spying_format  # type: ignore[method-assign]
    logger = attach(handler)
    order = {"id": 7, "items": ["book"]}
    basket = ["book"]
    try:
        raise KeyError("sku-42")
    except KeyError:
        logger.exception("checkout failed for %s", basket, extra={"order": order, "attempt": 2})
    order["items"].append("pen")  # changed after the call: the record keeps what was logged
    basket.append("pen")
    assert handler.flush(10)
    handler.close()

    (event,) = loggly_events(r.requests)
    assert formatted_in == ["LogglyHandler-encoder"]
    assert event["message"] == "checkout failed for ['book']"
    assert event["order"] == {"id": 7, "items": ["book"]} and event["attempt"] == 2
    assert "Traceback (most recent call last)" in event["exc_info"]
    assert "KeyError: 'sku-42'" in event["exc_info"]
    assert "test_formatting_happens_off_the_callers_thread" in event["exc_info"]


@pytest.mark.parametrize("interval_s", [0.0005, 0.0], ids=["every-half-ms", "back-to-back"])
def test_the_encoder_keeps_up_with_a_caller_that_never_lets_the_gil_go(receiver, attach, interval_s) -> None:
    """A caller busy in Python gives the GIL up only at the interpreter's switch interval (5 ms). An
    encoder that handed it back after every record formatted one record per interval (200 a second)
    and fell ever further behind; one that kept it for a fixed 1 ms slice formatted a quarter of a
    back-to-back flood. It must keep formatting while the caller works, however fast it logs."""
    handler = loggly(receiver().base, max_queue=200_000, max_queue_bytes=100_000_000, flush_interval_s=0.05)
    formatted = 0
    original_format = handler.format

    def counting_format(record: logging.LogRecord) -> str:
        nonlocal formatted
        formatted += 1
        return original_format(record)

    handler.format = counting_format  # type: ignore[method-assign]
    logger = attach(handler)
    logged, next_at = 0, 0.0
    deadline = time.monotonic() + 1.5
    while (now := time.monotonic()) < deadline:  # spins: never waits, never releases the GIL
        if now >= next_at:
            logger.error("event %d", logged)
            logged += 1
            next_at = now + interval_s
    formatted_during = formatted
    assert handler.flush(30)
    assert handler.stats().sent == logged
    assert formatted_during >= 0.6 * logged, f"{formatted_during} of {logged} formatted while the caller ran"


class _TaggedRecord(logging.LogRecord):
    pass


def test_a_waiting_copy_is_nothing_the_garbage_collector_tracks() -> None:
    """The usual record's copy holds only immutable values, so thousands waiting to be encoded add
    nothing to the collections in the callers' threads; formatted, it says what the record said."""
    made: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            made.append(record)

    logger = logging.getLogger("test.snapshot")
    logger.propagate, keep = False, Keep()
    logger.addHandler(keep)
    try:
        logger.error("call failed: %s after %d ms", "rate_limit", 12, extra={"attempt": 2, "route": "/chat"})
        logger.error("with a basket", extra={"basket": ["book"]})
    finally:
        logger.removeHandler(keep)
    plain, with_container = made
    assert gc.is_tracked(plain.__dict__), "the caller's record is tracked (it holds its args tuple)"
    copied = snapshot(plain)
    assert not gc.is_tracked(copied)
    assert list(copied) == list(plain.__dict__), "the same attributes, in the same order"
    formatter = ShippingJsonFormatter()
    original, revived = json.loads(formatter.format(plain)), json.loads(formatter.format(revive(copied)))
    assert revived == original | {"timestamp": revived["timestamp"]}
    assert revived["message"] == "call failed: rate_limit after 12 ms" and revived["route"] == "/chat"
    assert gc.is_tracked(snapshot(with_container)), "a container extra is copied, and tracked"

    tagged = _TaggedRecord("x", logging.ERROR, __file__, 1, "n=%d", (3,), None)
    tagged_copy = revive(snapshot(tagged))
    assert type(tagged_copy) is _TaggedRecord and tagged_copy.getMessage() == "n=3"


# Failure modes -------------------------------------------------------------------------------------


def test_receiver_down_retries_then_drops_without_blocking(attach) -> None:
    handler = loggly(f"http://127.0.0.1:{unused_port()}", max_retries=2, flush_interval_s=30)
    logger = attach(handler)
    durations = log_timed(logger, 10)
    assert handler.flush(10), "flush hurries the batch and waits for the give-up"
    handler.close()

    stats = handler.stats()
    balanced_after_close(stats)
    assert stats.dropped["retries_exhausted"] == 10 and stats.sent == 0
    assert stats.retried == 2, "one batch, two retries after the first try"
    assert stats.last_error is not None and "ConnectError" in stats.last_error
    assert max(durations) < LOG_CALL_BOUND_S and statistics.median(durations) < TYPICAL_CALL_S
    no_token_in(handler, LOGGLY_TOKEN)


def test_receiver_that_never_answers(hung, attach) -> None:
    handler = loggly(
        hung.base,
        connect_timeout_s=0.3,
        read_timeout_s=0.3,
        max_retries=10,
        close_timeout_s=1.0,
        flush_interval_s=0.01,
    )
    logger = attach(handler)
    durations = log_timed(logger, 20)
    time.sleep(0.05)
    durations += log_timed(logger, 20, start=20)
    began = time.monotonic()
    handler.close()
    closing = time.monotonic() - began

    assert closing < 1.0 + 0.5, "close() keeps its bound even with a request hanging"
    assert max(durations) < LOG_CALL_BOUND_S and statistics.median(durations) < TYPICAL_CALL_S
    stats = handler.stats()
    balanced_after_close(stats)
    assert stats.emitted == 40 and stats.sent == 0
    assert stats.dropped["shutdown"] + stats.dropped["retries_exhausted"] == 40
    assert stats.last_error is not None and "Timeout" in stats.last_error
    # The sender's request is still hanging; when it times out, nothing may be counted again.
    time.sleep(0.6)
    assert handler.stats() == stats
    logger.error("after close")
    late = handler.stats()
    assert late.emitted == 41 and late.dropped["closed"] == 1
    balanced_after_close(late)


def test_503_with_retry_after_then_200(receiver, attach) -> None:
    r = receiver(lambda n: (503, {"Retry-After": "1"}, 0.0) if n == 0 else (200, {}, 0.0))
    handler = loggly(r.base, flush_interval_s=0.01, backoff_cap_s=5.0)
    logger = attach(handler)
    log_timed(logger, 5)
    assert handler.flush(10)
    handler.close()

    stats = handler.stats()
    balanced_after_close(stats)
    assert (stats.sent, stats.retried, stats.batches_sent) == (5, 1, 1)
    assert len(r.requests) == 2 and r.requests[0].body == r.requests[1].body
    assert 1.0 <= r.requests[1].at - r.requests[0].at < 1.5, "the wait honoured Retry-After"
    assert sorted(e["seq"] for e in loggly_events(r.requests[1:])) == list(range(5))


def test_400_is_rejected_without_retry(receiver, attach) -> None:
    r = receiver(lambda n: (400, {}, 0.0))
    handler = splunk(r.base, flush_interval_s=30)
    log_timed(attach(handler), 7)
    assert handler.flush(10)
    handler.close()
    stats = handler.stats()
    balanced_after_close(stats)
    assert (stats.dropped["rejected"], stats.retried, len(r.requests)) == (7, 0, 1)
    assert stats.last_error is not None and stats.last_error.startswith("HTTP 400")
    no_token_in(handler, SPLUNK_TOKEN)


def test_burst_larger_than_the_queue(receiver, attach) -> None:
    r = receiver(lambda n: (200, {}, 0.2))  # a slow receiver: the burst outruns it
    handler = loggly(r.base, max_queue=100, max_batch_events=50, flush_interval_s=0.01)
    logger = attach(handler)
    durations, snapshots = [], []
    for start in range(0, 1000, 100):
        durations += log_timed(logger, 100, start=start)
        snapshots.append(handler.stats())
    assert all(s.balanced for s in snapshots), "the books balance at every moment, not only at the end"
    assert handler.flush(15)
    handler.close()

    stats = handler.stats()
    balanced_after_close(stats)
    assert stats.emitted == 1000
    assert stats.dropped["queue_full"] >= 1000 - 100 - 50 * 2
    assert stats.sent + stats.dropped["queue_full"] == 1000
    seqs = [e["seq"] for e in loggly_events(r.requests)]
    assert len(seqs) == len(set(seqs)) == stats.sent, "delivered ones arrive once each"
    assert max(durations) < LOG_CALL_BOUND_S and statistics.median(durations) < TYPICAL_CALL_S


@pytest.mark.parametrize("make", [loggly, splunk])
def test_event_over_1mb_is_dropped_others_delivered(receiver, attach, make) -> None:
    r = receiver()
    handler = make(r.base, flush_interval_s=0.01)
    logger = attach(handler)
    log_timed(logger, 2)
    log_timed(logger, 1, start=2, size=1_100_000)
    log_timed(logger, 2, start=3)
    assert handler.flush(10)
    handler.close()

    stats = handler.stats()
    balanced_after_close(stats)
    assert (stats.sent, stats.dropped["too_large"]) == (4, 1)
    if make is loggly:
        seqs = sorted(e["seq"] for e in loggly_events(r.requests))
    else:
        seqs = sorted(e["event"]["seq"] for req in r.requests for e in splunk_envelopes(req.body))
    assert seqs == [0, 1, 3, 4]


def test_format_error_is_counted_not_printed(receiver, attach, capsys) -> None:
    handler = loggly(receiver().base, flush_interval_s=0.01)
    logger = attach(handler)
    logger.error("%d apples", "not a number")
    logger.error("fine")
    assert handler.flush(10)
    handler.close()
    stats = handler.stats()
    balanced_after_close(stats)
    assert (stats.sent, stats.dropped["format_error"]) == (1, 1)
    assert "TypeError" in (stats.last_error or "")
    assert capsys.readouterr().err == ""


# No recursion, no secrets --------------------------------------------------------------------------


def test_sender_records_never_shipped_nor_leaking_the_token(receiver) -> None:
    """On the root logger at DEBUG, the shipper sees its own HTTP client's records: none is shipped,
    none reaches another handler with the token in its URL."""
    r = receiver()
    handler = loggly(r.base, flush_interval_s=0.01)
    seen: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    root = logging.getLogger()
    capture, old_level = Capture(), root.level
    root.addHandler(handler)
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    try:
        logging.getLogger("app").error("from the app")
        assert handler.flush(10)
        logging.getLogger("app").error("again")  # a second request, on the kept-alive connection
        assert handler.flush(10)
    finally:
        root.removeHandler(handler)
        root.removeHandler(capture)
        root.setLevel(old_level)
        handler.close()

    stats = handler.stats()
    balanced_after_close(stats)
    assert stats.sent == 2
    assert [e["message"] for e in loggly_events(r.requests)] == ["from the app", "again"]
    assert not any(LOGGLY_TOKEN in message for message in seen)
    assert not any("HTTP Request" in message for message in seen)


def test_token_never_in_errors_or_repr(monkeypatch) -> None:
    with pytest.raises(ValueError) as caught:
        LogglyHandler(url=f"ftp://logs/bulk/{LOGGLY_TOKEN}/tag/x/")
    assert LOGGLY_TOKEN not in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(ValueError) as caught:
        SplunkHECHandler(f"https://user:{SPLUNK_TOKEN}@splunk:notaport", SPLUNK_TOKEN)
    assert SPLUNK_TOKEN not in str(caught.value)
    handler = SplunkHECHandler("https://splunk:8088", SPLUNK_TOKEN)
    no_token_in(handler, SPLUNK_TOKEN)
    handler.close()


# Configuration ---------------------------------------------------------------------------------------


def test_handlers_from_env() -> None:
    assert handlers_from_env({}) == []
    built = handlers_from_env(
        {
            "LOGGLY_TOKEN": LOGGLY_TOKEN,
            "SPLUNK_HEC_URL": "https://splunk:8088",
            "SPLUNK_HEC_TOKEN": SPLUNK_TOKEN,
        },
        max_queue=123,
    )
    assert [type(h) for h in built] == [LogglyHandler, SplunkHECHandler]
    assert built[0]._url == f"https://logs-01.loggly.com/bulk/{LOGGLY_TOKEN}/tag/profiler/"
    assert built[1]._url == "https://splunk:8088/services/collector/event"
    assert built[0]._queue_limits[0] == 123
    for handler in built:
        handler.close()
    (from_url,) = handlers_from_env({"LOGGLY_URL": "https://logs-01.loggly.com/bulk/tok/tag/x/"})
    assert from_url._url == "https://logs-01.loggly.com/bulk/tok/tag/x/" and "tok" not in repr(from_url)
    from_url.close()


@pytest.mark.parametrize(
    ("environ", "complaint"),
    [
        ({"SPLUNK_HEC_URL": "https://splunk:8088"}, "^SPLUNK_HEC_TOKEN is not set"),
        ({"SPLUNK_HEC_TOKEN": SPLUNK_TOKEN}, "^SPLUNK_HEC_URL is not set"),
        (
            {"SPLUNK_HEC_URL": "splunk:8088", "SPLUNK_HEC_TOKEN": SPLUNK_TOKEN},
            "^SPLUNK_HEC_URL: .*https://host",
        ),
        (
            {"SPLUNK_HEC_URL": "https://splunk:8088", "SPLUNK_HEC_TOKEN": "a b"},
            "^SPLUNK_HEC_TOKEN: .*whitespace",
        ),
        ({"LOGGLY_TOKEN": "not/a token"}, "^LOGGLY_TOKEN: .*customer token"),
        ({"LOGGLY_URL": "logs-01.loggly.com/bulk/x/"}, "^LOGGLY_URL: .*https://host"),
    ],
)
def test_bad_env_fails_at_construction_with_one_line(environ: dict[str, str], complaint: str) -> None:
    """One line that starts with the variable to fix, and never shows a token."""
    with pytest.raises(ValueError, match=complaint) as caught:
        handlers_from_env(environ)
    assert "\n" not in str(caught.value) and SPLUNK_TOKEN not in str(caught.value)


def test_a_bad_option_beside_a_good_env_is_not_blamed_on_a_variable() -> None:
    environ = {"SPLUNK_HEC_URL": "https://splunk:8088", "SPLUNK_HEC_TOKEN": SPLUNK_TOKEN}
    with pytest.raises(ValueError, match=r"^SplunkHECHandler: max_queue must be more than 0"):
        handlers_from_env(environ, max_queue=0)
    with pytest.raises(ValueError, match=r"^LogglyHandler: max_queue must be more than 0"):
        handlers_from_env({"LOGGLY_TOKEN": LOGGLY_TOKEN}, max_queue=0)


def test_bad_options_fail_at_construction() -> None:
    with pytest.raises(ValueError, match="max_event_bytes"):
        LogglyHandler(LOGGLY_TOKEN, max_event_bytes=2_000_000, max_batch_bytes=1_000_000)
    with pytest.raises(ValueError, match="max_queue must be more than 0"):
        LogglyHandler(LOGGLY_TOKEN, max_queue=0)
    with pytest.raises(ValueError, match="verify="):
        SplunkHECHandler("https://splunk:8088", SPLUNK_TOKEN, verify="/no/such/ca.pem")


def test_env_read_by_the_constructors(monkeypatch) -> None:
    monkeypatch.setenv("SPLUNK_HEC_URL", "https://splunk.example:8088")
    monkeypatch.setenv("SPLUNK_HEC_TOKEN", SPLUNK_TOKEN)
    handler = SplunkHECHandler()
    assert handler._url == "https://splunk.example:8088/services/collector/event"
    handler.close()


# The retry policy, as pure functions -----------------------------------------------------------------


def test_which_answers_are_retried() -> None:
    assert [outcome_of_status(s) for s in (200, 204, 429, 500, 503, 400, 401, 403, 404, 413, 301)] == (
        ["sent"] * 2 + ["retry"] * 3 + ["reject"] * 6
    )


def test_retry_after_parsing() -> None:
    now = time.time()
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    date = format_datetime(datetime.fromtimestamp(now, UTC) + timedelta(seconds=10), usegmt=True)
    assert 9.0 <= (parse_retry_after(date, now=now) or 0) <= 10.0


def test_backoff_grows_with_jitter_honours_retry_after_and_the_cap() -> None:
    rng = random.Random(7)
    for retry in range(8):
        ceiling = min(30.0, 0.5 * 2**retry)
        delay = backoff_delay(retry, base_s=0.5, cap_s=30.0, retry_after_s=None, rng=rng)
        assert ceiling / 2 <= delay <= ceiling
    hinted = backoff_delay(0, base_s=0.5, cap_s=30.0, retry_after_s=4.0, rng=rng)
    assert 4.0 <= hinted <= 4.4
    assert backoff_delay(0, base_s=0.5, cap_s=30.0, retry_after_s=3600.0, rng=rng) == 30.0
    assert backoff_delay(500, base_s=0.5, cap_s=30.0, retry_after_s=None, rng=rng) <= 30.0


# Lifetime: exit, fork, garbage collection -----------------------------------------------------------

_CHILD = """
import logging, sys, time
from profiler.monitor.shipping import LogglyHandler
handler = LogglyHandler(url=sys.argv[1], flush_interval_s=60, close_timeout_s=1.0, read_timeout_s=5.0)
logger = logging.getLogger("child")
logger.addHandler(handler)
if sys.argv[2] == "log":
    logger.error("at exit")
"""


def _run_child(url: str, mode: str = "log") -> tuple[subprocess.CompletedProcess[str], float]:
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, url, mode], capture_output=True, text=True, timeout=30
    )
    return done, time.monotonic() - began


def test_exit_delivers_what_is_queued(receiver) -> None:
    r = receiver()
    done, _ = _run_child(f"{r.base}/bulk/{LOGGLY_TOKEN}/tag/profiler/")
    assert done.returncode == 0 and done.stderr == ""
    assert [e["message"] for e in loggly_events(r.requests)] == ["at exit"]


def test_exit_is_bounded_when_the_receiver_hangs(hung) -> None:
    url = f"{hung.base}/bulk/{LOGGLY_TOKEN}/tag/profiler/"
    _, baseline = _run_child(url, mode="quiet")
    done, took = _run_child(url)
    assert done.returncode == 0 and done.stderr == ""
    assert 1.0 <= took < baseline + 1.0 + 0.5, "exit waits close_timeout_s for a hung receiver, no longer"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_ships_its_own_records_only(receiver, attach) -> None:
    r = receiver()
    handler = loggly(r.base, flush_interval_s=30)
    logger = attach(handler)
    logger.error("parent before fork")  # queued in the parent, waiting for its interval
    pid = os.fork()
    if pid == 0:  # the child: its own books, its own sender
        code = 1
        try:
            logger.error("child")
            ok = handler.flush(5)
            stats = handler.stats()
            code = 0 if ok and (stats.emitted, stats.sent) == (1, 1) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert handler.flush(10)
    assert sorted(e["message"] for e in loggly_events(r.requests)) == ["child", "parent before fork"]
    assert (handler.stats().emitted, handler.stats().sent) == (1, 1)


def test_a_dropped_handler_stops_its_thread() -> None:
    handler = loggly(f"http://127.0.0.1:{unused_port()}", flush_interval_s=30)
    logger = logging.getLogger("test_shipping.dropped")
    logger.propagate = False
    logger.addHandler(handler)
    logger.error("one")
    logger.removeHandler(handler)
    thread = handler._sender._thread  # type: ignore[union-attr]
    del handler
    gc.collect()
    thread.join(5)
    assert not thread.is_alive()
