"""One routine extracts and records documents, for the batch pipeline and for ``POST /v1/documents``.

:class:`followthrough.pipeline.ExtractionRun`: cache first, then the extractor, each document recorded
(a failure with what it spent), the run closed with the counters of :class:`RunReport` (declared once),
then linking and fulfilment detection. The API's ``extract_one`` is that routine for one document.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import fields
from datetime import datetime

import pytest

from extractor.base import ExtractionFailed, ExtractionResult, Extractor
from followthrough import pipeline
from followthrough.api.extraction import extract_one
from followthrough.errors import ConfigError, ExtractionError
from followthrough.pipeline import ExtractionRun, RunReport
from followthrough.types import ExtractedItem, Participant, SourceDocument
from store import CommitmentFilter, Recording, Store, Unstorable
from store.models import ExtractionRow
from tests.store_fixtures import EST, make_doc, make_item, store, store_url  # noqa: F401

OURS = {"northwind.io"}
PROMISE = "I'll send the revised pricing to you by Friday"

RUN_JSON_KEYS = [
    "inputs",
    "documents_seen",
    "documents_new",
    "unchanged_inputs",
    "crm",
    "errors",
    "skipped",
    "notes",
    "extracted",
    "cached",
    "failed",
    "over_budget",
    "held",
    "items",
    "ungrounded",
    "unconfirmed",
    "instruction_like",
    "prefiltered",
    "tokens_saved",
    "prompt_tokens",
    "completion_tokens",
    "llm_calls",
    "cost_usd",
    "links",
    "fulfilled",
    "answered",
    "merged",
    "run_id",
]
"""The keys of ``run --json``'s run report, in order (unchanged by issue 11; issue 12 adds ``answered``
and ``merged``, issue 13 ``unchanged_inputs``)."""

RUN_STATS_KEYS = [
    "extracted",
    "cached",
    "failed",
    "over_budget",
    "held",
    "items",
    "ungrounded",
    "unconfirmed",
    "instruction_like",
    "prefiltered",
    "tokens_saved",
    "prompt_tokens",
    "completion_tokens",
    "llm_calls",
    "cost_usd",
]
"""The counters stored with an extraction run (besides ``status`` and ``documents``)."""


class _Promises(Extractor):
    """Finds :data:`PROMISE` (one commitment by Marco) wherever it is; spends 100 + 20 tokens per document."""

    name = "promises"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def extract(self, doc: SourceDocument) -> list[ExtractedItem]:
        self.seen.append(doc.external_id)
        if PROMISE not in doc.text:
            return []
        return [make_item(doc, PROMISE, action="Send the revised pricing")]

    def run(self, doc: SourceDocument) -> ExtractionResult:
        return ExtractionResult(items=self.extract(doc), prompt_tokens=100, completion_tokens=20, llm_calls=1)


class _Refusing(Extractor):
    """Fails every document after two model calls that cost 120 + 30 tokens (as an LLM backend does)."""

    name = "refusing"

    def extract(self, doc: SourceDocument) -> list[ExtractedItem]:
        raise AssertionError("run() is overridden")

    def run(self, doc: SourceDocument) -> ExtractionResult:
        spent = ExtractionResult(prompt_tokens=120, completion_tokens=30, llm_calls=2)
        raise ExtractionFailed("the model answered no JSON twice", spent)


class _KeptUngrounded(Extractor):
    """Returns one grounded item and one it could not ground, kept with flag ``ungrounded`` and counted
    in ``result.ungrounded`` (the LLM backend with ``keep_ungrounded``)."""

    name = "kept-ungrounded"

    def extract(self, doc: SourceDocument) -> list[ExtractedItem]:
        raise AssertionError("run() is overridden")

    def run(self, doc: SourceDocument) -> ExtractionResult:
        items = [make_item(doc, PROMISE), make_item(doc, "a quote the text does not hold", grounded=False)]
        return ExtractionResult(items=items, ungrounded=1)


class _Stated(Extractor):
    """Finds one given sentence as Marco's commitment (a fixed action)."""

    name = "promises"  # the same cache key as _Promises: one extractor, as far as the store can tell

    def __init__(self, sentence: str, action: str) -> None:
        self.sentence, self.action = sentence, action

    def extract(self, doc: SourceDocument) -> list[ExtractedItem]:
        return [make_item(doc, self.sentence, action=self.action)] if self.sentence in doc.text else []


class _BadKey(Extractor):
    name = "bad-key"

    def extract(self, doc: SourceDocument) -> list[ExtractedItem]:
        raise ConfigError("the LLM server refused the API key (401): check OPENAI_API_KEY")


# -- the counters are declared once ----------------------------------------------------------------


