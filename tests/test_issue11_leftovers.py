"""Issue 11, review leftovers: closed sets written as their types, one home for each default and rule.

- No code in the packages compares, assigns, returns or passes a closed set's value as a bare string
  (an AST scan): statuses, flags, roles, run and extraction statuses, deal health, extractor names.
- The LLM concurrency default is stated once (:data:`extractor.llm_settings.DEFAULT_CONCURRENCY`).
- The LLM settings objects refuse values out of range with a :class:`ConfigError` naming the field.
- Company domains are normalised by one function (:func:`followthrough.types.normalize_domains`).
- The run's counters have one owner: the report, stored by ``finish_run``; recording an extraction
  leaves them alone, and a run whose process died is tallied from its recorded extractions.
"""

from __future__ import annotations

import ast
import inspect
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from extractor.llm_settings import (
    DEFAULT_CONCURRENCY,
    MIN_CHUNK_TOKENS,
    Backoff,
    Breaker,
    Chunking,
    Grounding,
    LlmLimits,
    RateLimits,
)
from extractor.openai_backend import OpenAIExtractor
from extractor.people import Directory
from followthrough.api import create_app
from followthrough.backends import LlmOptions
from followthrough.config import ExtractorName, Settings, extractor_name, parse_domains
from followthrough.errors import ConfigError
from followthrough.types import (
    CommitmentStatus,
    ExtractionStatus,
    ItemFlag,
    ParticipantRole,
    RunStatus,
    normalize_domains,
)
from store import DealHealth, Store, health
from store.deal_rules import LinkIndex
from store.models import ExtractionRunRow
from tests.conftest import REPO
from tests.store_fixtures import make_doc, make_item, store, store_url  # noqa: F401

PACKAGES = ("followthrough", "store", "extractor", "connectors")

CLOSED_VALUES = frozenset(
    str(m)
    for enum in (
        CommitmentStatus,
        ItemFlag,
        ParticipantRole,
        ExtractionStatus,
        RunStatus,
        DealHealth,
        ExtractorName,
    )
    for m in enum
)
"""Every value of a closed set: as a bare string in code, it is a member written out of its type."""

NAMED_BY = frozenset({"status", "flag", "flags", "role", "health", "extractor", "extraction_status"})
"""Keyword arguments and names that hold a closed set's value."""

ALLOWED = {
    ("followthrough/api/routes/health.py", "ok"),  # GET /healthz's own Literal["ok"], not a run status
    ("followthrough/batch_run.py", "failed"),  # the provider's batch status (OpenAI Batch API), not ours
}
"""``(file, value)`` pairs where the string is another thing that happens to be spelled the same."""


