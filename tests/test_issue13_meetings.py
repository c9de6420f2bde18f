"""Issue 13: long meetings are linear. The fulfilment, answer and merge passes read each open item's
local window (:mod:`store.later_text`), not the whole rest of its meeting or thread."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from benchmarks.meetings import write_meeting
from extractor.offline import OfflineExtractor
from followthrough import pipeline
from followthrough.types import Segment, SourceDocument
from store import Store
from store.fulfilment_rules import LATER_DOCUMENTS, LATER_WINDOW_CHARS, DocumentSentences, sentences
from store.merge_rules import ACTION_LIST_LINES, action_item_line
from tests.store_fixtures import make_doc, make_item, store, store_url  # noqa: F401

OURS = {"northwind.io"}
SLACK = 2.0
"""How much worse than linear the passes may look on a busy machine: a meeting 4x longer may cost
up to 4 x this."""


def _passes_cpu(tmp: Path, minutes: int) -> float:
    """CPU seconds of the post-extraction passes on one generated meeting of ``minutes``."""
    folder = tmp / f"m{minutes}"
    folder.mkdir(parents=True)
    write_meeting(folder, 0, minutes, random.Random(minutes))
    db = Store(f"sqlite:///{tmp / f'{minutes}.db'}")
    try:
        report = pipeline.RunReport()
        pipeline.ingest_paths(db, [folder], report, OURS)
        pipeline.extract_pending(db, OfflineExtractor(), report, OURS)
        assert report.items > minutes // 4
        start = time.process_time()
        db.detect_fulfilments(OURS)
        db.detect_answers(OURS)
        db.merge_duplicates()
        return time.process_time() - start
    finally:
        db.close()


def test_a_meeting_four_times_longer_costs_about_four_times_more(tmp_path: Path) -> None:
    """The old passes read the whole rest of the meeting for each item (and cut it at every speaker
    span for each sentence): a 4x longer meeting cost far more than 16x."""
    short = min(_passes_cpu(tmp_path / "a", 15), _passes_cpu(tmp_path / "b", 15))
    long_ = _passes_cpu(tmp_path / "c", 60)
    assert long_ <= 4 * SLACK * max(short, 0.01), (short, long_)


def _transcript(turns: list[tuple[str, str | None, str]]) -> tuple[str, list[Segment]]:
    text, segments = "", []
    for name, email, said in turns:
        text += f"{name}: "
        segments.append(
            Segment(
                speaker=name,
                speaker_email=email,
                char_start=len(text),
                char_end=len(text) + len(said),
                text=said,
            )
        )
        text += said + "\n"
    return text, segments


def test_sentences_from_anywhere_match_a_fresh_split() -> None:
    """One split per document serves every item: from any offset (inside a sentence too), within a
    limit, it gives what splitting the text from that offset gives."""
    rng = random.Random(5)
    words = ["SAML 2.0 works.", "Yes!", "Is it?", "ok", "Attached is the deck.", "...", "\n", "We'll see."]
    for _ in range(300):
        text = " ".join(rng.choice(words) for _ in range(rng.randrange(1, 30)))
        cut = sorted(rng.sample(range(len(text) + 1), min(6, len(text) + 1)))
        spans = [(cut[i], cut[i + 1], f"s{i}", None) for i in range(0, len(cut) - 1, 2)]
        split = DocumentSentences(text, spans)
        offset = rng.randrange(len(text) + 1)
        assert split.after(offset) == sentences(text, offset, spans)
        limit = rng.randrange(1, 40)
        assert split.after(offset, limit) == [
            s for s in sentences(text, offset, spans) if s.start < offset + limit
        ]


def test_a_long_run_of_full_stops_splits_in_linear_time() -> None:
    small, big = "word " + "." * 20_000 + " ending", "word " + "." * 80_000 + " ending"
    t0 = time.perf_counter()
    sentences(small)
    t1 = time.perf_counter()
    sentences(big)
    t2 = time.perf_counter()
    assert [s.text for s in sentences(small)] == ["word " + "." * 20_000, "ending"]
    assert t2 - t1 <= 4 * SLACK * max(t1 - t0, 1e-3)


def test_the_heading_of_an_action_item_is_looked_for_nearby_only() -> None:
    items = "\n".join(f"- Alice to send item {i}" for i in range(ACTION_LIST_LINES + 10))
    text = "## Action items\n" + items
    assert action_item_line(text, text.index("item 3"))
    assert not action_item_line(text, text.rindex("item"))


def _record(db: Store, doc: SourceDocument, quote: str, **kw: object) -> int:
    doc_id, _ = db.add_document(doc)
    run = db.start_run(extractor="offline", model="m", prompt_version="v1")
    (cid,) = db.record_extraction(run, doc_id, "k", [make_item(doc, quote, **kw)])  # type: ignore[arg-type]
    return cid


PRIYA = ("Priya Shah", "priya@northwind.io")


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_a_delivery_within_the_window_closes_the_promise_one_beyond_it_does_not(store: Store) -> None:  # noqa: F811
    promise = "I'll send you the migration plan by Friday."
    delivered = "I've just shared the migration plan in the chat."
    filler = ("Dana Lee", "dana@acme.com", "So that is how the nightly sync works for our team today.")
    closed = {}
    for ext, gap in (("near", 3), ("far", LATER_WINDOW_CHARS // 60 + 10)):
        text, segments = _transcript([(*PRIYA, promise), *[filler] * gap, (*PRIYA, delivered)])
        doc = make_doc(ext, text, source="meeting", thread_id=ext)
        doc = doc.model_copy(update={"segments": segments})
        closed[ext] = _record(store, doc, promise, owner="Priya Shah", owner_email="priya@northwind.io")
    assert store.detect_fulfilments(OURS) == 1
    assert store.get_commitment(closed["near"]).status == "done"
    assert store.get_commitment(closed["far"]).status == "open"


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_a_new_message_in_an_old_thread_closes_an_older_item_when_given_as_changed(store: Store) -> None:  # noqa: F811
    """What ``pipeline.link`` passes: the documents a run stored. A new reply in an old thread still
    delivers the promise of the thread's first message; a document elsewhere reaches no item."""
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    promise = "I'll send you the SOC 2 report by Friday."
    cid = _record(store, make_doc("<a@x>", promise, thread_id="t1", occurred_at=start), promise)
    other = "I'll send the pricing sheet tomorrow."
    _record(store, make_doc("<b@x>", other, thread_id="t2", occurred_at=start), other)
    assert store.detect_fulfilments(OURS) == 0
    later = start + timedelta(days=2)
    reply, _ = store.add_document(
        make_doc("<c@x>", "Attached is the SOC 2 report.", thread_id="t1", occurred_at=later)
    )
    elsewhere, _ = store.add_document(
        make_doc("<d@x>", "Here is the SOC 2 report.", thread_id="t3", occurred_at=later)
    )
    assert store.detect_fulfilments(OURS, documents=[elsewhere]) == 0
    assert store.get_commitment(cid).status == "open"
    assert store.detect_fulfilments(OURS, documents=[reply]) == 1
    assert store.get_commitment(cid).status == "done"


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_thread_is_read_only_as_far_as_its_next_documents(store: Store) -> None:  # noqa: F811
    """An item reads at most LATER_DOCUMENTS later messages of its thread, however long it grows."""
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    promise = "I'll send you the SOC 2 report by Friday."
    cid = _record(store, make_doc("<a@x>", promise, thread_id="t1", occurred_at=start), promise)
    for i in range(LATER_DOCUMENTS):
        chat = make_doc(
            f"<n{i}@x>", "Thanks, talk soon.", thread_id="t1", occurred_at=start + timedelta(hours=i + 1)
        )
        store.add_document(chat)
    late = start + timedelta(hours=LATER_DOCUMENTS + 1)
    reply, _ = store.add_document(
        make_doc("<z@x>", "Attached is the SOC 2 report.", thread_id="t1", occurred_at=late)
    )
    assert store.detect_fulfilments(OURS) == 0
    assert store.detect_fulfilments(OURS, documents=[reply]) == 0
    assert store.get_commitment(cid).status == "open"
