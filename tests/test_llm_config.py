"""Endpoint/key/model resolution, prices, the rate limiter and chunking."""

from __future__ import annotations

import threading
import time

import pytest

from extractor.chunking import chunk_text
from extractor.llm_config import llm_configured, resolve_llm_config
from extractor.pricing import estimate_cost, price_for
from extractor.ratelimit import RateLimiter, RateLimitTimeout
from extractor.token_count import count_tokens, tokenizer_name
from followthrough.errors import ConfigError


def test_missing_key_for_openai_says_how_to_fix() -> None:
    with pytest.raises(ConfigError, match="set OPENAI_API_KEY.*OPENAI_BASE_URL"):
        resolve_llm_config(env={})
    with pytest.raises(ConfigError, match="no API key"):
        resolve_llm_config(base_url="https://acme.openai.azure.com/openai/v1", env={})


def test_local_servers_need_no_key_and_explicit_beats_env() -> None:
    env = {"OPENAI_BASE_URL": "http://localhost:11434/v1/", "FOLLOWTHROUGH_MODEL": "llama3.1"}
    config = resolve_llm_config(env=env)
    assert config.base_url == "http://localhost:11434/v1" and config.model == "llama3.1"
    assert config.api_key == "not-needed" and "not-needed" not in repr(config)
    explicit = resolve_llm_config(model="qwen2.5", api_key="sk-x", env=env)
    assert explicit.model == "qwen2.5" and explicit.api_key == "sk-x"
    assert resolve_llm_config(env={"OPENAI_API_KEY": "sk-y"}).model == "gpt-4o-mini"
    assert llm_configured({"OPENAI_API_KEY": "k"}) and llm_configured({"OPENAI_BASE_URL": "http://x"})
    assert not llm_configured({})
    with pytest.raises(ConfigError, match="not an http"):
        resolve_llm_config(base_url="localhost:8000", env={})


def test_prices_match_prefixes_and_can_be_overridden(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert price_for("gpt-4o-mini-2024-07-18") == price_for("gpt-4o-mini")
    assert price_for("openai/gpt-4o") == price_for("gpt-4o")
    assert estimate_cost("gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(0.75)
    assert estimate_cost("llama3.1:8b", 1000, 1000) is None
    monkeypatch.setenv("FOLLOWTHROUGH_PRICES", '{"llama3.1:8b": {"input": 0.0, "output": 0.0}}')
    assert estimate_cost("llama3.1:8b", 1000, 1000) == 0.0
    path = tmp_path / "prices.json"
    path.write_text('{"gpt-4o-mini": {"input": 1, "output": 2}, "*": {"input": 5, "output": 5}}')
    monkeypatch.setenv("FOLLOWTHROUGH_PRICES", str(path))
    assert estimate_cost("gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(3.0)
    assert estimate_cost("mystery", 1_000_000, 0) == pytest.approx(5.0)
    monkeypatch.setenv("FOLLOWTHROUGH_PRICES", "{not json")
    with pytest.raises(ConfigError, match="FOLLOWTHROUGH_PRICES"):
        estimate_cost("gpt-4o", 1, 1)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_limiter_paces_requests_and_tokens() -> None:
    limiter = RateLimiter(rpm=120, tpm=None)  # 2/s, burst 2
    started = time.monotonic()
    for _ in range(4):
        limiter.acquire()
    assert 0.9 < time.monotonic() - started < 3.0
    tokens = RateLimiter(tpm=6000)  # 100 tokens/s, burst 100
    started = time.monotonic()
    tokens.acquire(100)
    tokens.acquire(50)
    assert 0.4 < time.monotonic() - started < 2.0


def test_limiter_deadline_pause_and_settle() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rpm=60, clock=clock)
    limiter.acquire(deadline=1.0)
    with pytest.raises(RateLimitTimeout):
        limiter.acquire(deadline=0.5)  # the next slot is 1 s away
    limiter.pause(0.0)
    tok = RateLimiter(tpm=600, clock=clock)  # 10 tokens/s, burst 10
    tok.acquire(10)
    tok.settle(10, 0)  # the call used nothing: give the tokens back
    assert tok.acquire(10, deadline=0.01) == 0.0


def test_limiter_is_thread_safe() -> None:
    limiter = RateLimiter(rpm=600)  # 10/s, burst 10
    started = time.monotonic()
    threads = [threading.Thread(target=limiter.acquire) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 0.9 < time.monotonic() - started < 3.0


def test_pause_holds_every_caller() -> None:
    limiter = RateLimiter()
    limiter.pause(0.3)
    started = time.monotonic()
    limiter.acquire()
    assert time.monotonic() - started >= 0.28


def test_tokenizer_is_offline_cl100k() -> None:
    assert tokenizer_name().startswith("cl100k_base")
    assert count_tokens("hello world") == 2
    assert count_tokens("会議の後で 😀") > 3


def test_chunks_tile_the_text_with_overlap_on_boundaries() -> None:
    text = "\n\n".join(f"Paragraph {i}. " + "word " * 40 for i in range(12))
    chunks = chunk_text(text, max_tokens=120, overlap_tokens=50)
    assert len(chunks) > 3
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert a.start < b.start <= a.end  # forward, overlapping or adjacent
        assert text[b.start - 2 : b.start] == "\n\n"  # cut on a paragraph boundary
    assert all(c.tokens <= 120 and c.text == text[c.start : c.end] for c in chunks)
    one = "x" * 5000  # a single run-on unit still splits
    assert len(chunk_text(one, max_tokens=200)) > 1


def _status_error(cls, status: int, headers: dict[str, str] | None = None, body: object = None):
    import httpx

    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    return cls("error", response=httpx.Response(status, headers=headers or {}, request=request), body=body)


def test_retry_after_headers_and_what_is_retried() -> None:
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    import openai

    from extractor.llm_errors import is_retryable, retry_after_seconds, wrap_sdk_error

    assert retry_after_seconds(_status_error(openai.RateLimitError, 429, {"retry-after": "7"})) == 7.0
    assert retry_after_seconds(_status_error(openai.RateLimitError, 429, {"retry-after-ms": "250"})) == 0.25
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 < retry_after_seconds(_status_error(openai.RateLimitError, 429, {"retry-after": later})) <= 30
    assert retry_after_seconds(_status_error(openai.InternalServerError, 500)) is None
    assert is_retryable(_status_error(openai.RateLimitError, 429))
    assert is_retryable(_status_error(openai.InternalServerError, 503))
    assert not is_retryable(_status_error(openai.BadRequestError, 400))
    quota = _status_error(openai.RateLimitError, 429, body={"code": "insufficient_quota", "message": "quota"})
    assert not is_retryable(quota)
    assert isinstance(wrap_sdk_error(quota, model="m", base_url="u"), ConfigError)
    lost = _status_error(openai.NotFoundError, 404, body={"message": "model 'm' not found"})
    assert "FOLLOWTHROUGH_MODEL" in str(wrap_sdk_error(lost, model="m", base_url="u"))
