"""The simulator, driven by the real openai SDK over real HTTP, as the profiler will drive it."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest

from profiler.simulator import (
    BUILTIN_SCENARIOS,
    FAULT_KINDS,
    Scenario,
    ScenarioError,
    SimulatorError,
    SimulatorProcess,
    load_scenario,
)
from profiler.simulator.content import write_replies
from profiler.simulator.faults import FaultPlan
from profiler.simulator.settle import SETTLE_PATH, Settled, settle

pytestmark = pytest.mark.timeout(60)

REPO_ROOT = Path(__file__).resolve().parents[1]
MESSAGES: list[Any] = [{"role": "user", "content": "Recommend two novels for a long train ride."}]
TOKENS = 6
INSTANT = dataclasses.replace(BUILTIN_SCENARIOS["instant"], output_tokens=TOKENS)

Start = Callable[..., SimulatorProcess]


@pytest.fixture(scope="module")
def start(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Start]:
    """Starts a simulator for a scenario, once per module, with its own ground-truth file."""
    running: dict[str, SimulatorProcess] = {}
    with ExitStack() as stack:

        def start(scenario: Scenario) -> SimulatorProcess:
            key = scenario.to_json()
            if key not in running:
                path = tmp_path_factory.mktemp("sim") / "ground_truth.jsonl"
                running[key] = stack.enter_context(SimulatorProcess(scenario, ground_truth_path=path))
            return running[key]

        yield start


@pytest.fixture(scope="module")
def instant(start: Start) -> SimulatorProcess:
    return start(INSTANT)


def client(sim: SimulatorProcess, **options: Any) -> openai.OpenAI:
    options.setdefault("max_retries", 0)
    return openai.OpenAI(base_url=sim.base_url, api_key="sk-test", **options)


def with_faults(**faults: float) -> Scenario:
    return dataclasses.replace(INSTANT, faults=faults, retry_after_s=0.05, stall_s=2.0)


def ground_truth(
    sim: SimulatorProcess, request_id: str | None = None, *, count: int = 1, **fields: Any
) -> list[dict[str, Any]]:
    """The ground-truth lines for one request id (or with these field values), waiting for `count`
    of them for a while: a line is written when its request's handler ends, not when the client returns."""
    assert sim.ground_truth_path is not None
    if request_id is not None:
        fields["request_id"] = request_id
    deadline = time.monotonic() + 3.0
    while True:
        lines = sim.ground_truth_path.read_text().splitlines() if sim.ground_truth_path.exists() else []
        records = [json.loads(line) for line in lines]
        records = [r for r in records if all(r[name] == value for name, value in fields.items())]
        if len(records) >= count or time.monotonic() > deadline:
            return records
        time.sleep(0.02)


# --- replies ---------------------------------------------------------------------------------


def test_plain_completion_has_n_choices_and_usage(instant: SimulatorProcess) -> None:
    completion = client(instant).chat.completions.create(model="gpt-3.5-turbo", messages=MESSAGES, n=3)

    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == "gpt-3.5-turbo"
    assert [choice.index for choice in completion.choices] == [0, 1, 2]
    contents = [choice.message.content or "" for choice in completion.choices]
    assert all(re.match(r'1\. ".+" by .+\n2\. ".+" by .+', text) for text in contents)
    assert len(set(contents)) == 3, "each choice recommends different books"
    assert {choice.finish_reason for choice in completion.choices} == {"stop"}
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 3 * TOKENS
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + 3 * TOKENS
    assert completion.system_fingerprint


def test_stream_sends_role_chunk_one_chunk_per_token_and_usage(instant: SimulatorProcess) -> None:
    stream = client(instant).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)

    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[0].choices[0].delta.content == ""
    content = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content) == TOKENS
    assert all(c.object == "chat.completion.chunk" and c.model == "gpt-4o-mini" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-2].choices[0].delta.content is None
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == TOKENS


