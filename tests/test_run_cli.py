"""``python -m profiler.run`` end to end: real SDK, real HTTP, the embedded simulator."""

from __future__ import annotations

import json
import pstats
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from profiler.report.snakeviz import server_command as snakeviz_command
from tests.conftest import free_port, run_cli, start_cli

SECRET = "sk-test-secret-key-that-must-not-leak-0123456789"


def _artifact_text(directory: Path) -> str:
    return "\n".join(
        p.read_text(errors="replace") for p in directory.iterdir() if p.suffix in (".json", ".jsonl", ".html")
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--requests", "0"], "must be at least 1"),
        (["--scenario", "no-such-scenario"], "unknown scenario"),
        (["--profiler", "perf"], "invalid choice"),
        (["--base-url", "https://api.example.com/v1"], "OPENAI_API_KEY is not set"),
        (["--base-url", "not a url"], "is not an http"),
        (["--max-retries", "-5"], "--max-retries: must not be negative"),
        (["--local-work-ms", "nan"], "--local-work-ms: must be a finite number"),
        (["--timeout", "inf"], "--timeout"),
        (["--base-url", "http://127.0.0.1:99999/v1"], "Port out of range"),
        (["--base-url", "ftp://alice:SECRET@127.0.0.1/v1?token=TOKEN"], "is not an http(s) URL"),
        (["--output-dir", "/sys/kernel"], "cannot write to output directory /sys/kernel"),
        (["--uvloop"], "--uvloop needs --client async"),
        (["--workers", "3"], "--workers needs --locust"),
        (["--output-dir", ""], "--output-dir/-o: an empty path"),
        (["--arrival", "constant"], "--arrival needs --rate"),
        (["--view", "--profiler", "none"], "--view serves the cProfile profile: not with --profiler none"),
        (["--view", "--locust"], "a load test writes none"),
        (["--locust", "--tls"], "--tls: not with --locust"),
        (["--locust", "--rate", "2", "--arrival", "constant"], "--arrival: not with --locust"),
        (["--locust", "--profiler", "none"], "--profiler: not with --locust"),
        (["--requests", "3", "app.py"], "--requests applies to the sample workload"),
        (["--stream", "-m", "json.tool"], "--stream applies to the sample workload"),
    ],
)
def test_bad_usage_exits_2_with_one_line(args: list[str], message: str) -> None:
    keyed = "OPENAI_API_KEY" not in message  # a key in the environment must not show either
    result = run_cli(*args, env={"OPENAI_API_KEY": SECRET} if keyed else None)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()  # no usage block before it
    assert len(lines) == 1 and lines[0].startswith("python -m profiler.run: error: "), result.stderr
    assert message in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    for secret in ("SECRET", "TOKEN", "alice", SECRET):
        assert secret not in result.stderr + result.stdout


def test_a_scenario_nested_too_deep_is_one_line(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    result = run_cli("--scenario", str(deep))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].endswith("more than the 128 allowed"), result.stderr


def test_an_output_dir_holding_a_run_is_refused_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "run"
    flaky = ("--scenario", "flaky", "--requests", "12", "--max-retries", "0")
    first = run_cli(*flaky, "--profiler", "none", "-q", "-o", str(out))
    assert first.returncode == 0, first.stderr
    assert (out / "errors.jsonl").stat().st_size > 0  # the flaky run failed some calls
    again = run_cli("--scenario", "instant", "--requests", "2", "--profiler", "none", "-q", "-o", str(out))
    assert again.returncode == 2 and "already holds a run" in again.stderr and "--force" in again.stderr
    assert (out / "errors.jsonl").stat().st_size > 0, "a refused run changes nothing"
    forced = run_cli(
        "--scenario", "instant", "--requests", "2", "--profiler", "none", "-q", "-o", str(out), "--force"
    )
    assert forced.returncode == 0, forced.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["requests"]["failed"] == 0
    errors = out / "errors.jsonl"
    assert not errors.exists() or errors.read_text() == "", "no error of the old run beside the new summary"
    assert not (out / "cprofile.prof").exists() and not (out / "pyinstrument.html").exists()


