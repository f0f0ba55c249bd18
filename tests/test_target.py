"""Which endpoint a run targets, and when a key is required."""

from __future__ import annotations

import pytest

from profiler.target import SIMULATOR_API_KEY, TargetError, resolve_target


def test_no_url_means_embedded_simulator() -> None:
    target = resolve_target(None, {})
    assert target.embedded and target.api_key == SIMULATOR_API_KEY


def test_env_base_url_and_key_are_used() -> None:
    target = resolve_target(None, {"OPENAI_BASE_URL": "https://api.example.com/v1", "OPENAI_API_KEY": "sk-x"})
    assert target.base_url == "https://api.example.com/v1" and target.api_key == "sk-x"
    assert "sk-x" not in str(target.describe())


def test_flag_wins_over_env() -> None:
    target = resolve_target("http://127.0.0.1:9/v1", {"OPENAI_BASE_URL": "https://api.example.com/v1"})
    assert target.base_url == "http://127.0.0.1:9/v1"


def test_remote_without_key_is_refused() -> None:
    with pytest.raises(TargetError, match="OPENAI_API_KEY"):
        resolve_target("https://api.example.com/v1", {})


def test_loopback_without_key_gets_a_dummy_key() -> None:
    assert resolve_target("http://localhost:8000/v1", {}).api_key == SIMULATOR_API_KEY


def test_not_a_url() -> None:
    with pytest.raises(TargetError, match="not an http"):
        resolve_target("ftp://x", {})


def test_credentials_in_the_url_never_reach_the_summary() -> None:
    target = resolve_target(
        "https://user:s3cret@api.example.com:8443/v1?api-key=abc", {"OPENAI_API_KEY": "sk-x"}
    )
    assert target.describe()["base_url"] == "https://api.example.com:8443/v1"
