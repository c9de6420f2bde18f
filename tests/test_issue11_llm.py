"""Issue 11, LLM side: the backend split by job, one config resolver, LLM token counting named as such.

* The backend's keyword arguments are grouped into small frozen settings objects with named defaults;
  the output mode is a closed type; transport, messages, item post-processing and orchestration live in
  their own modules; the client is built in one place.
* The default model and "is an LLM configured" are defined once (``extractor.llm_config``);
  ``followthrough.config`` asks it, and asks the store to spell a database URL.
* ``extractor.token_count`` counts LLM tokens; nothing is called ``extractor.tokens`` any more.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import openai
import pytest

import extractor.llm_config
import followthrough.config
from extractor.chunking import chunk_document
from extractor.llm_messages import MAX_HEADER_PEOPLE, MessageBuilder
from extractor.llm_prefilter import PREFILTER_MIN_SCORE, chunks_to_send
from extractor.llm_settings import Backoff, Chunking, Grounding, LlmLimits, OutputMode, RateLimits
from extractor.llm_transport import ChatTransport, build_client
from extractor.llm_url import split_userinfo
from extractor.openai_backend import OpenAIExtractor
from followthrough.config import Settings, database_url, extractor_name
from followthrough.errors import ConfigError
from followthrough.types import Participant, SourceDocument
from prompts.loader import load_prompt
from store import normalize_url
from tests.conftest import REPO
from tests.fake_openai import FakeOpenAI

WHEN = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


def _doc(text: str = "I'll send the deck by Friday.", people: int = 2) -> SourceDocument:
    return SourceDocument(
        source="email",
        external_id="<m@x>",
        occurred_at=WHEN,
        title="Deck",
        participants=[
            Participant(name=f"P{i}", email=f"p{i}@acme.com", role="recipient") for i in range(people)
        ],
        text=text,
    )


@pytest.fixture
def client() -> Iterator[openai.OpenAI]:
    """A client that is never called (port 9, discard): only construction is tested."""
    with openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="k", max_retries=0) as client:
        yield client


# --------------------------------------------------------------------------- settings objects


@pytest.mark.parametrize("cls", [LlmLimits, Backoff, RateLimits, Chunking, Grounding])
def test_settings_are_frozen_with_named_defaults(cls: type) -> None:
    settings = cls()
    field = dataclasses.fields(settings)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(settings, field.name, getattr(settings, field.name))
    assert all(f.default is not dataclasses.MISSING for f in dataclasses.fields(settings))


def test_the_defaults_are_the_ones_the_backend_always_had() -> None:
    assert LlmLimits() == LlmLimits(
        max_attempts=6, request_timeout_s=60.0, max_seconds_per_doc=120.0, max_output_tokens=2048
    )
    assert Backoff() == Backoff(initial_s=1.0, max_s=30.0)
    assert Chunking() == Chunking(max_tokens=6000, overlap_tokens=200)
    assert RateLimits() == RateLimits(rpm=None, tpm=None)
    assert Grounding().keep_ungrounded is False


def test_the_extractor_takes_settings_objects_not_two_dozen_keywords() -> None:
    parameters = inspect.signature(OpenAIExtractor).parameters
    assert {"limits", "backoff", "rate_limits", "chunking", "grounding", "mode"} <= set(parameters)
    for gone in ("max_attempts", "request_timeout", "max_chunk_tokens", "rpm", "api_key", "base_url"):
        assert gone not in parameters
    assert len(parameters) <= 16


def test_the_output_mode_is_a_closed_type_that_only_moves_down(client: openai.OpenAI) -> None:
    assert [m.value for m in OutputMode] == ["json_schema", "json_object", "text"]
    assert OutputMode.JSON_SCHEMA.fallback() is OutputMode.JSON_OBJECT
    assert OutputMode.JSON_OBJECT.fallback() is OutputMode.TEXT
    assert OutputMode.TEXT.fallback() is None
    assert OpenAIExtractor(client, mode=OutputMode.TEXT).mode is OutputMode.TEXT
    with pytest.raises(ConfigError, match="unknown output mode 'yaml'"):
        OpenAIExtractor(client, mode="yaml")  # type: ignore[arg-type]


def test_settings_reach_the_request() -> None:
    with FakeOpenAI() as server:
        client = openai.OpenAI(base_url=server.url, api_key="k", max_retries=0)
        try:
            ext = OpenAIExtractor(
                client, model="m", limits=LlmLimits(max_output_tokens=77), mode=OutputMode.JSON_OBJECT
            )
            ext.run(_doc())
        finally:
            client.close()
        [body] = server.requests
    assert body["max_tokens"] == 77 and body["response_format"] == {"type": "json_object"}


# --------------------------------------------------------------------------- one job per module


def test_the_backend_is_split_by_job(client: openai.OpenAI) -> None:
    sizes = {
        name: len((REPO / "extractor" / f"{name}.py").read_text().splitlines())
        for name in ("openai_backend", "llm_transport", "llm_messages", "llm_items", "chat_completion")
    }
    assert all(n < 350 for n in sizes.values()), sizes
    assert isinstance(OpenAIExtractor(client, model="m").transport, ChatTransport)


def test_the_client_is_built_in_one_place() -> None:
    builders = []
    for path in sorted((REPO / "extractor").rglob("*.py")) + sorted((REPO / "followthrough").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in ("openai.OpenAI", "OpenAI"):
                builders.append(path.relative_to(REPO).as_posix())
    assert builders == ["extractor/llm_transport.py"]


def test_build_client_sends_userinfo_as_credentials_not_in_the_url() -> None:
    config = extractor.llm_config.resolve_llm_config(base_url="http://svc:pw@127.0.0.1:9/v1", env={})
    client = build_client(config, timeout_s=3.0)
    try:
        assert "svc" not in str(client.base_url) and "pw" not in str(client.base_url)
        assert client.max_retries == 0 and client.timeout == 3.0
    finally:
        client.close()
    assert split_userinfo("https://a%40b:p%3Aw@h/v1") == ("https://h/v1", ("a@b", "p:w"))


def test_message_framing_is_named_and_estimated_without_a_client() -> None:
    messages = MessageBuilder(load_prompt())
    doc = _doc(people=MAX_HEADER_PEOPLE + 3)
    [chunk] = chunk_document(doc, Chunking())
    conversation = messages.for_chunk(doc, chunk)
    last = conversation.messages[-1]["content"]
    assert "and 3 more" in last and 'subject="Deck"' in last and last.startswith('<document id="1" to="P0, ')
    schema = messages.estimate_prompt_tokens(conversation, OutputMode.JSON_SCHEMA)
    text = messages.estimate_prompt_tokens(conversation, OutputMode.TEXT)
    assert schema > 0 and text > 0
    assert messages.response_format(OutputMode.TEXT) is None


class _Scorer:
    """A pre-filter that finds no span but scores text: the score floor decides."""

    def __init__(self, score: float) -> None:
        self.score = score

    def candidates(self, doc: SourceDocument) -> list[tuple[int, int]]:
        return []

    def score_text(self, text: str) -> float:
        return self.score


def test_the_prefilter_keeps_borderline_chunks_by_score() -> None:
    doc = _doc()
    chunks = chunk_document(doc)
    assert chunks_to_send(None, doc, chunks) == [True]
    assert chunks_to_send(_Scorer(PREFILTER_MIN_SCORE), doc, chunks) == [True]
    assert chunks_to_send(_Scorer(PREFILTER_MIN_SCORE / 2), doc, chunks) == [False]
    assert chunks_to_send(lambda d: False, doc, chunks) == [False]


# --------------------------------------------------------------------------- one config resolver


def _code_strings(path: Path) -> set[str]:
    """String constants in a module's code, docstrings left out."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    }


