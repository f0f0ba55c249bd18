"""``python -m profiler.run [options] SCRIPT|-m MODULE``: the user's own programs, unchanged."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from profiler.simulator import SimulatorProcess, load_scenario
from tests.conftest import clean_env, run_cli, start_cli

CALL = 'client.chat.completions.create(model="gpt-3.5-turbo", messages=[{"role": "user", "content": "hi"}])'

PROGRAMS = {
    "sync": f"""
        import sys, openai
        client = openai.OpenAI()
        for i in range(3):
            reply = {CALL}
            print(i, len(reply.choices), reply.choices[0].message.content)
        print("argv", sys.argv[1:])
    """,
    "async_gather": f"""
        import asyncio, openai
        async def main():
            client = openai.AsyncOpenAI()
            replies = await asyncio.gather(*({CALL.replace("client.", "client.")} for _ in range(20)))
            print(len(replies))
        asyncio.run(main())
    """,
    "thread_pool": f"""
        import openai
        from concurrent.futures import ThreadPoolExecutor
        client = openai.OpenAI()
        with ThreadPoolExecutor(4) as pool:
            replies = list(pool.map(lambda _: {CALL}, range(8)))
        print(len(replies))
    """,
    "own_http_client": f"""
        import httpx2, openai
        http = httpx2.Client(timeout=10)
        client = openai.OpenAI(http_client=http)
        for _ in range(2):
            {CALL}
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-3.5-turbo", messages=[{{"role": "user", "content": "hi"}}])
        print(raw.headers["x-request-id"][:4], len(raw.parse().choices))
    """,
    "stream_heavy_loop": """
        import time, openai
        client = openai.OpenAI()
        def digest(text):  # heavy per-chunk work: 40 ms of CPU
            end = time.thread_time() + 0.04
            while time.thread_time() < end:
                pass
        for _ in range(2):
            for chunk in client.chat.completions.create(
                model="gpt-3.5-turbo", messages=[{"role": "user", "content": "hi"}], stream=True):
                for choice in chunk.choices:
                    digest(choice.delta.content or "")
    """,
    "raises": f"""
        import openai
        client = openai.OpenAI()
        {CALL}
        raise ValueError("the program failed")
    """,
    "exit3": f"""
        import sys, openai
        client = openai.OpenAI()
        {CALL}
        sys.exit(3)
    """,
}


def _write(directory: Path, name: str) -> Path:
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(PROGRAMS[name]))
    return path


def _profile(tmp_path: Path, *target: str, scenario: str = "instant", profiler: str = "none"):  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    result = run_cli(
        "--simulate",
        "--scenario",
        scenario,
        "--profiler",
        profiler,
        "--quiet",
        "--output-dir",
        str(out),
        *target,
    )
    summary = json.loads((out / "summary.json").read_text())
    records = [json.loads(line) for line in (out / "requests.jsonl").read_text().splitlines()]
    return result, summary, records


def _assert_phases(records: list[dict]) -> None:
    for record in records:
        phases = record["phases_ms"]
        assert phases["server_wait"] > 0 and phases["network"] >= phases["server_wait"]
        assert record["latency_ms"] >= phases["network"]
        assert record["x_request_id"].startswith("req_")


def test_sync_script_gets_its_argv_and_every_call(tmp_path: Path) -> None:
    script = _write(tmp_path, "sync")
    result, summary, records = _profile(tmp_path, str(script), "--flag", "value")
    assert result.returncode == 0, result.stderr
    assert "argv ['--flag', 'value']" in result.stdout
    assert summary["requests"] == {"started": 3, "succeeded": 3, "failed": 0}
    _assert_phases(records)
    assert "Verdict:" in result.stdout


def test_output_is_unchanged_by_the_instrumentation(tmp_path: Path) -> None:
    script = _write(tmp_path, "sync")
    profiled, _, _ = _profile(tmp_path, str(script))
    with SimulatorProcess(load_scenario("instant")) as simulator:  # same seed: the same replies
        env = {**os.environ, "OPENAI_BASE_URL": simulator.base_url, "OPENAI_API_KEY": "sk-plain"}
        plain = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60
        )
    assert plain.returncode == 0
    assert plain.stdout.strip() and plain.stdout in profiled.stdout


def test_async_program_with_gather(tmp_path: Path) -> None:
    script = _write(tmp_path, "async_gather")
    result, summary, records = _profile(tmp_path, str(script), scenario="default", profiler="pyinstrument")
    assert result.returncode == 0, result.stderr
    assert "20" in result.stdout
    assert summary["requests"]["succeeded"] == 20
    _assert_phases(records)
    # 20 calls in flight at once: each call's own wait is the server's (~0.6 s), not the sum.
    assert max(r["phases_ms"]["server_wait"] for r in records) < 2000
    assert summary["split_s"]["network"] < 2.0
    # pyinstrument ran inside the loop: await time shows as [await], not as select().
    assert "[await]" in (tmp_path / "out" / "pyinstrument.html").read_text()


def test_thread_pool(tmp_path: Path) -> None:
    result, summary, records = _profile(tmp_path, str(_write(tmp_path, "thread_pool")))
    assert result.returncode == 0 and "8" in result.stdout
    assert summary["requests"]["succeeded"] == 8
    _assert_phases(records)


def test_client_with_its_own_http_client_and_raw_response(tmp_path: Path) -> None:
    result, summary, records = _profile(tmp_path, str(_write(tmp_path, "own_http_client")))
    assert result.returncode == 0, result.stderr
    assert "req_ 1" in result.stdout
    assert summary["requests"]["succeeded"] == 3
    _assert_phases(records)
    assert records[0]["attempt_details"][0]["reused_connection"] is False
    assert records[1]["attempt_details"][0]["reused_connection"] is True


def test_streaming_loop_with_heavy_work_is_blamed_on_the_loop(tmp_path: Path) -> None:
    result, summary, records = _profile(
        tmp_path, str(_write(tmp_path, "stream_heavy_loop")), scenario="default"
    )
    assert result.returncode == 0, result.stderr
    assert summary["requests"]["succeeded"] == 2
    for record in records:
        assert record["phases_ms"]["caller"] > record["phases_ms"]["download"]
    verdict = " ".join(result.stdout.split("Verdict:")[1].split())
    assert verdict.startswith("Local processing"), verdict


def test_module_mode(tmp_path: Path) -> None:
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "worker.py").write_text(textwrap.dedent(PROGRAMS["sync"]))
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "profiler.run",
            "--simulate",
            "--scenario",
            "instant",
            "--profiler",
            "none",
            "--quiet",
            "--output-dir",
            str(out),
            "-m",
            "mypkg.worker",
            "--level",
            "2",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        env=clean_env(),
    )
    assert result.returncode == 0, result.stderr
    assert "argv ['--level', '2']" in result.stdout
    assert json.loads((out / "summary.json").read_text())["requests"]["succeeded"] == 3


def test_a_script_that_raises(tmp_path: Path) -> None:
    result, summary, _ = _profile(tmp_path, str(_write(tmp_path, "raises")), profiler="cprofile")
    assert result.returncode == 1
    assert "Traceback (most recent call last):" in result.stderr
    assert "ValueError: the program failed" in result.stderr
    assert "runpy" not in result.stderr and "profiler/script.py" not in result.stderr
    assert summary["requests"]["succeeded"] == 1
    assert (tmp_path / "out" / "cprofile.prof").is_file()


def test_a_script_that_exits_3(tmp_path: Path) -> None:
    result, summary, _ = _profile(tmp_path, str(_write(tmp_path, "exit3")))
    assert result.returncode == 3
    assert summary["requests"]["succeeded"] == 1
    assert summary["config"]["exit_code"] == 3
    # The program's own collections only: 3 young ones in three runs here. The instrumentation's
    # set-up before the program started (patching the SDK) once added 20 more to every run.
    assert sum(summary["gc"]["collections"].values()) <= 6, summary["gc"]


@pytest.mark.parametrize(
    ("target", "message"),
    [(["missing.py"], "No such file"), (["-m"], "expected one argument")],
)
def test_bad_program_is_a_usage_error(tmp_path: Path, target: list[str], message: str) -> None:
    result = run_cli("--output-dir", str(tmp_path / "out"), *target)
    assert result.returncode == 2
    assert message in result.stderr


def test_ctrl_c_in_the_program_keeps_what_was_measured(tmp_path: Path) -> None:
    import signal
    import time

    script = tmp_path / "forever.py"
    script.write_text(
        textwrap.dedent(f"""
        import openai
        client = openai.OpenAI()
        print("started", flush=True)
        while True:
            {CALL}
    """)
    )
    out = tmp_path / "out"
    process = start_cli(
        "--simulate", "--scenario", "default", "--quiet", "--output-dir", str(out), str(script)
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 30
    while "started" not in process.stdout.readline() and time.monotonic() < deadline:
        pass
    time.sleep(2.5)  # a few calls of ~0.6 s complete
    process.send_signal(signal.SIGINT)
    stdout, _ = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Interrupted" in stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] is True
    assert summary["requests"]["succeeded"] >= 2 and summary["requests"]["failed"] == 0
    assert not (out / "cprofile.prof").exists()  # no profiler pass after Ctrl-C


SIDE_EFFECT = f"""
    import threading, time, openai
    from pathlib import Path

    client = openai.OpenAI()
    with (Path(__file__).parent / "side-effects.log").open("a") as log:
        log.write("ran\\n")  # a file written, a message sent: must happen once per profiling
    def crunch_in_a_worker_thread():
        end = time.thread_time() + 0.3
        while time.thread_time() < end:
            sum(i * i for i in range(500))
        {CALL}
    worker = threading.Thread(target=crunch_in_a_worker_thread)
    worker.start()
    worker.join()
    {CALL}
