"""The metrics' guards: what a client chooses cannot grow them without bound (made-up HTTP methods and
models), and a multiprocess directory that is not there fails at start-up, not at every scrape."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from profiler.monitor.metrics import ServiceMetrics
from tests.synthetic import call


def _label_values(registry: CollectorRegistry, metric: str, label: str) -> set[str]:
    return {
        sample.labels[label]
        for family in registry.collect()
        if family.name == metric
        for sample in family.samples
        if label in sample.labels
    }


def test_a_method_outside_the_standard_nine_is_other() -> None:
    registry = CollectorRegistry()
    metrics = ServiceMetrics(registry)
    for method in ("GET", "POST", "PURGE", "XYZ1", "XYZ2", "get"):
        metrics.observe_request(method, "/chat", 200, 0.01)
    assert _label_values(registry, "http_server_request_duration_seconds", "http_request_method") == {
        "GET",
        "POST",
        "_OTHER",
    }


def test_models_past_the_bound_are_other_and_those_seen_keep_their_name() -> None:
    registry = CollectorRegistry()
    metrics = ServiceMetrics(registry, max_models=3)
    for model in ("gpt-a", "gpt-b", "gpt-c", "made-up-1", "made-up-2", "gpt-a"):
        metrics.observe_call(replace(call(1, 0.0, 50.0), model=model))
    models = _label_values(registry, "gen_ai_client_operation_duration_seconds", "gen_ai_request_model")
    assert models == {"gpt-a", "gpt-b", "gpt-c", "_OTHER"}
    counts = {
        sample.labels["gen_ai_request_model"]: sample.value
        for family in registry.collect()
        if family.name == "gen_ai_client_operation_duration_seconds"
        for sample in family.samples
        if sample.name.endswith("_count")
    }
    assert counts == {"gpt-a": 2, "gpt-b": 1, "gpt-c": 1, "_OTHER": 2}


def test_a_multiprocess_directory_that_is_not_there_fails_at_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "missing"))
    with pytest.raises(ValueError, match=r"^PROMETHEUS_MULTIPROC_DIR is set but is not a directory"):
        ServiceMetrics(CollectorRegistry())
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    ServiceMetrics(CollectorRegistry())  # a directory: fine
