"""The workload's local work: title extraction and exact CPU burn."""

from __future__ import annotations

import time

import pytest

from profiler.workload import build_messages, burn_cpu, extract_titles


def test_messages_are_the_sample_prompt() -> None:
    messages = build_messages()
    assert messages[0] == {"role": "system", "content": "You are a helpful assistant."}
    assert messages[1]["content"] == "What's a good book to read on a rainy day? please just name 2."


def test_extract_quoted_and_numbered_titles() -> None:
    assert extract_titles('1. "The Night Circus" by Erin Morgenstern\n2. "Rebecca" by Daphne du Maurier') == [
        "The Night Circus",
        "Rebecca",
    ]
    assert extract_titles("1. Jane Eyre by Charlotte Brontë\n2) Dune") == ["Jane Eyre", "Dune"]
    assert extract_titles("no books here") == []


@pytest.mark.parametrize("milliseconds", [20, 100])
def test_burn_cpu_spends_that_much_cpu(milliseconds: int) -> None:
    before = time.thread_time()
    burn_cpu(milliseconds)
    spent = (time.thread_time() - before) * 1000
    assert milliseconds <= spent <= milliseconds + 5