def test_stream_interleaves_choices(instant: SimulatorProcess) -> None:
    chunks = list(client(instant).chat.completions.create(model="m", messages=MESSAGES, n=2, stream=True))

    for index in (0, 1):
        mine = [c.choices[0] for c in chunks if c.choices[0].index == index]
        assert mine[0].delta.role == "assistant"
        assert sum(1 for choice in mine if choice.delta.content) == TOKENS
        assert mine[-1].finish_reason == "stop"
    indexes = [c.choices[0].index for c in chunks if c.choices[0].delta.content]
    assert indexes[:4] == [0, 1, 0, 1]
    assert chunks[-1].usage is None, "no usage chunk unless stream_options asks for it"


def test_every_response_carries_openai_headers(instant: SimulatorProcess) -> None:
    raw = client(instant).chat.completions.with_raw_response.create(model="gpt-3.5-turbo", messages=MESSAGES)
    not_found = httpx2.get(f"{instant.base_url}/nowhere")

    for headers in (raw.headers, not_found.headers):
        assert re.fullmatch(r"req_[0-9a-f]{32}", headers["x-request-id"])
        assert int(headers["openai-processing-ms"]) >= 0
        assert headers["openai-version"] == "2020-10-01"
        assert "openai-model" in headers
        for name in ("limit", "remaining", "reset"):
            assert headers[f"x-ratelimit-{name}-requests"]
            assert headers[f"x-ratelimit-{name}-tokens"]
    assert raw.headers["openai-model"] == "gpt-3.5-turbo"
    assert raw.headers["x-request-id"] != not_found.headers["x-request-id"]
    assert not_found.status_code == 404
    assert not_found.json()["error"]["message"] == "Invalid URL (GET /v1/nowhere)"