def test_help_documents_every_option() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for option in (
        "--requests",
        "--concurrency",
        "--stream",
        "--profiler",
        "--scenario",
        "--local-work-ms",
        "--base-url",
        "--model",
        "--output-dir",
        "--view",
        "--timeout",
        "--max-retries",
    ):
        assert option in result.stdout


def test_default_run_writes_every_artifact(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run_cli(
        "--scenario", "instant", "--requests", "6", "--output-dir", str(out), env={"OPENAI_API_KEY": ""}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["schema"] == "profiler.run/1"
    assert summary["requests"] == {"started": 6, "succeeded": 6, "failed": 0}
    assert summary["error_rate"] == 0.0
    for phase in (
        "local_pre",
        "connect",
        "send",
        "server_wait",
        "server_processing",
        "download",
        "local_post",
        "network",
        "local",
    ):
        assert set(summary["breakdown_ms"][phase]) >= {"mean", "p50", "p99", "total"}
    # Steps no call took (plain HTTP, no retry) have no figures; connect's are over the new connections.
    assert summary["breakdown_ms"]["tls"] is None and summary["breakdown_ms"]["backoff"] is None
    assert summary["breakdown_ms"]["connect"]["count"] == summary["connections"]["new"] >= 1
    assert summary["breakdown_ms"]["server_processing"]["count"] == 6  # the simulator sends the header
    assert summary["server_processing_reported"] == {"calls": 6, "of": 6}

    lines = (out / "requests.jsonl").read_text().splitlines()
    assert len(lines) == 6
    records = [json.loads(line) for line in lines]
    assert all(r["operation"] == "chat" and r["api"] == "chat.completions" for r in records)

    # The simulator saw the measurement pass and both profiler passes; each measured call is one it
    # logged, with its status, and no measured wait is shorter than the server's own.
    truth = {
        t["request_id"]: t for t in map(json.loads, (out / "ground_truth.jsonl").read_text().splitlines())
    }
    assert len(truth) == 18
    assert summary["target"]["requests_served"] == 6  # by the end of the measurement pass
    for record in records:
        served = truth[record["x_request_id"]]
        assert served["status"] == record["status"] == 200
        assert record["phases_ms"]["server_wait"] >= served["server_wait_ms"] - 2.0

    stats = pstats.Stats(str(out / "cprofile.prof"))
    assert any(func[2] == "ask" for func in stats.stats)  # type: ignore[attr-defined]
    assert "pyinstrument" in (out / "pyinstrument.html").read_text()
    speedscope = json.loads((out / "pyinstrument.speedscope.json").read_text())
    assert speedscope["$schema"].startswith("https://www.speedscope.app")

    assert "Verdict:" in result.stdout
    assert f"snakeviz -s -H 127.0.0.1 {out / 'cprofile.prof'}" in result.stdout.replace("\n", "")
    assert "trace-only" in result.stdout


def test_no_key_or_authorization_in_artifacts(tmp_path: Path) -> None:
    out = tmp_path / "run"
    port = free_port()
    # A local endpoint with a key set: the key is used but must never be written down.
    result = run_cli(
        "--base-url",
        f"http://127.0.0.1:{port}/v1",
        "--requests",
        "2",
        "--max-retries",
        "0",
        "--profiler",
        "none",
        "--output-dir",
        str(out),
        env={"OPENAI_API_KEY": SECRET},
    )
    assert result.returncode == 1
    text = _artifact_text(out) + result.stdout + result.stderr
    assert SECRET not in text
    assert "bearer " not in text.lower() and '"authorization"' not in text.lower()


def test_unreachable_target_records_failures_and_exits_1(tmp_path: Path) -> None:
    out = tmp_path / "run"
    port = free_port()  # nothing listens there
    result = run_cli(
        "--base-url",
        f"http://127.0.0.1:{port}/v1",
        "--requests",
        "3",
        "--max-retries",
        "1",
        "--profiler",
        "none",
        "--output-dir",
        str(out),
    )
    assert result.returncode == 1
    assert "No request succeeded" in result.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["requests"] == {"started": 3, "succeeded": 0, "failed": 3}
    assert summary["errors"] == {"connection": 3}
    assert summary["attempt_errors"] == {"connection": 6}
    assert summary["attempts"] == {"total": 6, "retried": 3}
    records = [json.loads(line) for line in (out / "requests.jsonl").read_text().splitlines()]
    assert [r["error_kind"] for r in records] == ["connection"] * 3


def test_stream_run_reports_streaming_metrics(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run_cli(
        "--scenario", "instant", "--stream", "--requests", "4", "--profiler", "none", "--output-dir", str(out)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((out / "summary.json").read_text())
    for key in ("ttft_ms", "itl_ms", "tpot_ms"):
        assert set(summary[key]) >= {"mean", "p50", "p90", "p99", "max"}
    assert summary["attempt_errors"] == {}  # the SDK closing a finished stream is not a failure
    # The sync SDK closes a streamed response's connection after [DONE]: every call connects anew.
    assert summary["connections"] == {"new": 4, "reused": 0}
    assert "TTFT" in result.stdout


def test_snakeviz_loads_our_profile(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert (
        run_cli(
            "--scenario", "instant", "--requests", "2", "--profiler", "cprofile", "--output-dir", str(out)
        ).returncode
        == 0
    )
    profile = (out / "cprofile.prof").resolve()
    port = free_port()
    server = subprocess.Popen(
        snakeviz_command(profile, port), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        body = ""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/snakeviz/{profile}", timeout=5) as page:
                    body = page.read().decode()
                break
            except OSError:
                time.sleep(0.2)
        assert "snakeviz" in body.lower()
        assert "prompt.py" in body  # the profile's functions are in the page's data
    finally:
        server.terminate()
        server.wait(10)


def _children_of(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def test_ctrl_c_keeps_what_was_measured_and_leaves_no_simulator(tmp_path: Path) -> None:
    out = tmp_path / "run"
    process = start_cli("--scenario", "slow", "--requests", "50", "--quiet", "--output-dir", str(out))
    time.sleep(6)  # the simulator starts, a few slow requests complete
    simulators = _children_of(process.pid)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stdout + stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] is True
    assert 1 <= summary["requests"]["started"] < 50
    assert summary["requests"]["failed"] == 0  # the call cut by Ctrl-C is not a failure
    records = [json.loads(line) for line in (out / "requests.jsonl").read_text().splitlines()]
    cut = [r for r in records if r["interrupted"]]
    assert cut and all(r["ok"] is None for r in cut)  # nor a success
    assert all(r["ok"] is True for r in records if not r["interrupted"])
    assert "Interrupted" in stdout
    for profile in summary["passes"]["profiles"]:  # only passes that ran and left a profile
        assert any(out.glob(f"{profile}*")), profile
    time.sleep(1)
    assert simulators and all(not Path(f"/proc/{pid}").exists() for pid in simulators)


def test_view_serves_the_profile_with_snakeviz(tmp_path: Path) -> None:
    out = tmp_path / "run"
    process = start_cli(
        "--scenario",
        "instant",
        "--requests",
        "2",
        "--profiler",
        "cprofile",
        "--quiet",
        "--view",
        "--output-dir",
        str(out),
        stderr=subprocess.STDOUT,
        COLUMNS="300",
    )
    try:
        url = ""
        assert process.stdout is not None
        for line in process.stdout:
            if "Serving the profile with snakeviz:" in line:
                url = line.split("snakeviz:")[1].split()[0]
                break
        assert url.startswith("http://127.0.0.1:")
        body = ""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not body:
            try:
                with urllib.request.urlopen(url, timeout=5) as page:
                    body = page.read().decode()
            except OSError:
                time.sleep(0.2)
        assert "prompt.py" in body
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(20)


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


@pytest.mark.slow
def test_a_billion_requests_interrupted_keeps_memory_bounded_and_saves(tmp_path: Path) -> None:
    out = tmp_path / "run"
    process = start_cli(
        "--scenario", "instant", "--requests", "1000000000", "--concurrency", "4", "--profiler", "none",
        "--quiet", "--output-dir", str(out),
    )  # fmt: skip
    peak = 0.0
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:  # calls run: memory must not grow with --requests
        peak = max(peak, _peak_rss_mb(process.pid))
        time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr
    assert peak < 200, f"peak RSS {peak:.0f} MB"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] is True and summary["requests"]["started"] > 100
    assert summary["config"]["requests"] == 1_000_000_000