"""


@pytest.mark.parametrize("profiler", ["pyinstrument", "cprofile"])
def test_the_program_runs_once_and_every_thread_is_profiled(tmp_path: Path, profiler: str) -> None:
    script = tmp_path / "effects.py"
    script.write_text(textwrap.dedent(SIDE_EFFECT))
    result, summary, records = _profile(tmp_path, str(script), profiler=profiler)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "side-effects.log").read_text() == "ran\n"  # once, with the default options
    assert len(records) == 2 and summary["requests"]["succeeded"] == 2
    assert summary["passes"] == {"figures": "measure, with profilers attached", "profiles": [profiler]}
    # The worker thread's own function is in the profile of that same run.
    hotspots = summary["attribution"][profiler]["hotspots"]
    assert any(h["function"] in ("crunch_in_a_worker_thread", "<genexpr>") for h in hotspots), hotspots
    if profiler == "pyinstrument":
        assert "crunch_in_a_worker_thread" in (tmp_path / "out" / "pyinstrument.html").read_text()
    else:
        import pstats

        functions = {f[2] for f in pstats.Stats(str(tmp_path / "out" / "cprofile.prof")).stats}  # type: ignore[attr-defined]
        assert "crunch_in_a_worker_thread" in functions


def test_both_profilers_on_one_run_is_refused_in_one_line(tmp_path: Path) -> None:
    script = tmp_path / "effects.py"
    script.write_text(textwrap.dedent(SIDE_EFFECT))
    result = run_cli("--simulate", "--profiler", "both", "--output-dir", str(tmp_path / "out"), str(script))
    assert result.returncode == 2 and "--separate-passes" in result.stderr
    assert not (tmp_path / "side-effects.log").exists()  # refused before it ran


def test_separate_passes_repeat_the_program_and_say_so(tmp_path: Path) -> None:
    script = tmp_path / "effects.py"
    script.write_text(textwrap.dedent(SIDE_EFFECT))
    out = tmp_path / "out"
    result = run_cli(
        "--simulate", "--scenario", "instant", "--profiler", "pyinstrument", "--separate-passes",
        "--quiet", "--output-dir", str(out), str(script),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "side-effects.log").read_text() == "ran\nran\n"  # measured, then profiled
    summary = json.loads((out / "summary.json").read_text())
    assert summary["passes"] == {"figures": "measure (trace only)", "profiles": ["pyinstrument"]}
    assert summary["requests"]["started"] == 2  # the figures are the first run's only


GC_DURING_A_STREAM = """
    import gc, json, sys, threading, time, openai
    heap = [[] for _ in range(800_000)]  # containers the collector has to walk: a long pause
    client = openai.OpenAI()
    stream = client.chat.completions.create(
        model="gpt-3.5-turbo", messages=[{"role": "user", "content": "hi"}], stream=True)
    chunks = iter(stream)
    next(c for c in chunks if c.choices and c.choices[0].delta.content)

    def collect():  # while the main thread waits in the stream for chunks that keep arriving
        time.sleep(0.05)
        began = time.perf_counter()
        gc.collect()
        json.dump({"gc_ms": (time.perf_counter() - began) * 1000}, open(sys.argv[1], "w"))

    collector = threading.Thread(target=collect)
    collector.start()
    for _ in chunks:
        pass
    collector.join()
