"""``report.html``: built from a real run, opened in headless Chromium (Debian's ``chromium``).

The browser is driven through the DevTools protocol over ``--remote-debugging-pipe``
(JSON messages on file descriptors 3 and 4), so the test needs no Python package
beyond the standard library, and it sees what ``--dump-dom`` cannot: console
errors by level, every network request, and Bokeh's canvases inside shadow roots.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import re
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from profiler.report.html import artifact_links, render_report, report_from_directory, write_report
from profiler.report.html.page import BOKEH_RESOURCES
from profiler.report.html.sample import SLOWEST, WATERFALL_LIMIT, sample_calls
from profiler.report.html.waterfall import waterfall_sources
from profiler.runs import Run, load_run
from profiler.runs.documents import run_from_documents, summary_document
from profiler.trace.model import AttemptTrace, Segment
from tests.conftest import REPO, run_cli
from tests.synthetic import call, run_of, shifted, trace_from

ARTIFACTS = REPO / "test-artifacts"

# The formatting rule of docs/report.md, written out again here so that the page is
# checked against the documentation, not against the code that wrote it.
UNIT_FORMATS = {
    "count": lambda v: f"{int(v):,}",
    "ms": lambda v: f"{v:,.1f} ms",
    "s": lambda v: f"{v:,.2f} s",
    "fraction": lambda v: f"{v * 100:.1f}%",
    "rps": lambda v: f"{v:,.2f}/s",
}
CARD_FIELDS = (
    "requests.started",
    "requests.succeeded",
    "requests.failed",
    "error_rate",
    "attempts.total",
    "attempts.retried",
    "latency_ms.p50",
    "latency_ms.p99",
    "ttft_ms.p50",
    "ttft_ms.p99",
    "wall_s",
    "split_s.network",
    "split_s.backoff",
    "split_s.local",
    "gc.pause_ms",
    "gc.longest_ms",
    "gc.calls_ms",
    "gc.calls_local_ms",
)


def _lookup(document: dict[str, Any], path: str) -> Any:
    value: Any = document
    for key in path.split("."):
        if not isinstance(value, dict) or value.get(key) is None:
            return None
        value = value[key]
    return value


# ---------------------------------------------------------------- headless Chromium


def _chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: the test command must `apt-get install chromium` (Debian's)")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); CI fails instead")
    return path


class Browser:
    """One headless Chromium, one page, spoken to with DevTools messages (NUL-terminated JSON)."""

    def __init__(self, executable: str, profile_dir: Path) -> None:
        profile_dir.mkdir(parents=True, exist_ok=True)
        self.log = profile_dir / "chromium.log"
        self._log_file = self.log.open("wb")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def wire_pipes() -> None:  # in the child: Chromium reads fd 3, writes fd 4
            # Lift both ends above 4 first: a pipe end may itself be fd 3 or 4, and dup2 onto
            # itself would keep it close-on-exec (or one end would overwrite the other).
            reader = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
            writer = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(reader, 3)
            os.dup2(writer, 4)

        self._process = subprocess.Popen(
            [
                executable,
                "--headless",
                "--no-sandbox",  # root in a container: the sandbox needs user namespaces
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--remote-debugging-pipe",
                f"--user-data-dir={profile_dir}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log_file,
            preexec_fn=wire_pipes,
            close_fds=False,  # fds 3 and 4 must survive exec; Python's own fds are close-on-exec
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self._session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=True)

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._from_child], [], [], remaining)[0]:
                raise TimeoutError("no answer from chromium")
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise ConnectionError(f"chromium closed the DevTools pipe; its log ends: {self._log_tail()}")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def _log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:]

    def call(self, method: str, *, session: bool = False, timeout: float = 30.0, **params: Any) -> Any:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self._session
        try:
            os.write(self._to_child, json.dumps(message).encode() + b"\0")
        except BrokenPipeError as exc:
            raise ConnectionError(f"chromium is gone; its log ends: {self._log_tail()}") from exc
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for_event(self, method: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            seen = next((e for e in self.events if e.get("method") == method), None)
            if seen is not None:
                return seen
            self.events.append(self._read(deadline))

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url: str, width: int = 1400, height: int = 1000) -> None:
        self.call(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        self.call("Page.navigate", session=True, url=url)
        self.wait_for_event("Page.loadEventFired")

    def screenshot(self, path: Path, width: int = 1400) -> None:
        """The whole page, however tall, as a PNG."""
        height = int(self.evaluate("document.documentElement.scrollHeight"))
        self.call(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        time.sleep(0.5)  # let Bokeh lay out again at the new size
        shot = self.call("Page.captureScreenshot", session=True, format="png", captureBeyondViewport=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    def problems(self) -> list[str]:
        """Uncaught exceptions, console errors and warnings, and browser log errors, as text."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                found.append(
                    f"uncaught: {details.get('exception', {}).get('description') or details['text']}"
                )
            elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert", "warning"):
                text = " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
                found.append(f"console.{params['type']}: {text}")
            elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
                found.append(f"log {params['entry']['level']}: {params['entry']['text']}")
        return found

    def requested_urls(self) -> list[str]:
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]

    def close(self) -> None:
        with contextlib.suppress(TimeoutError, ConnectionError, RuntimeError):
            self.call("Browser.close", timeout=5)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        os.close(self._to_child)
        os.close(self._from_child)
        self._log_file.close()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    chromium = Browser(_chromium(), tmp_path / "chromium-profile")
    try:
        yield chromium
    finally:
        chromium.close()


