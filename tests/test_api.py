"""The Python API: profiler.session, profiler.profile, profiler.load_run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

import profiler
from profiler.api import NotARunError
from profiler.simulator import SimulatorProcess, load_scenario

MESSAGES = [{"role": "user", "content": "Two books?"}]


@pytest.fixture(scope="module")
def client() -> Iterator[openai.OpenAI]:
    with SimulatorProcess(load_scenario("instant")) as simulator:
        yield openai.OpenAI(base_url=simulator.base_url, api_key="sk-api-test", max_retries=0)


def test_session_writes_a_run_that_loads_back(client: openai.OpenAI, tmp_path: Path) -> None:
    with profiler.session(output_dir=tmp_path / "run") as run:
        client.chat.completions.create(model="gpt-3.5-turbo", messages=MESSAGES)
        client.chat.completions.with_raw_response.create(model="gpt-3.5-turbo", messages=MESSAGES)
        for _ in client.chat.completions.create(model="gpt-3.5-turbo", messages=MESSAGES, stream=True):
            pass
    assert run.summary["requests"] == {"started": 3, "succeeded": 3, "failed": 0}
    assert len(run.requests) == 3 and run.requests[2]["stream"] is True
    assert (tmp_path / "run" / "summary.json").is_file()

    loaded = profiler.load_run(tmp_path / "run")
    assert loaded.summary == json.loads((tmp_path / "run" / "summary.json").read_text())
    # The same type a run produces, with the same figures and calls: the files are its serialisation.
    assert type(loaded) is type(run.run) and loaded.figures == run.run.figures  # type: ignore[union-attr]
    loaded_segments, segments = loaded.calls[2].segments, run.calls[2].segments
    assert [s.phase for s in loaded_segments] == [s.phase for s in segments]
    assert [s.end for s in loaded_segments] == pytest.approx(
        [s.end for s in segments], abs=1e-6
    )  # µs in files
    assert [c.x_request_id for c in loaded.calls] == [c.x_request_id for c in run.calls]
    assert [r["x_request_id"] for r in loaded.requests] == [r["x_request_id"] for r in run.requests]
    frame = loaded.to_pandas()
    assert len(frame) == 3
    assert {"server_wait_ms", "network_ms", "local_ms", "latency_ms", "x_request_id"} <= set(frame.columns)
    assert (frame["latency_ms"] >= frame["network_ms"]).all()


def test_session_in_memory(client: openai.OpenAI) -> None:
    with profiler.session() as run:
        client.chat.completions.create(model="gpt-3.5-turbo", messages=MESSAGES)
    assert run.output_dir is None
    assert run.summary["requests"]["started"] == 1
    assert run.calls[0].ok and run.requests[0]["x_request_id"].startswith("req_")


def test_calls_outside_the_session_are_not_recorded(client: openai.OpenAI) -> None:
    client.chat.completions.create(model="gpt-3.5-turbo", messages=MESSAGES)
    with profiler.session() as run:
        pass
    assert run.summary["requests"]["started"] == 0


def test_session_saves_what_it_measured_when_the_block_raises(client: openai.OpenAI, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="boom"), profiler.session(output_dir=tmp_path / "run") as run:
        client.chat.completions.create(model="gpt-3.5-turbo", messages=MESSAGES)
        raise RuntimeError("boom")
    assert run.summary["requests"]["started"] == 1
    assert profiler.load_run(tmp_path / "run").summary["requests"]["succeeded"] == 1


def test_decorator_keeps_the_last_session(client: openai.OpenAI, tmp_path: Path) -> None:
    @profiler.profile(output_dir=tmp_path / "job")
    def job(calls: int) -> str:
        for _ in range(calls):
            client.chat.completions.create(model="gpt-3.5-turbo", messages=MESSAGES)
        return "done"

    assert job(2) == "done"
    assert job.last_session.summary["requests"]["started"] == 2  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("choice", "files"),
    [("cprofile", ["cprofile.prof"]), ("pyinstrument", ["pyinstrument.html"]), ("both", ["cprofile.prof"])],
)
def test_session_with_a_profiler_attached_says_so_everywhere(
    client: openai.OpenAI, tmp_path: Path, choice: str, files: list[str]
) -> None:
    with profiler.session(output_dir=tmp_path / "run", profiler=choice) as run:
        client.chat.completions.create(model="gpt-3.5-turbo", messages=MESSAGES)
    assert all((tmp_path / "run" / name).is_file() for name in files)
    written = json.loads((tmp_path / "run" / "summary.json").read_text())["passes"]
    assert written == run.summary["passes"]  # the file and the returned run agree
    assert written["figures"] == "measure, with profilers attached"
    assert written["profiles"] == (["cprofile", "pyinstrument"] if choice == "both" else [choice])


# The least a summary must have to be read as a run: its schema, calls, phases and wall time.
_WHOLE_STUB = '{"schema": "profiler.run/1", "requests": {"started": 0}, "breakdown_ms": {}, "wall_s": 0}'


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing", "no such directory"),
        (lambda p: p, "no summary.json"),
        (lambda p: (p / "summary.json").write_text('{"schema": "other/1"}') and p, "not a profiler.run/1"),
        (lambda p: (p / "summary.json").write_text("{") and p, "not valid JSON"),
        (
            lambda p: (p / "summary.json").write_text('{"schema": "profiler.run/1"}') and p,
            r"not a whole profiler.run/1 summary \(no requests, breakdown_ms, wall_s\)",
        ),
        (
            lambda p: (p / "summary.json").write_text(_WHOLE_STUB.replace('"started": 0', '"ok": 0')) and p,
            r"not a whole profiler.run/1 summary \(no requests.started\)",
        ),
        (
            lambda p: (p / "summary.json").write_text("{}") and p / "summary.json",
            "summary.json: not a directory",
        ),
        (
            lambda p: (
                (p / "summary.json").write_text(_WHOLE_STUB.replace("{", '{"latency_ms": "fast", ', 1)) and p
            ),
            r"summary.json: not a profiler.run/1 summary of this version \(AttributeError",
        ),
        (
            lambda p: (
                (p / "summary.json").write_text(_WHOLE_STUB)
                and (p / "requests.jsonl").write_text("\n[1, 2]\n")
                and p
            ),
            r"requests.jsonl, line 2: not a requests.jsonl record",
        ),
    ],
)
def test_load_run_rejects_what_is_not_a_run(tmp_path: Path, make: object, message: str) -> None:
    with pytest.raises(NotARunError, match=message):
        profiler.load_run(make(tmp_path))  # type: ignore[operator]


def test_a_session_replaces_the_run_in_its_directory_never_mixes_them(tmp_path: Path) -> None:
    out = tmp_path / "mix"
    with profiler.session(output_dir=out, profiler="cprofile"):
        sum(range(1000))
    assert (out / "cprofile.prof").exists()
    with profiler.session(output_dir=out, profiler="none"):
        pass
    assert not (out / "cprofile.prof").exists() and not (out / "local.prof").exists()
    assert json.loads((out / "summary.json").read_text())["config"]["profiler"] == "none"