def test_config_reads_no_llm_variable_and_defines_no_model() -> None:
    strings = _code_strings(REPO / "followthrough" / "config.py")
    assert not {s for s in strings if s.startswith("OPENAI_") or s == "FOLLOWTHROUGH_MODEL"}
    assert "gpt-4o-mini" not in strings and not any("postgresql+psycopg" in s for s in strings)
    assert followthrough.config.DEFAULT_MODEL is extractor.llm_config.DEFAULT_MODEL


def test_the_default_model_has_one_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FOLLOWTHROUGH_MODEL", raising=False)
    monkeypatch.setattr(extractor.llm_config, "DEFAULT_MODEL", "house-model")
    assert Settings.resolve(database="sqlite://").model == "house-model"
    monkeypatch.setenv("FOLLOWTHROUGH_MODEL", " env-model ")
    assert Settings.resolve(database="sqlite://").model == "env-model"
    assert Settings.resolve(database="sqlite://", model="flag-model").model == "flag-model"


def test_is_an_llm_configured_has_one_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FOLLOWTHROUGH_EXTRACTOR", raising=False)
    for env in ({}, {"OPENAI_API_KEY": "k"}, {"OPENAI_BASE_URL": "http://x/v1"}):
        for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        expected = "openai" if extractor.llm_config.llm_configured() else "offline"
        assert extractor_name() == expected == ("openai" if env else "offline")


@pytest.mark.parametrize(
    "url",
    ["postgres://u:p@h/db", "postgresql://u@h:5432/db", "postgresql+psycopg://u@h/db", "sqlite:///x.db"],
)
def test_a_database_url_is_spelled_by_the_store(url: str) -> None:
    assert database_url(url) == normalize_url(url)


def test_resolving_settings_does_not_import_the_llm_client() -> None:
    code = "import sys, followthrough.config; sys.exit('openai' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO, check=False).returncode == 0


# --------------------------------------------------------------------------- LLM tokens, named as such


def test_llm_token_counting_is_named_token_count() -> None:
    from extractor.token_count import count_tokens

    assert count_tokens("hello world") == 2
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("extractor.tokens")
