"""Which endpoint a run targets, and when a key is required."""

from __future__ import annotations

import pytest

from profiler.target import SIMULATOR_API_KEY, TargetError, redact_url, resolve_target


def test_no_url_means_embedded_simulator() -> None:
    target = resolve_target(None, {})
    assert target.embedded and target.api_key == SIMULATOR_API_KEY
    assert not target.key_without_url


def test_a_key_alone_still_means_the_simulator_and_is_noted() -> None:
    target = resolve_target(None, {"OPENAI_API_KEY": "sk-real"})
    assert target.embedded and target.key_without_url
    assert target.api_key == SIMULATOR_API_KEY  # a real key never goes to the simulator


def test_env_base_url_and_key_are_used() -> None:
    target = resolve_target(None, {"OPENAI_BASE_URL": "https://api.example.com/v1", "OPENAI_API_KEY": "sk-x"})
    assert target.base_url == "https://api.example.com/v1" and target.api_key == "sk-x"
    assert "sk-x" not in repr(target).replace("api_key='sk-x'", "")


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


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:s3cret@api.example.com:8443/v1?api-key=abc", "https://api.example.com:8443/v1"),
        ("http://[::1]:8000/v1", "http://[::1]:8000/v1"),
        ("ftp://alice:SECRET@127.0.0.1/v1?token=TOKEN", "ftp://127.0.0.1/v1"),
        ("http://127.0.0.1:99999/v1", "<unparsable URL>"),
    ],
)
def test_redact_url_keeps_no_credential_whatever_the_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    "url", ["ftp://alice:SECRET@127.0.0.1/v1?token=TOKEN", "http://a:SECRET@127.0.0.1:99999/v1"]
)
def test_a_bad_url_is_refused_without_its_secrets(url: str) -> None:
    with pytest.raises(TargetError) as refused:
        resolve_target(url, {})
    assert "SECRET" not in str(refused.value) and "TOKEN" not in str(refused.value)