def test_run_json_keys_are_the_report_fields_in_order() -> None:
    assert [f.name for f in fields(RunReport)] == RUN_JSON_KEYS
    report = RunReport(cost_usd=0.12345678, failed=["a.eml: no"])
    out = report.as_dict()
    assert list(out) == RUN_JSON_KEYS
    assert out["cost_usd"] == 0.123457 and out["failed"] == ["a.eml: no"]


def test_stored_run_stats_are_derived_from_the_report(store: Store) -> None:  # noqa: F811
    store.add_document(make_doc())
    report = RunReport()
    pipeline.extract_pending(store, _Promises(), report, OURS)
    assert list(report.run_stats()) == RUN_STATS_KEYS
    run = store.get_run(report.run_id or 0)
    columns = {
        "cached": run.cached,
        "failed": run.failed,
        "items": run.items,
        "ungrounded": run.ungrounded,
        "prompt_tokens": run.prompt_tokens,
        "completion_tokens": run.completion_tokens,
        "cost_usd": run.cost_usd,
    }
    stored = {**columns, **{k: v for k, v in run.stats.items() if k not in ("pid", "host")}}
    assert stored == report.run_stats()
    assert (run.status, run.documents, run.prompt_tokens, run.stats["llm_calls"]) == ("ok", 1, 100, 1)


# -- the cache is looked up before any document reaches the extractor --------------------------------


class _Watching(_Promises):
    """Fails the test if the store is written while it pulls its next input document."""

    def __init__(self, writes: list[int]) -> None:
        super().__init__()
        self.writes = writes

    def run_many(
        self, docs: Iterable[SourceDocument]
    ) -> Iterator[tuple[SourceDocument, ExtractionResult | ExtractionFailed]]:
        source = iter(docs)
        while True:
            before = len(self.writes)
            doc = next(source, None)
            assert len(self.writes) == before, "the store was written while the extractor read its input"
            if doc is None:
                return
            yield doc, self.run_safely(doc)