"""


def test_a_collection_inside_a_call_is_its_contention_and_named_so(tmp_path: Path) -> None:
    """The program's own thread collects garbage while a stream's chunks arrive every 5 ms: the call
    reads them late by about the pause, which the program timed itself (the ground truth here)."""
    script, truth_path, out = tmp_path / "collects.py", tmp_path / "truth.json", tmp_path / "out"
    script.write_text(textwrap.dedent(GC_DURING_A_STREAM))
    scenario = tmp_path / "steady.json"
    scenario.write_text(json.dumps({"name": "steady", "ttft_ms": 20, "token_ms": 5, "jitter_ms": 0,
                                    "output_tokens": 200}))  # fmt: skip
    result = run_cli(
        "--simulate", "--scenario", str(scenario), "--profiler", "none", "--quiet", "--wire-arrivals",
        "--output-dir", str(out), str(script), str(truth_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    pause_ms = json.loads(truth_path.read_text())["gc_ms"]
    assert pause_ms > 30, "the heap was too small to make a pause worth measuring"
    summary = json.loads((out / "summary.json").read_text())
    gc_figures = summary["gc"]
    assert gc_figures["collections"]["2"] >= 1
    # The callbacks run inside the program's own timing of gc.collect(); a collection while the
    # heap was built may have taken as long.
    assert gc_figures["longest_ms"] >= pause_ms - 2.0
    assert gc_figures["calls_paused"] == 1 and gc_figures["of_calls"] == 1
    # The whole pause fell while the call was in flight; smaller collections add to it.
    assert pause_ms - 2.0 <= gc_figures["calls_ms"] <= gc_figures["pause_ms"]
    assert gc_figures["calls_contention_ms"] <= gc_figures["calls_local_ms"] <= gc_figures["calls_ms"]
    if re.search(r"packet capture: (\d+) of \1 reads", summary["target"]["arrival_timestamps"]):
        # Every chunk's arrival is known (root): chunks kept arriving during the pause (one every
        # 5 ms), so all of it but the wait for the first one is the call's contention. That wait is
        # at most the server's longest gap between two chunks (its ground truth: 5 ms as planned, more
        # when the machine is loaded), plus 2 ms.
        (served,) = [json.loads(line) for line in (out / "ground_truth.jsonl").read_text().splitlines()]
        first_chunk_wait_ms = max(5.0, *served["token_delays_ms"]) + 2.0
        assert gc_figures["calls_contention_ms"] >= pause_ms - first_chunk_wait_ms
    else:
        # Without a capture, the reads after the pause merged the chunks that arrived during it and
        # carry the newest one's stamp: the call's contention is only a lower bound.
        assert "packet capture unavailable" in summary["target"]["arrival_timestamps"]
