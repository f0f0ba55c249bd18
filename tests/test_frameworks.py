"""Real programs written with the frameworks that build on the SDK, each run once under
``python -m profiler.run --simulate``: what every one of them calls is recorded, with the right
operation/api/stream, one attempt per request the simulator's ground truth logged.

The programs (``tests/programs/``) start in parallel, once per session, on first use; each
test waits for its own. None of them may reach past the loopback: a ``sitecustomize`` put on
their path refuses (and notes) any connection or name lookup elsewhere, so a framework phoning
home (tracing export, price lists, tokenizer downloads) fails the test instead of hanging.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, clean_env

pytestmark = pytest.mark.slow

PROGRAMS = REPO / "tests" / "programs"
TIMEOUT_S = 90

# Loopback only: anything else is refused and written down for the test to report.
_GUARD = """
import errno, os, socket

_LOG = os.environ["PROFILER_TEST_OUTSIDE_LOG"]
_LOCAL = ("127.", "::1", "localhost", "0.0.0.0")


def _refuse(what):
    with open(_LOG, "a", encoding="utf-8") as handle:
        handle.write(repr(what) + "\\n")
    raise OSError(errno.ENETUNREACH, f"test guard: no network beyond the loopback ({what!r})")


_getaddrinfo, _connect, _connect_ex = socket.getaddrinfo, socket.socket.connect, socket.socket.connect_ex


def getaddrinfo(host, *args, **kwargs):
    name = host.decode("ascii") if isinstance(host, bytes) else host
    if name and not name.startswith(_LOCAL):
        _refuse(("getaddrinfo", name))
    return _getaddrinfo(host, *args, **kwargs)


def _check(address):
    if isinstance(address, tuple) and address and not str(address[0]).startswith(_LOCAL):
        _refuse(("connect", address))


def connect(self, address):
    _check(address)
    return _connect(self, address)


def connect_ex(self, address):
    _check(address)
    return _connect_ex(self, address)