def test_cached_documents_are_recorded_before_the_extractor_reads_its_input(
    store: Store,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    done = make_doc("<a@northwind.io>", f"Thanks Dana. {PROMISE}.", thread_id="a")
    fresh = make_doc("<b@northwind.io>", f"Hello again. {PROMISE}.", thread_id="b")
    done_id, _ = store.add_document(done)
    fresh_id, _ = store.add_document(fresh)
    pipeline.extract_pending(store, _Promises(), RunReport(), OURS)  # both extracted: both in the cache
    store.add_document(make_doc("<b@northwind.io>", f"Changed. {PROMISE}.", thread_id="b"))
    # another process recorded ``done`` after this run listed it as pending: the cache answers it
    monkeypatch.setattr(store, "pending_documents", lambda key, held_under=None: [done_id, fresh_id])
    writes: list[int] = []
    record = store.record_extractions

    def counted(run_id: int, key: str, recordings: list[Recording]) -> list[list[int] | Unstorable]:
        writes.extend(r.document_id for r in recordings)
        return record(run_id, key, recordings)

    monkeypatch.setattr(store, "record_extractions", counted)
    extractor = _Watching(writes)
    report = RunReport()
    pipeline.extract_pending(store, extractor, report, OURS)
    assert extractor.seen == ["<b@northwind.io>"]
    assert (report.cached, report.extracted, len(writes)) == (1, 1, 2)


def test_pending_documents_are_extracted_in_bounded_batches(
    store: Store,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for i in range(5):
        store.add_document(make_doc(f"<m{i}@northwind.io>", f"Note {i}. {PROMISE}.", thread_id=f"t{i}"))
    monkeypatch.setattr(pipeline, "EXTRACT_BATCH", 2)
    sizes: list[int] = []
    extract = ExtractionRun.extract

    def batch(self: ExtractionRun, doc_ids: list[int]) -> object:
        sizes.append(len(doc_ids))
        return extract(self, doc_ids)

    monkeypatch.setattr(ExtractionRun, "extract", batch)
    report = RunReport()
    pipeline.extract_pending(store, _Promises(), report, OURS)
    assert sizes == [2, 2, 1] and report.extracted == 5
    assert store.get_run(report.run_id or 0).documents == 5


# -- the API records, counts and links as the pipeline does --------------------------------------------


def test_a_failed_api_extraction_keeps_what_it_spent(store: Store) -> None:  # noqa: F811
    with pytest.raises(ExtractionFailed, match="no JSON twice"):
        extract_one(store, _Refusing(), make_doc(), OURS)
    (run,) = store.list_runs()
    assert (run.status, run.failed, run.documents) == ("failed", 1, 1)
    assert (run.prompt_tokens, run.completion_tokens, run.stats["llm_calls"]) == (120, 30, 2)
    assert run.stats["origin"] == "api"
    assert [k for k in RUN_STATS_KEYS if k not in run.stats] == [
        "cached",
        "failed",
        "items",
        "ungrounded",
        "prompt_tokens",
        "completion_tokens",
        "cost_usd",
    ]  # those are columns of the run; the rest are in its stats, as for a batch run
    with store._tx() as s:
        (row,) = s.query(ExtractionRow).all()
    assert (row.status, row.prompt_tokens, row.completion_tokens) == ("failed", 120, 30)
    assert store.pending_documents(_Refusing().cache_key) == [row.document_id]


def test_an_api_extraction_counts_an_ungrounded_item_once(store: Store) -> None:  # noqa: F811
    done = extract_one(store, _KeptUngrounded(), make_doc(), OURS)
    assert done.ungrounded == 1 and len(done.commitment_ids) == 1 and not done.cached
    assert store.list_runs()[0].ungrounded == 1


def test_an_api_resubmission_is_answered_from_the_cache(store: Store) -> None:  # noqa: F811
    extractor = _Promises()
    first = extract_one(store, extractor, make_doc(), OURS)
    again = extract_one(store, extractor, make_doc(), OURS)
    assert (first.new, first.cached) == (True, False)
    assert (again.new, again.changed, again.cached) == (False, False, True)
    assert again.commitment_ids == first.commitment_ids and extractor.seen == ["<m1@acme.com>"]
    latest = store.list_runs()[0]
    assert (latest.cached, latest.prompt_tokens, latest.stats["extracted"]) == (1, 0, 0)


def test_the_api_closes_a_promise_its_document_delivers(store: Store) -> None:  # noqa: F811
    extractor = _Promises()
    (cid,) = extract_one(store, extractor, make_doc(text=f"Thanks Dana. {PROMISE}."), OURS).commitment_ids
    marco = Participant(name="Marco Rossi", email="marco@northwind.io", role="sender")
    dana = Participant(name="Dana Lee", email="dana@acme.com", role="recipient")
    delivery = make_doc(
        "<m2@northwind.io>",
        "Hi Dana, attached is the revised pricing with the volume discount.",
        occurred_at=datetime(2026, 3, 12, 9, 0, tzinfo=EST),
        participants=[marco, dana],
    )
    assert extract_one(store, extractor, delivery, OURS).commitment_ids == []
    closed = store.get_commitment(cid)
    assert closed.status == "done" and "fulfilled" in closed.flags


def test_a_refused_key_is_an_extraction_error_for_the_api(store: Store) -> None:  # noqa: F811
    with pytest.raises(ExtractionError, match="refused the API key"):
        extract_one(store, _BadKey(), make_doc(), OURS)
    (run,) = store.list_runs()
    assert run.status == "failed" and run.stats["origin"] == "api"


def test_the_api_looks_only_at_the_threads_of_its_document(
    store: Store,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A POST costs the same however many items are open elsewhere: delivery and answer detection
    read only the open items of the posted document's thread (the only ones it can close)."""
    extractor = _Promises()
    others = [
        "book the onsite workshop",
        "share the audit report",
        "fix the login bug",
        "call Raj",
        "draft the SOW",
    ]
    for n, task in enumerate(others):  # open promises of other kinds in five other threads
        sentence = f"I'll {task} by Friday"
        other = make_doc(f"<other{n}@acme.com>", f"Thanks Dana. {sentence}.", thread_id=f"elsewhere-{n}")
        record = _Stated(sentence, task.capitalize())
        extract_one(store, record, other, OURS)
    (cid,) = extract_one(store, extractor, make_doc(text=f"Thanks Dana. {PROMISE}."), OURS).commitment_ids
    from store import fulfilment_rules

    looked_at: list[str | None] = []
    real_find = fulfilment_rules.find

    def counting_find(action: str, *args: object, **kwargs: object) -> object:
        looked_at.append(action)
        return real_find(action, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fulfilment_rules, "find", counting_find)
    marco = Participant(name="Marco Rossi", email="marco@northwind.io", role="sender")
    dana = Participant(name="Dana Lee", email="dana@acme.com", role="recipient")
    delivery = make_doc(
        "<m2@northwind.io>",
        "Hi Dana, attached is the revised pricing with the volume discount.",
        occurred_at=datetime(2026, 3, 12, 9, 0, tzinfo=EST),
        participants=[marco, dana],
    )
    extract_one(store, extractor, delivery, OURS)
    assert len(looked_at) == 1  # the one open promise of thread-1, not the five elsewhere
    assert store.get_commitment(cid).status == "done"
    assert len(store.list_commitments(CommitmentFilter(status="open")).items) == 5
