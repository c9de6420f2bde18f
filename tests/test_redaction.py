"""Credentials never reach an error, a log line or a stored message."""

from __future__ import annotations

import base64
import time

import pytest

from followthrough.redaction import MASK, redact, remember


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("connect to https://bob:hunter2secret@proxy.local:8080/v1 failed", "hunter2secret"),
        ("upstream: Authorization: Bearer abcdef0123456789 was refused", "abcdef0123456789"),
        ('{"headers": {"authorization": "Bearer abcdef0123456789"}}', "abcdef0123456789"),
        ("GET /v1/commitments?token=ft_abcdefghijklmnop1234&limit=5", "ft_abcdefghijklmnop1234"),
        ("GET /v1/commitments?api_key=s3cr3t-value&limit=5", "s3cr3t-value"),
        ("invalid key sk-proj-abcdefghijklmnop", "sk-proj-abcdefghijklmnop"),
        ("slack said xoxb-1234567890-abcdefghij", "xoxb-1234567890-abcdefghij"),
        ("password=hunter2hunter2", "hunter2hunter2"),
    ],
)
def test_credentials_are_masked(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out
    assert MASK in out


def test_the_configured_key_is_masked_whatever_its_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "canary-7f3e9a")
    monkeypatch.setenv("OPENAI_BASE_URL", "https://proxyuser:proxypass99@llm.local/v1")
    out = redact("echo: canary-7f3e9a and proxypass99 and proxyuser")
    assert "canary-7f3e9a" not in out and "proxypass99" not in out and "proxyuser" not in out
    basic = base64.b64encode(b"proxyuser:proxypass99").decode()
    assert basic not in redact(f"bad request for key {basic}")


def test_a_remembered_secret_is_masked() -> None:
    remember("minted-token-value-42")
    assert "minted-token-value-42" not in redact("token minted-token-value-42 expired")
    remember("abc")  # too short to mask safely: ignored
    assert redact("abc def") == "abc def"


def test_ordinary_text_is_left_alone() -> None:
    for text in (
        "I'll send the key dates by Friday.",
        "Could you share the token budget for the pilot?",
        "Reply to priya@ourco.com or see https://ourco.com/pricing",
        "",
    ):
        assert redact(text) == text


def test_redacting_a_long_hostile_string_is_linear() -> None:
    def took(n: int) -> float:
        hostile = ["a" * n, "key=" + "a" * n, "https://" + "a" * n, "Bearer " * (n // 7), "a@" * (n // 2)]
        start = time.perf_counter()
        for text in hostile:
            redact(text)
        return time.perf_counter() - start

    small, large = took(4_000), took(128_000)
    assert large < 60 * small + 0.5