# What the page looks like once Bokeh has drawn: read from inside shadow roots, where Bokeh
# renders, and from the canvases' pixels (the waterfall's server_wait bars are #4e79a7).
PROBE = """
(() => {
  const canvases = (root) => {
    const found = [];
    const walk = (node) => {
      if (node.tagName === 'CANVAS') found.push(node);
      if (node.shadowRoot) walk(node.shadowRoot);
      for (const child of node.children || []) walk(child);
    };
    walk(root);
    return found;
  };
  const colored = (canvas, [r, g, b]) => {
    if (!canvas.width || !canvas.height) return 0;
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < data.length; i += 4)
      if (Math.abs(data[i] - r) < 4 && Math.abs(data[i + 1] - g) < 4 && Math.abs(data[i + 2] - b) < 4) n++;
    return n;
  };
  const plots = {};
  for (const el of document.querySelectorAll('.plot')) {
    const found = canvases(el);
    plots[el.id] = {canvases: found.length, blue: found.reduce((n, c) => n + colored(c, [78, 121, 167]), 0)};
  }
  const figures = [...document.querySelectorAll('[data-field]')].map(el => ({
    field: el.dataset.field, unit: el.dataset.unit, value: el.dataset.value, text: el.textContent,
  }));
  const roots = window.Bokeh ? Bokeh.documents.flatMap(d => d.roots().map(r => r.name)) : [];
  const note = document.getElementById('waterfall-note');
  return {plots, figures, roots, note: note && note.textContent, bokeh: window.Bokeh && Bokeh.version};
})()
"""


IDLE = """
(() => document.querySelectorAll('.plot').length === 0 ||
  (window.Bokeh !== undefined && Bokeh.documents.length > 0 && Bokeh.documents.every(d => d.is_idle)))()
"""


def _rendered(browser: Browser, timeout: float = 30.0) -> dict[str, Any]:
    """The probe's reading once Bokeh says every plot has rendered (or at the deadline).

    The probe runs once: reading a canvas back more than once makes Chromium warn.
    """
    deadline = time.monotonic() + timeout
    while not browser.evaluate(IDLE) and time.monotonic() < deadline:
        time.sleep(0.1)
    return browser.evaluate(PROBE)


def _assert_offline_and_clean(browser: Browser, page: Path) -> None:
    assert browser.problems() == []
    foreign = [u for u in browser.requested_urls() if not u.startswith(("file:", "data:", "blob:"))]
    assert foreign == [], f"the page asked the network for {foreign}"
    html = page.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc\s*=\s*[\"']?(https?:)?//", html, re.IGNORECASE)
    assert not re.search(r"<link[^>]*\bhref\s*=\s*[\"']?(https?:)?//", html, re.IGNORECASE)