def _strings(node: ast.AST | None) -> list[ast.Constant]:
    """The string constants of ``node`` itself, or of the tuple, list or set literal it is."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [c for e in node.elts for c in _strings(e)]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    return []


def _target_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _closed_literals(tree: ast.AST) -> list[ast.Constant]:
    """Closed-set values written as bare strings where code compares, assigns, returns or passes one."""
    found: list[ast.Constant] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for operand in (node.left, *node.comparators):
                found += _strings(operand)
        elif isinstance(node, ast.keyword) and node.arg in NAMED_BY:
            found += _strings(node.value)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(_target_name(t) in NAMED_BY for t in targets):
                found += _strings(node.value)
        elif isinstance(node, ast.Return):
            found += _strings(node.value)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("append", "add") and _target_name(node.func.value) in NAMED_BY:
                found += [c for a in node.args for c in _strings(a)]
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _target_name(n.func) == "history_entry"]
    for call in calls:  # history_entry(id, field, old, new, actor, note): old and new are values
        found += [c for a in call.args[2:4] for c in _strings(a)]
    return [c for c in found if c.value in CLOSED_VALUES]


def test_no_closed_set_value_is_written_as_a_bare_string() -> None:
    offenders = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            if "/migrations/" in rel:
                continue
            for const in _closed_literals(ast.parse(path.read_text(encoding="utf-8"))):
                if (rel, const.value) not in ALLOWED:
                    offenders.append(f"{rel}:{const.lineno}: {const.value!r}")
    assert offenders == []


@pytest.mark.parametrize(
    "code",
    [
        'if c.status == "open": pass',
        'flags.append("ungrounded")',
        'x = Participant(role="sender")',
        'return "partial"',
        'status = "interrupted" if stop else "failed"',
        'if p.role in ("recipient", "cc"): pass',
        'history_entry(c.id, "status", old, "done", "fulfilment", note)',
        'if settings.extractor == "offline": pass',
    ],
)
def test_the_scan_finds_each_way_of_writing_one(code: str) -> None:
    tree = ast.parse(f"def f():\n    {code}\n")
    assert _closed_literals(tree), code


# -- one default, settings that check themselves ------------------------------------------------


def test_the_concurrency_default_is_stated_once() -> None:
    assert LlmOptions().concurrency == DEFAULT_CONCURRENCY
    param = inspect.signature(OpenAIExtractor.__init__).parameters["concurrency"]
    assert param.default == DEFAULT_CONCURRENCY
    for path in ("followthrough/backends.py", "followthrough/cli/run.py", "extractor/openai_backend.py"):
        text = (REPO / path).read_text(encoding="utf-8")
        assert "DEFAULT_CONCURRENCY = " not in text and "ConcurrencyOpt = 8" not in text, path


@pytest.mark.parametrize(
    "make, field",
    [
        (lambda: LlmLimits(max_attempts=0), "LlmLimits.max_attempts"),
        (lambda: LlmLimits(request_timeout_s=0), "LlmLimits.request_timeout_s"),
        (lambda: LlmLimits(max_seconds_per_doc=-1), "LlmLimits.max_seconds_per_doc"),
        (lambda: LlmLimits(max_output_tokens=0), "LlmLimits.max_output_tokens"),
        (lambda: Backoff(initial_s=-1), "Backoff.initial_s"),
        (lambda: Backoff(initial_s=5, max_s=1), "Backoff.max_s"),
        (lambda: RateLimits(rpm=0), "RateLimits.rpm"),
        (lambda: RateLimits(tpm=-5), "RateLimits.tpm"),
        (lambda: Chunking(max_tokens=0), "Chunking.max_tokens"),
        (lambda: Chunking(max_tokens=MIN_CHUNK_TOKENS - 1), "Chunking.max_tokens"),
        (lambda: Chunking(max_tokens=500, overlap_tokens=500), "Chunking.overlap_tokens"),
        (lambda: Chunking(overlap_tokens=-1), "Chunking.overlap_tokens"),
        (lambda: Grounding(fuzzy_threshold=1.5), "Grounding.fuzzy_threshold"),
        (lambda: Grounding(fuzzy_threshold=float("nan")), "Grounding.fuzzy_threshold"),
        (lambda: Breaker(connect_attempts=0), "Breaker.connect_attempts"),
        (lambda: Breaker(threshold=0), "Breaker.threshold"),
        (lambda: Breaker(cooldown_s=-1), "Breaker.cooldown_s"),
    ],
)
def test_a_setting_out_of_range_is_refused_naming_the_field(make: Any, field: str) -> None:
    with pytest.raises(ConfigError, match=rf"^{field} must be .* \(got "):
        make()


def test_the_defaults_and_edge_values_are_accepted() -> None:
    for settings in (LlmLimits(), Backoff(), Breaker(), RateLimits(), Chunking(), Grounding()):
        assert settings == type(settings)()
    assert RateLimits(rpm=1, tpm=None).rpm == 1
    assert Chunking(max_tokens=MIN_CHUNK_TOKENS, overlap_tokens=0).max_tokens == MIN_CHUNK_TOKENS
    assert Backoff(initial_s=0, max_s=0).max_s == 0
    assert Grounding(fuzzy_threshold=0).fuzzy_threshold == 0 and Grounding(fuzzy_threshold=1)
    assert Breaker(cooldown_s=0).cooldown_s == 0


# -- one rule for company domains, one name for each extractor, one type for deal health ---------


def test_company_domains_are_normalised_in_one_place() -> None:
    assert normalize_domains([" Northwind.IO", "@acme.com", "", "  "]) == {"northwind.io", "acme.com"}
    assert parse_domains("Northwind.IO, @acme.com,") == {"northwind.io", "acme.com"}
    assert Directory({"@Northwind.io"}, None).company_domains == {"northwind.io"}
    assert LinkIndex(
        deals=[], accounts=[], contact_accounts={}, internal_domains={"@NW.io"}
    ).internal_domains == {"nw.io"}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            if path == REPO / "followthrough" / "types.py":
                continue  # the one definition
            for line in path.read_text(encoding="utf-8").splitlines():
                assert not ("domain" in line and 'lstrip("@")' in line), f"{path}: {line}"


def test_the_extractor_name_is_one_type() -> None:
    assert [*ExtractorName] == ["offline", "openai"]
    assert extractor_name(" OpenAI ") is ExtractorName.OPENAI
    with pytest.raises(ConfigError, match="choose one of offline, openai"):
        extractor_name("anthropic")
    assert (
        Settings(database_url="sqlite://", as_of=datetime.now(UTC).date()).extractor is ExtractorName.OFFLINE
    )


def test_deal_health_is_one_enum_in_the_schema() -> None:
    assert [*DealHealth] == ["at risk", "attention", "on track", "clear"]
    assert health(1, 1, 0) is DealHealth.AT_RISK and health(0, 0, 0) is DealHealth.CLEAR
    app = create_app("sqlite://", settings=Settings(database_url="sqlite://", as_of=datetime.now(UTC).date()))
    schemas = app.openapi()["components"]["schemas"]
    assert schemas["DealHealth"]["enum"] == [*DealHealth]
    ref = {"$ref": "#/components/schemas/DealHealth"}
    assert schemas["DealView"]["properties"]["health"] == ref
    assert schemas["DealHealthSummary"]["properties"]["status"] == ref


def test_the_llm_backend_has_no_pass_through_to_its_item_builder() -> None:
    assert not hasattr(OpenAIExtractor, "_to_items")


# -- the run's counters have one owner ------------------------------------------------------------


def test_recording_leaves_the_counters_to_finish_run(store: Store) -> None:  # noqa: F811
    doc = make_doc()
    doc_id, _ = store.add_document(doc)
    run = store.start_run(extractor="offline", model="m", prompt_version="v1")
    store.record_extraction(run, doc_id, "k", [], status=ExtractionStatus.FAILED, error="x", prompt_tokens=7)
    store.record_extraction(
        run, doc_id, "k", [make_item(doc, "I'll send the revised pricing")], prompt_tokens=3
    )
    view = store.get_run(run)
    assert (view.documents, view.items, view.failed, view.prompt_tokens) == (0, 0, 0, 0)
    store.finish_run(run, RunStatus.PARTIAL, {"documents": 2, "items": 1, "failed": 1, "prompt_tokens": 10})
    view = store.get_run(run)
    assert (view.status, view.documents, view.items, view.failed, view.prompt_tokens) == (
        RunStatus.PARTIAL,
        2,
        1,
        1,
        10,
    )
    assert "documents" not in view.stats and "status" not in view.stats


def test_a_run_whose_process_died_is_tallied_from_its_extractions(store: Store) -> None:  # noqa: F811
    doc = make_doc()
    doc_id, _ = store.add_document(doc)
    run = store.start_run(extractor="offline", model="m", prompt_version="v1")
    store.record_extraction(run, doc_id, "k", [], status=ExtractionStatus.FAILED, error="x", prompt_tokens=7)
    items = [make_item(doc, "I'll send the revised pricing"), make_item(doc, "50% off", grounded=False)]
    store.record_extraction(run, doc_id, "k", items, prompt_tokens=3, completion_tokens=2)
    with Session(store.engine) as s:  # owned by a process on another machine, long gone
        row = s.get(ExtractionRunRow, run)
        assert row is not None
        row.stats = {"pid": 1, "host": socket.gethostname() + "-elsewhere"}
        row.started_at = datetime.now(UTC) - timedelta(days=2)
        s.commit()
    store.start_run(extractor="offline", model="m", prompt_version="v1")
    view = store.get_run(run)
    assert view.status is RunStatus.INTERRUPTED
    assert (view.documents, view.items, view.failed, view.prompt_tokens, view.completion_tokens) == (
        2,
        2,
        1,
        10,
        2,
    )


def test_the_store_states_no_counter_names_of_its_own() -> None:
    text = Path(REPO / "store" / "runs.py").read_text(encoding="utf-8")
    assert "_RUN_COUNTERS" not in text and "run.documents += 1" not in text