socket.getaddrinfo, socket.socket.connect, socket.socket.connect_ex = getaddrinfo, connect, connect_ex
"""


@dataclass(frozen=True)
class Call:
    """What one recorded call must say: its api, operation, streamed or not, the SDK method."""

    api: str
    stream: bool = False
    method: str | None = None
    operation: str = "chat"
    # A stream whose chunks nobody parses (with_streaming_response's raw lines) has no TTFT.
    timed: bool = field(default=True, compare=False)


def chat(stream: bool = False, method: str = "chat.completions.create") -> Call:
    return Call("chat.completions", stream, method)


def responses(stream: bool = False, method: str = "responses.create") -> Call:
    return Call("responses", stream, method)


POST = Call("chat.completions", False, None)  # litellm: the SDK's low-level client.post
POST_STREAM = Call("chat.completions", True, None)


@dataclass(frozen=True)
class Program:
    name: str
    calls: tuple[Call, ...]
    output: str  # a regular expression the program's stdout must match (re.search, multiline)
    tools: bool = False  # a tool round trip: the first reply calls functions, the answer comes after


FRAMEWORK_PROGRAMS = (
    Program("langchain_invoke", (chat(),), r"'output_tokens': \d+"),
    Program("langchain_stream", (chat(stream=True),), r"\w+"),
    Program(
        "langchain_structured",
        (chat(method="chat.completions.parse"),),
        r"^Person name='[^']*' age=\d+ hobbies=\[",
    ),
    Program("langchain_tools", (chat(), chat()), r"tool calls: \[\{'name': 'get_weather'", tools=True),
    Program("langchain_responses", (responses(), responses(stream=True)), r"\w+"),
    Program("agents_function_tool", (responses(), responses()), r"\w+", tools=True),
    Program("agents_streamed", (responses(stream=True), responses(stream=True)), r"^final: \S", tools=True),
    Program("agents_chat_completions", (chat(), chat()), r"^city='[^']*' summary=", tools=True),
    # pydantic-ai offers the output as a `final_result` tool beside get_weather; the simulator calls
    # both at once and pydantic-ai stops at the final result (its default end_strategy="early").
    Program("pydantic_ai_chat", (chat(), chat(stream=True)), r"^city='[^']*' temperature_c=[\d.]+"),
    Program("pydantic_ai_responses", (responses(),), r"^city='[^']*' temperature_c=[\d.]+"),
    Program("litellm_completion", (POST, POST_STREAM), r"Usage\(completion_tokens=\d+"),
    Program("litellm_acompletion", (POST, POST_STREAM), r"\w+"),
)


def _sdk_methods() -> Program:
    """tests/programs/sdk_methods.py: its own table of the calls it makes, in order."""
    namespace: dict[str, Any] = {}
    source = (PROGRAMS / "sdk_methods.py").read_text(encoding="utf-8")
    table = source[source.index("CALLS:") : source.index("]\n", source.index("CALLS:")) + 1]
    exec(table.replace("CALLS: list[tuple[str, str | None, str, str, bool]]", "CALLS"), namespace)
    calls = tuple(
        Call(api, stream, method, operation, timed="with_streaming_response" not in label)
        for label, method, api, operation, stream in namespace["CALLS"]
    )
    labels = "".join(rf"^{re.escape(label)}: .+\n" for label, *_ in namespace["CALLS"])
    return Program("sdk_methods", calls, labels + rf"^done: {len(calls)} calls$")


SDK_METHODS = _sdk_methods()
ALL = (*FRAMEWORK_PROGRAMS, SDK_METHODS)
BY_NAME = {program.name: program for program in ALL}


@dataclass
class Outcome:
    program: Program
    directory: Path
    returncode: int
    stdout: str
    stderr: str
    outside: list[str]
    calls: list[dict[str, Any]] = field(default_factory=list)
    truth: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    def explain(self) -> str:
        return (
            f"{self.program.name}: exit {self.returncode}\n"
            f"--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"
        )


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _run(program: Program, root: Path, guard: Path) -> Outcome:
    directory = root / program.name
    outside = root / f"{program.name}.outside"
    env = clean_env(
        PYTHONPATH=os.pathsep.join([str(guard), str(REPO)]),
        PROFILER_TEST_OUTSIDE_LOG=str(outside),
        OPENAI_AGENTS_DISABLE_TRACING="1",
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        COLUMNS="160",
    )
    for name in ("LANGCHAIN_TRACING_V2", "LANGSMITH_TRACING", "LANGCHAIN_API_KEY", "LANGSMITH_API_KEY"):
        env.pop(name, None)
    command = [sys.executable, "-m", "profiler.run", "--simulate", "--scenario", "instant"]
    command += ["--profiler", "none", "--quiet", "--output-dir", str(directory)]
    command.append(str(PROGRAMS / f"{program.name}.py"))
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, env=env, cwd=REPO)
    summary_path = directory / "summary.json"
    return Outcome(
        program,
        directory,
        done.returncode,
        done.stdout,
        done.stderr,
        outside.read_text(encoding="utf-8").splitlines() if outside.exists() else [],
        _read_jsonl(directory / "requests.jsonl"),
        _read_jsonl(directory / "ground_truth.jsonl"),
        json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.exists() else {},
    )


@pytest.fixture(scope="session")
def launched(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Future[Outcome]]]:
    """Every selected program, started at once on a few workers (the machine's cores, at least 2)."""
    wanted: set[str] = set()
    for item in request.session.items:
        if getattr(item, "module", None) is None or not item.module.__name__.endswith("test_frameworks"):
            continue
        params = getattr(getattr(item, "callspec", None), "params", {})
        wanted |= {params["name"]} if "name" in params else set(BY_NAME)  # a test of several programs
    root = tmp_path_factory.mktemp("frameworks")
    guard = root / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(_GUARD, encoding="utf-8")
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1) + 1) as pool:
        # The slowest first: the sdk_methods program and litellm's imports.
        order = sorted(wanted, key=lambda name: (name != "sdk_methods", not name.startswith("litellm"), name))
        yield {name: pool.submit(_run, BY_NAME[name], root, guard) for name in order}