def test_models_are_listed(instant: SimulatorProcess) -> None:
    assert "gpt-3.5-turbo" in {model.id for model in client(instant).models.list()}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "could not parse the JSON body"),
        (b'{"messages": [{"role": "user", "content": "hi"}]}', "you must provide a model parameter"),
        (b'{"model": "gpt-3.5-turbo"}', "Missing required parameter: 'messages'."),
        (b'{"model": "gpt-3.5-turbo", "messages": []}', "Invalid 'messages': empty array"),
        (b'{"model": "gpt-3.5-turbo", "messages": "hi"}', "Invalid type for 'messages'"),
    ],
)
def test_invalid_requests_get_openai_shaped_400(instant: SimulatorProcess, body: bytes, message: str) -> None:
    response = httpx2.post(
        f"{instant.base_url}/chat/completions", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert message in error["message"]
    assert error["type"] == "invalid_request_error"
    assert set(error) == {"message", "type", "param", "code"}


def test_sdk_sees_bad_request_error(instant: SimulatorProcess) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client(instant).chat.completions.create(model="gpt-3.5-turbo", messages=[])
    assert caught.value.status_code == 400


# --- faults, as the SDK sees them ------------------------------------------------------------


def test_rate_limit_is_a_429_with_retry_after(start: Start) -> None:
    sim = start(with_faults(rate_limit=1.0))
    with pytest.raises(openai.RateLimitError) as caught:
        client(sim).chat.completions.create(model="gpt-3.5-turbo", messages=MESSAGES)

    response = caught.value.response
    assert response.status_code == 429
    assert response.headers["retry-after"] == "0.05"
    assert "x-should-retry" not in response.headers
    assert response.headers["x-ratelimit-remaining-requests"] == "0"
    assert response.json()["error"]["type"] == "requests"
    assert caught.value.code == "rate_limit_exceeded"


def test_server_errors_alternate_500_and_503(start: Start) -> None:
    sim = start(with_faults(server_error=1.0))
    statuses = []
    for _ in range(3):
        with pytest.raises(openai.InternalServerError) as caught:
            client(sim).chat.completions.create(model="m", messages=MESSAGES)
        statuses.append(caught.value.status_code)
    assert statuses == [500, 503, 500]


@pytest.mark.parametrize("stream", [False, True])
def test_timeout_stalls_until_the_client_gives_up(start: Start, stream: bool) -> None:
    sim = start(with_faults(timeout=1.0))
    started = time.perf_counter()
    with pytest.raises(openai.APITimeoutError):
        raw = client(sim, timeout=0.3).chat.completions.with_raw_response.create(
            model="m", messages=MESSAGES, stream=stream
        )
        raw.parse()
    assert time.perf_counter() - started < 1.0

    # The server noticed the client leave and stopped waiting, long before its 2 s stall was over.
    (record,) = ground_truth(sim, stream=stream)
    assert record["fault"] == "timeout"
    assert record["client_disconnected"] is True
    assert record["status"] is None
    assert record["planned_stall_ms"] == 2000.0
    assert 250 < record["client_disconnected_ms"] < 1000


def test_a_timeout_stall_ends_in_a_normal_reply_if_the_client_waits(start: Start) -> None:
    sim = start(dataclasses.replace(with_faults(timeout=1.0), stall_s=0.2))
    started = time.perf_counter()
    completion = client(sim, timeout=5.0).chat.completions.create(model="m", messages=MESSAGES)
    assert completion.choices[0].finish_reason == "stop"
    assert time.perf_counter() - started >= 0.2


def test_disconnect_drops_the_connection_mid_body(start: Start) -> None:
    sim = start(with_faults(disconnect=1.0))
    with pytest.raises(openai.APIConnectionError) as caught:
        client(sim).chat.completions.create(model="m", messages=MESSAGES)
    assert isinstance(caught.value.__cause__, httpx2.RemoteProtocolError)

    received = []
    with pytest.raises(openai.APIConnectionError) as caught:
        for chunk in client(sim).chat.completions.create(model="m", messages=MESSAGES, stream=True):
            received.append(chunk)
    assert isinstance(caught.value.__cause__, httpx2.RemoteProtocolError)
    assert 0 < sum(1 for c in received if c.choices[0].delta.content) < TOKENS


def test_malformed_body_fails_json_parsing_in_the_sdk(start: Start) -> None:
    # Not an openai.OpenAIError: the SDK lets json.JSONDecodeError (a ValueError) escape.
    sim = start(with_faults(malformed=1.0))
    with pytest.raises(json.JSONDecodeError):
        client(sim).chat.completions.create(model="m", messages=MESSAGES)
    with pytest.raises(json.JSONDecodeError):
        list(client(sim).chat.completions.create(model="m", messages=MESSAGES, stream=True))


def test_truncated_stream_ends_quietly_without_finish_reason(start: Start) -> None:
    sim = start(with_faults(truncated_stream=1.0))
    chunks = list(client(sim).chat.completions.create(model="m", messages=MESSAGES, stream=True))

    assert 0 < sum(1 for c in chunks if c.choices[0].delta.content) < TOKENS
    assert all(c.choices[0].finish_reason is None for c in chunks)

    # A plain request has no stream to cut short: it is answered normally and logged without a fault.
    raw = client(sim).chat.completions.with_raw_response.create(model="m", messages=MESSAGES)
    assert raw.parse().choices[0].finish_reason == "stop"
    (record,) = ground_truth(sim, raw.headers["x-request-id"])
    assert record["fault"] is None


# --- ground truth ----------------------------------------------------------------------------


def test_ground_truth_line_matches_the_request(instant: SimulatorProcess) -> None:
    raw = client(instant).chat.completions.with_raw_response.create(
        model="gpt-4o", messages=MESSAGES, n=2, stream=True, stream_options={"include_usage": True}
    )
    list(raw.parse())
    (record,) = ground_truth(instant, raw.headers["x-request-id"])

    assert record["path"] == "/v1/chat/completions"
    assert record["model"] == "gpt-4o"
    assert record["stream"] is True
    assert record["n"] == 2
    assert record["retry_count"] == 0
    assert record["fault"] is None
    assert record["status"] == 200
    assert record["processing_ms"] == int(raw.headers["openai-processing-ms"])
    assert record["output_tokens"] == TOKENS
    assert record["content_chunks"] == 2 * TOKENS
    assert len(record["token_delays_ms"]) == 2 * TOKENS - 1
    assert record["ttft_ms"] >= record["server_wait_ms"] >= 0
    assert 0 <= record["ttft_write_ms"] < 50  # both ends of the first content's send
    assert 0 <= record["request_read_ms"] < 50
    assert record["response_complete"] is True
    assert record["client_disconnected"] is False
    assert time.time() - 60 < record["received_at"] <= time.time()


def test_settle_answers_once_every_request_taken_is_logged(start: Start) -> None:
    sim = start(dataclasses.replace(INSTANT, name="settle", ttft_ms=600.0))
    assert sim.ground_truth_path is not None
    with ThreadPoolExecutor(1) as pool:
        answered = pool.submit(client(sim).chat.completions.create, model="m", messages=MESSAGES)
        deadline = time.monotonic() + 5.0
        while (now := settle(sim.url, timeout_s=0.0)) is not None and now.in_flight == 0:
            assert time.monotonic() < deadline, "the request never reached the simulator"
            time.sleep(0.01)
        # Taken, not logged yet: a short settle gives up and says so.
        assert settle(sim.url, timeout_s=0.05) == Settled(in_flight=1, finished=0)
        assert not sim.ground_truth_path.read_text()
        # A long one returns once the request is logged, not before, and is itself no request.
        assert settle(sim.url, timeout_s=5.0) == Settled(in_flight=0, finished=1)
        assert len(sim.ground_truth_path.read_text().splitlines()) == 1
        answered.result(timeout=5.0)
    assert len(sim.ground_truth_path.read_text().splitlines()) == 1
    refused = httpx2.get(f"{sim.url}{SETTLE_PATH}?timeout_ms=soon")
    assert refused.status_code == 400 and "timeout_ms" in refused.json()["error"]
    assert settle("http://127.0.0.1:9", timeout_s=0.1) is None  # nothing listens: unknown, not 0


def test_the_log_names_the_clients_port_so_a_packet_capture_can_join_it(instant: SimulatorProcess) -> None:
    import http.client

    assert instant.port is not None
    ports, ids = [], []
    for _ in range(2):  # two connections: two ports, each request logged with its own
        connection = http.client.HTTPConnection("127.0.0.1", instant.port, timeout=10)
        connection.request("GET", "/v1/models")
        response = connection.getresponse()
        response.read()
        assert connection.sock is not None
        ports.append(connection.sock.getsockname()[1])
        ids.append(response.getheader("x-request-id"))
        connection.close()
    assert [ground_truth(instant, rid)[0]["client_port"] for rid in ids] == ports
    assert ports[0] != ports[1]


def test_retries_share_the_idempotency_key_and_count_up(start: Start) -> None:
    sim = start(with_faults(rate_limit=1.0))
    key = "call-retry-test"
    with pytest.raises(openai.RateLimitError):
        client(sim, max_retries=2).chat.completions.create(
            model="m", messages=MESSAGES, extra_headers={"Idempotency-Key": key}
        )

    records = ground_truth(sim, count=3, idempotency_key=key)
    assert [r["retry_count"] for r in records] == [0, 1, 2]
    assert {(r["fault"], r["status"], r["retry_after_s"]) for r in records} == {("rate_limit", 429, 0.05)}


def test_ground_truth_never_holds_the_api_key(instant: SimulatorProcess) -> None:
    client(instant).chat.completions.create(model="m", messages=MESSAGES)
    assert instant.ground_truth_path is not None
    text = instant.ground_truth_path.read_text()
    assert "sk-test" not in text
    assert "authorization" not in text.lower()


def test_measured_wait_is_close_to_the_planned_one(start: Start) -> None:
    scenario = dataclasses.replace(INSTANT, name="ttft200", ttft_ms=200.0, token_ms=10.0, output_tokens=4)
    sim = start(scenario)

    raw = client(sim).chat.completions.with_raw_response.create(model="m", messages=MESSAGES)
    raw.parse()
    (plain,) = ground_truth(sim, raw.headers["x-request-id"])
    assert plain["planned_wait_ms"] == 240.0
    assert abs(plain["server_wait_ms"] - 240.0) < 15
    assert abs(plain["processing_ms"] - 240) < 15

    raw = client(sim).chat.completions.with_raw_response.create(model="m", messages=MESSAGES, stream=True)
    list(raw.parse())
    (stream,) = ground_truth(sim, raw.headers["x-request-id"])
    assert stream["planned_wait_ms"] == 200.0
    assert abs(stream["server_wait_ms"] - 200.0) < 15
    assert abs(stream["ttft_ms"] - 200.0) < 15
    assert stream["planned_token_delays_ms"] == [10.0, 10.0, 10.0]
    assert all(9.9 < gap < 25 for gap in stream["token_delays_ms"])


def test_many_concurrent_streams_wait_side_by_side(start: Start) -> None:
    import asyncio

    sim = start(dataclasses.replace(INSTANT, name="concurrent", ttft_ms=300.0, token_ms=5.0))

    async def run() -> list[int]:
        async with openai.AsyncOpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=0) as aclient:

            async def one() -> int:
                stream = await aclient.chat.completions.create(model="m", messages=MESSAGES, stream=True)
                return sum([1 async for c in stream if c.choices and c.choices[0].delta.content])

            return await asyncio.gather(*(one() for _ in range(20)))

    started = time.perf_counter()
    assert asyncio.run(run()) == [TOKENS] * 20
    assert time.perf_counter() - started < 2.0, "20 streams of ~0.33 s each must overlap"