def _assert_figures_equal_summary(state: dict[str, Any], summary: dict[str, Any]) -> None:
    figures = {f["field"]: f for f in state["figures"]}
    expected = [f for f in CARD_FIELDS if f in figures or _lookup(summary, f) is not None]
    missing = [f for f in expected if f not in figures]
    assert missing == [], f"summary figures not on the page: {missing}"
    for field, shown in figures.items():
        value = _lookup(summary, field)
        assert json.loads(shown["value"]) == value, field
        text = "—" if value is None else UNIT_FORMATS[shown["unit"]](value)
        assert shown["text"] == text, (field, shown["text"], text)


# ---------------------------------------------------------------- a real run


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], list[dict[str, Any]]]:
    out = tmp_path_factory.mktemp("report") / "run"
    result = run_cli(
        "--scenario", "flaky", "--requests", "30", "--concurrency", "4", "--stream",
        "--output-dir", str(out), "--quiet",
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr  # 1: some calls failed, as flaky makes them
    report_from_directory(out)
    summary = json.loads((out / "summary.json").read_text())
    records = [json.loads(line) for line in (out / "requests.jsonl").read_text().splitlines()]
    return out, summary, records


def test_real_run_report_in_chromium(
    browser: Browser, real_run: tuple[Path, dict[str, Any], list[dict[str, Any]]]
) -> None:
    out, summary, records = real_run
    page = out / "report.html"
    browser.open(page.as_uri())
    state = _rendered(browser)
    browser.screenshot(ARTIFACTS / "report.png")

    _assert_offline_and_clean(browser, page)
    _assert_figures_equal_summary(state, summary)
    assert {"waterfall", "latency", "ttft", "split"} <= set(state["roots"])
    waterfall = state["plots"]["plot-waterfall"]
    assert waterfall["canvases"] >= 1 and waterfall["blue"] > 500, waterfall  # the bars are drawn
    assert state["note"] == f"showing all {len(records)} calls."
    if summary["errors"] or summary["attempt_errors"]:
        assert "errors" in state["roots"]


def test_real_run_report_content(real_run: tuple[Path, dict[str, Any], list[dict[str, Any]]]) -> None:
    out, summary, records = real_run
    html = (out / "report.html").read_text(encoding="utf-8")
    assert (out / "report.html").stat().st_size < 5_000_000
    for record in records:  # every call is in the waterfall, with its ids for the tooltip
        assert f'"#{record["id"]}"' in html
        if record["x_request_id"]:
            assert record["x_request_id"] in html
    for kind in summary["attempt_errors"]:
        assert f"attempt failed: {kind}" in html
    for key in ("requests", "summary", "cprofile", "local_profile", "pyinstrument_html", "speedscope"):
        name = Path(summary["artifacts"][key]).name
        assert f"href='{name}'" in html, key  # relative: the directory can move
    assert str(out) not in html  # no absolute paths of this machine in links
    assert "snakeviz -s -H 127.0.0.1 cprofile.prof" in html
    assert 'id="hotspots" data-source="cprofile"' in html
    ours = html.replace(BOKEH_RESOURCES.render_js(), "")  # Bokeh's library names headers in its own code
    assert len(ours) < len(html) - 1_000_000
    for secret in ("Authorization", "Bearer ", "sk-", "api_key"):
        assert secret not in ours, secret


def _copies(run: Run, count: int) -> Run:
    """A run of ``count`` calls: rounds of copies of ``run``'s calls, each round after the one before."""
    span = max(c.end for c in run.calls)
    calls = [
        shifted(run.calls[index % len(run.calls)], (index // len(run.calls)) * span, index + 1)
        for index in range(count)
    ]
    many = Run.build(
        calls, wall=(0.0, span * (count // len(run.calls) + 1)), cpu_s=1.0, started_at=run.started_at
    )
    many.artifacts = dict(run.artifacts)
    return many


def test_10000_requests_stay_usable_in_chromium(
    browser: Browser, real_run: tuple[Path, dict[str, Any], list[dict[str, Any]]], tmp_path: Path
) -> None:
    out, _, _ = real_run
    many = _copies(load_run(out), 10_000)
    started = time.perf_counter()
    page = write_report(tmp_path, many)
    assert time.perf_counter() - started < 10  # the benchmark holds the real target (3 s); CI is slower
    assert page.stat().st_size < 5_000_000
    started = time.perf_counter()
    browser.open(page.as_uri())
    state = _rendered(browser)
    drawn_after = time.perf_counter() - started
    browser.screenshot(ARTIFACTS / "report-10000.png")
    _assert_offline_and_clean(browser, page)
    assert state["plots"]["plot-waterfall"]["blue"] > 100  # 500 thin rows over a long time axis
    assert state["note"].startswith("showing 500 of 10,000 calls (the slowest, the failed")
    print(f"10,000 requests: drawn {drawn_after:.1f} s after opening")
    assert drawn_after < 5, f"the page took {drawn_after:.1f} s to draw"


# ---------------------------------------------------------------- edge cases


def _has_id(html: str, element_id: str) -> bool:
    return re.search(rf"\bid=[\"']{re.escape(element_id)}[\"']", html) is not None


def _empty_run(**target: object) -> Run:
    return run_of([], wall_s=0.5, **target)


def test_zero_requests_renders_a_page_that_says_so() -> None:
    html = render_report(_empty_run())
    assert "No calls were recorded." in html
    assert all(_has_id(html, name) for name in ("no-errors", "no-hotspots", "no-streams"))
    assert 'data-field="requests.started" data-unit="count" data-value=\'0\'>0<' in html
    assert 'data-field="latency_ms.p50" data-unit="ms" data-value=\'null\'>—<' in html
    assert 'data-field="error_rate" data-unit="fraction" data-value=\'null\'>—<' in html  # no calls: unknown


def test_zero_requests_summary_has_unknown_rates_not_empty_ones() -> None:
    document = summary_document(_empty_run())
    assert document["error_rate"] is None and document["error_rates"] is None
    assert run_from_documents(document, []).figures.error_rates is None


def test_zero_requests_in_chromium(browser: Browser, tmp_path: Path) -> None:
    run = _empty_run()
    run.interrupted = True
    page = write_report(tmp_path, run)
    browser.open(page.as_uri())
    state = _rendered(browser)
    _assert_offline_and_clean(browser, page)
    _assert_figures_equal_summary(state, run.summary)
    assert "plot-waterfall" not in state["plots"]


def test_large_runs_are_sampled_and_say_so() -> None:
    calls = [call(i, i * 3.0, 50.0 + (i * 37) % 400, ok=i % 97 != 0) for i in range(1, 10_001)]
    sample = sample_calls(calls)
    assert len(sample.calls) == WATERFALL_LIMIT and sample.total == 10_000
    slowest = sorted(calls, key=lambda c: c.e2e, reverse=True)[:SLOWEST]
    shown = {c.call_id for c in sample.calls}
    assert {c.call_id for c in slowest} <= shown
    assert sum(1 for c in sample.calls if not c.ok) >= 100  # failures are not sampled away
    assert [c.start for c in sample.calls] == sorted(c.start for c in sample.calls)
    html = render_report(run_of(calls))
    assert "showing 500 of 10,000 calls (the slowest, the failed and an even sample" in html
    assert len(html) < 5_000_000


def test_retries_backoff_and_interrupted_calls_are_drawn() -> None:
    first = AttemptTrace(start=0.001, end=0.101, status=429, x_request_id="req_a", error_kind="rate_limit")
    second = AttemptTrace(start=0.600, end=0.890, status=200, x_request_id="req_b")
    segments = [
        Segment("local_pre", 0.0, 0.001),
        Segment("server_wait", 0.001, 0.101, 0),
        Segment("backoff", 0.101, 0.600),
        Segment("server_wait", 0.600, 0.890, 1),
        Segment("local_post", 0.890, 0.900),
    ]
    retried = trace_from(1, segments, [first, second])
    cut = call(2, 10.0, 40.0, interrupted=True)
    html = render_report(run_of([retried, cut]))
    assert '"backoff"' in html  # the 101 → 600 ms gap
    assert "attempt failed: rate_limit" in html
    assert "interrupted (Ctrl-C)" in html


def test_a_streams_caller_time_is_drawn_as_it_is_counted() -> None:
    """The waterfall draws the trace's own segments: the caller between chunks is local, not download."""
    segments = [Segment("local_pre", 0.0, 0.001), Segment("server_wait", 0.001, 0.101, 0)]
    cursor = 0.101
    for _ in range(5):  # 20 ms waiting for each chunk, then 30 ms of the caller's own work
        segments += [
            Segment("download", cursor, cursor + 0.02, 0),
            Segment("caller", cursor + 0.02, cursor + 0.05),
        ]
        cursor += 0.05
    stream = trace_from(1, segments, [AttemptTrace(start=0.001, end=cursor, status=200)], stream=True)
    phases, _, _ = waterfall_sources(sample_calls([stream]))
    drawn: dict[str, float] = {}
    for part, left, right in zip(phases["part"], phases["left"], phases["right"], strict=True):
        drawn[part] = drawn.get(part, 0.0) + (right - left)
    assert drawn["caller"] == pytest.approx((stream.phases["caller"] or 0) * 1000)
    assert drawn["download"] == pytest.approx((stream.phases["download"] or 0) * 1000)


def test_links_only_to_files_in_the_directory(tmp_path: Path) -> None:
    (tmp_path / "requests.jsonl").write_text("")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "deep.json").write_text("{}")
    elsewhere = tmp_path.parent / "elsewhere.prof"
    artifacts = {
        "requests": str(tmp_path / "requests.jsonl"),
        "summary": str(tmp_path / "summary.json"),  # written after the report, by contract
        "cprofile": str(tmp_path / "cprofile.prof"),  # missing: no link
        "outside": str(elsewhere),
        "deep": str(tmp_path / "nested" / "deep.json"),
        "report": str(tmp_path / "report.html"),  # the page itself: no link
    }
    assert artifact_links(tmp_path, artifacts) == {
        "requests": "requests.jsonl",
        "summary": "summary.json",
        "deep": "nested/deep.json",
    }


@pytest.mark.parametrize(
    ("base_url", "shown"),
    [
        ("https://user:sk-secret@api.example.com/v1?key=sk-secret", "https://api.example.com/v1"),
        ("http://[::1]:8000/v1", "http://[::1]:8000/v1"),  # an IPv6 host keeps its brackets
    ],
)
def test_no_credentials_from_the_target_url(base_url: str, shown: str) -> None:
    html = render_report(_empty_run(base_url=base_url))
    assert "sk-secret" not in html and f"Target: {shown}</p>" in html


def test_missing_attribution_and_no_streams_are_said(
    real_run: tuple[Path, dict[str, Any], list[dict[str, Any]]],
) -> None:
    html = render_report(run_of([call(1, 0.0, 100.0), call(2, 10.0, 100.0)]))
    assert _has_id(html, "no-hotspots") and _has_id(html, "no-streams")


def test_all_failed(tmp_path: Path) -> None:
    html = render_report(run_of([call(i, i * 10.0, 100.0, ok=False) for i in range(1, 6)]))
    assert "call failed: server_error" in html and _has_id(html, "errors-table")
    assert 'data-field="error_rate" data-unit="fraction" data-value=\'1.0\'>100.0%<' in html


def test_unknown_server_processing_is_shown_as_unknown() -> None:
    html = render_report(run_of([call(1, 0.0, 100.0)]))  # a server without openai-processing-ms
    assert 'data-field="breakdown_ms.server_processing.mean" data-unit="ms" data-value=\'null\'>—<' in html
    assert "0 of 1 calls carried <code>openai-processing-ms</code>" in html


def test_the_harness_sees_console_errors(browser: Browser, tmp_path: Path) -> None:
    """A page with a console error, an uncaught exception and a remote script must not pass."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><head><script src='https://example.invalid/x.js'></script>"
        "<script>console.error('boom'); setTimeout(() => { throw new Error('bang'); });</script>"
        "</head><body></body></html>"
    )
    browser.open(page.as_uri())
    deadline = time.monotonic() + 10.0  # the exception is thrown from a timer: wait for it, bounded
    problems = ""
    while time.monotonic() < deadline and not ("boom" in problems and "bang" in problems):
        time.sleep(0.1)
        problems = " | ".join(browser.problems())
    assert "console.error: boom" in problems and "bang" in problems
    assert any(u.startswith("https://example.invalid") for u in browser.requested_urls())