def outcome_of(launched: dict[str, Future[Outcome]], name: str) -> Outcome:
    outcome = launched[name].result(timeout=TIMEOUT_S * 2)
    assert outcome.returncode == 0, outcome.explain()
    return outcome


names = pytest.mark.parametrize("name", [program.name for program in ALL])
tool_programs = pytest.mark.parametrize("name", [p.name for p in FRAMEWORK_PROGRAMS if p.tools])


@names
def test_program_runs_and_its_output_is_sane(launched: dict[str, Future[Outcome]], name: str) -> None:
    outcome = outcome_of(launched, name)
    assert re.search(outcome.program.output, outcome.stdout, re.MULTILINE), outcome.explain()
    assert outcome.outside == [], f"{name} tried to leave the loopback: {outcome.outside}"
    assert "Traceback" not in outcome.stderr, outcome.explain()


@names
def test_every_call_recorded_with_its_api(launched: dict[str, Future[Outcome]], name: str) -> None:
    outcome = outcome_of(launched, name)
    seen = [Call(c["api"], c["stream"], c["method"], c["operation"]) for c in outcome.calls]
    assert seen == list(outcome.program.calls)
    assert all(call["ok"] and call["status"] == 200 for call in outcome.calls), outcome.calls
    # Each went to the server and waited for it: network time, whatever transport the framework uses.
    assert all(call["phases_ms"]["server_wait"] > 0 for call in outcome.calls), outcome.calls
    requests = outcome.summary["requests"]
    assert requests == {"started": len(seen), "succeeded": len(seen), "failed": 0}


@names
def test_attempts_match_the_ground_truth(launched: dict[str, Future[Outcome]], name: str) -> None:
    outcome = outcome_of(launched, name)
    assert sum(call["attempts"] for call in outcome.calls) == len(outcome.truth)
    assert outcome.summary["attempts"]["total"] == len(outcome.truth)
    assert outcome.summary["target"]["requests_served"] == len(outcome.truth)
    served = {line["request_id"]: line for line in outcome.truth}
    assert sorted(served) == sorted(call["x_request_id"] for call in outcome.calls)
    for call in outcome.calls:  # the request the simulator saw is the one recorded
        truth = served[call["x_request_id"]]
        assert (truth["api"], truth["stream"], truth["status"]) == (
            call["api"],
            call["stream"],
            call["status"],
        )
        assert truth["model"] == call["model"]


@names
def test_streams_have_a_time_to_first_token(launched: dict[str, Future[Outcome]], name: str) -> None:
    outcome = outcome_of(launched, name)
    assert len(outcome.calls) == len(outcome.program.calls)
    for call, expected in zip(outcome.calls, outcome.program.calls, strict=True):
        if call["stream"] and expected.timed:
            assert call["ttft_ms"] is not None and call["ttft_ms"] > 0, call
            assert call["ttft_ms"] <= call["latency_ms"]
            assert sum(call["ttft_parts_ms"].values()) == pytest.approx(call["ttft_ms"], abs=0.01)
        else:
            assert call.get("ttft_ms") is None, call


@tool_programs
def test_a_tool_round_trip_makes_two_calls(launched: dict[str, Future[Outcome]], name: str) -> None:
    outcome = outcome_of(launched, name)
    assert len(outcome.calls) >= 2
    kinds = [line["content_kind"] for line in outcome.truth]
    assert kinds[0] == "tool_calls" and "tool_calls" not in kinds[1:], kinds


def test_pydantic_ai_output_is_a_tool_call(launched: dict[str, Future[Outcome]]) -> None:
    for name in ("pydantic_ai_chat", "pydantic_ai_responses"):
        truth = outcome_of(launched, name).truth
        assert truth[0]["content_kind"] == "tool_calls", truth


def test_agents_sdk_defaults_to_the_responses_api(launched: dict[str, Future[Outcome]]) -> None:
    assert outcome_of(launched, "agents_function_tool").summary["calls_by_api"] == {"responses": 2}
    assert outcome_of(launched, "agents_chat_completions").summary["calls_by_api"] == {"chat.completions": 2}