# --- scenarios -------------------------------------------------------------------------------


def test_builtin_scenarios() -> None:
    assert list(BUILTIN_SCENARIOS) == ["default", "instant", "slow", "flaky"]
    assert load_scenario("default") is BUILTIN_SCENARIOS["default"]
    assert BUILTIN_SCENARIOS["default"].fault_rate == 0
    assert BUILTIN_SCENARIOS["instant"].ttft_ms == BUILTIN_SCENARIOS["instant"].token_ms == 0
    flaky = BUILTIN_SCENARIOS["flaky"]
    assert all(flaky.faults[kind] > 0 for kind in FAULT_KINDS)
    assert 0.2 <= flaky.fault_rate <= 0.3
    assert flaky.client_timeout_s is not None and flaky.client_timeout_s < flaky.stall_s


def test_scenario_round_trips_through_json() -> None:
    scenario = dataclasses.replace(BUILTIN_SCENARIOS["flaky"], name="copy", seed=7)
    assert Scenario.from_dict(json.loads(scenario.to_json())) == scenario


def test_scenario_file_fills_missing_fields_from_default(tmp_path: Path) -> None:
    path = tmp_path / "fast.json"
    path.write_text(json.dumps({"ttft_ms": 5, "faults": {"timeout": 0.5}}))
    scenario = load_scenario(str(path))
    assert scenario.name == "fast"
    assert scenario.ttft_ms == 5
    assert scenario.token_ms == BUILTIN_SCENARIOS["default"].token_ms
    assert scenario.faults["timeout"] == 0.5
    assert scenario.faults["rate_limit"] == 0.0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"ttft": 5}', "scenario file {path}: unknown field 'ttft'"),
        ('{"ttft_ms": "fast"}', "scenario file {path}: ttft_ms must be a number, got string"),
        ('{"token_ms": -1}', "scenario file {path}: token_ms must be >= 0, got -1"),
        ('{"output_tokens": 2.5}', "scenario file {path}: output_tokens must be an integer"),
        ('{"seed": true}', "scenario file {path}: seed must be an integer, got boolean"),
        ('{"faults": {"explode": 0.1}}', "scenario file {path}: unknown fault 'explode'"),
        ('{"faults": {"timeout": 0.7, "malformed": 0.6}}', "fault probabilities add up to 1.3, more than 1"),
        ('{"faults": {"timeout": 2}}', "faults.timeout must be <= 1, got 2"),
        ('{"client_timeout_s": 0}', "client_timeout_s must be > 0, got 0"),
        ('{"stall_s": 1000}', "stall_s must be <= 300"),
        ("[1, 2]", "scenario file {path}: a scenario must be a JSON object, got array"),
        ('{"ttft_ms": 5,}', "scenario file {path}: invalid JSON at line 1 column 15"),
    ],
)
def test_bad_scenario_files_are_named_clearly(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(content)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(str(path))
    assert message.format(path=path) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_unknown_scenario_names_the_builtins(tmp_path: Path) -> None:
    with pytest.raises(
        ScenarioError, match=r"unknown scenario 'foo' \(built-in: default, instant, slow, flaky\)"
    ):
        load_scenario("foo")
    with pytest.raises(ScenarioError, match=r"scenario file .*missing\.json: no such file"):
        load_scenario(str(tmp_path / "missing.json"))


@pytest.mark.parametrize("count", [1, 2, 5, 24, 300])
def test_replies_are_cut_into_exactly_output_tokens_pieces(count: int) -> None:
    replies = write_replies(random.Random(0), 3, count)
    assert len(replies) == 3
    for pieces in replies:
        assert len(pieces) == count
        assert all(pieces)
        assert "".join(pieces).startswith('1. "')


def test_fault_draws_depend_only_on_seed_and_arrival_order() -> None:
    scenario = dataclasses.replace(BUILTIN_SCENARIOS["flaky"], seed=3)
    first, second = FaultPlan(scenario), FaultPlan(scenario)
    draws = [first.draw() for _ in range(400)]
    assert draws == [second.draw() for _ in range(400)]
    assert set(draws) == {None, *FAULT_KINDS}
    assert 0.15 < sum(d is not None for d in draws) / len(draws) < 0.35
    other = FaultPlan(dataclasses.replace(scenario, seed=4))
    assert draws != [other.draw() for _ in range(400)]


def test_scenario_objects_validate_too() -> None:
    with pytest.raises(ScenarioError, match="output_tokens must be >= 1"):
        dataclasses.replace(INSTANT, output_tokens=0)


# --- the process -----------------------------------------------------------------------------


def test_cli_rejects_an_unknown_scenario_in_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "profiler.simulator", "--scenario", "nope"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=20,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "unknown scenario 'nope'" in result.stderr


def test_cli_help_explains_every_option() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "profiler.simulator", "--help"], capture_output=True, text=True, cwd=REPO_ROOT
    )
    assert result.returncode == 0
    for option in ("--host", "--port", "--scenario", "--ground-truth", "--access-log", "--managed"):
        assert option in result.stdout


def test_start_failure_reports_the_child_stderr(tmp_path: Path) -> None:
    simulator = SimulatorProcess(INSTANT, ground_truth_path=tmp_path / "no" / "such" / "dir.jsonl")
    with pytest.raises(SimulatorError, match=r"(?s)exited with code 2 before it was ready.*ground-truth"):
        simulator.start()
    assert simulator.pid is None


def test_stop_ends_the_child_and_can_be_repeated() -> None:
    simulator = SimulatorProcess(INSTANT).start()
    pid = simulator.pid
    assert pid is not None and _alive(pid)
    simulator.stop()
    simulator.stop()
    assert not _alive(pid)
    with pytest.raises(SimulatorError, match="not running"):
        _ = simulator.base_url


PARENT = """
import time
from profiler.simulator import BUILTIN_SCENARIOS, SimulatorProcess
simulator = SimulatorProcess(BUILTIN_SCENARIOS["instant"]).start()
print(simulator.pid, flush=True)
time.sleep(60)
"""


def test_child_exits_when_its_parent_is_killed() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert _alive(child)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 8.0
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the simulator outlived its parent"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; it only waits for whoever adopted it to reap it.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"
