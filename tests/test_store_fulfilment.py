"""A later message that delivers a commitment closes it; promises, questions and customers do not."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete

from followthrough.types import Participant, ParticipantRole, Segment, SourceDocument
from store import CommitmentFilter, Store
from store.fulfilment_rules import LaterText, Sentence, find, keywords, sentences
from store.models import EvidenceRow
from tests.store_fixtures import EST, make_doc, make_item, store, store_url  # noqa: F401

AS_OF = date(2026, 3, 16)
OURS = {"northwind.io"}
MARCO = Participant(name="Marco Rossi", email="marco@northwind.io", role="sender", internal=True)
DANA = Participant(name="Dana Lee", email="dana@acme.com", role="sender", internal=False)


def _later(text: str, sender: Participant = MARCO) -> LaterText:
    return LaterText("m2", sentences(text), sender.name, sender.email)


def test_delivery_sentences_match_the_action() -> None:
    action = "Send the revised pricing with the 3-year term"
    hit = find(
        action,
        "Marco Rossi",
        "marco@northwind.io",
        [_later("Hi Dana. Attached is the revised pricing.")],
        OURS,
    )
    assert hit is not None and hit.quote == "Attached is the revised pricing." and hit.message_id == "m2"
    assert keywords("Extend the sandbox through March 31") >= {"extend", "sandbox"}


def test_promises_questions_refusals_and_other_topics_do_not_count() -> None:
    action = "Send the revised pricing"
    for text in (
        "I'll send the revised pricing tomorrow.",
        "Has the revised pricing been approved?",
        "The revised pricing is not ready yet.",
        "Attached is the SOC 2 report.",
    ):
        assert find(action, "Marco", "marco@northwind.io", [_later(text)], OURS) is None, text


def test_only_our_side_delivers() -> None:
    action = "Send the revised pricing"
    customer = _later("Attached is the revised pricing our CFO marked up.", sender=DANA)
    assert find(action, "Marco", "marco@northwind.io", [customer], OURS) is None
    # a transcript speaker who is the owner counts by name
    spoken = LaterText("call", [Sentence("Here is the revised pricing on screen.", 0, "Marco", None)])
    assert find(action, "Marco", None, [spoken], OURS) is not None


def _record(store: Store, doc: SourceDocument, quote: str, **kw: object) -> int:  # noqa: F811
    doc_id, _ = store.add_document(doc)
    run = store.start_run(extractor="offline", model="m", prompt_version="v1")
    (cid,) = store.record_extraction(run, doc_id, "k", [make_item(doc, quote, **kw)])  # type: ignore[arg-type]
    return cid


def _promise_then_delivery(store: Store) -> int:  # noqa: F811
    """A promise to send the revised pricing, then a later email of ours that attaches it."""
    promise = make_doc(text="Thanks Dana. I'll send the revised pricing to you by Friday.")
    cid = _record(
        store, promise, "I'll send the revised pricing to you by Friday", action="Send the revised pricing"
    )
    store.add_document(
        make_doc(
            "<m2@northwind.io>",
            "Hi Dana, attached is the revised pricing with the volume discount.",
            occurred_at=datetime(2026, 3, 12, 9, 0, tzinfo=EST),
            participants=[MARCO, DANA.model_copy(update={"role": ParticipantRole.RECIPIENT})],
        )
    )
    return cid


def test_a_later_email_in_the_thread_closes_the_promise(store: Store) -> None:  # noqa: F811
    cid = _promise_then_delivery(store)
    assert store.detect_fulfilments(OURS) == 1
    v = store.get_commitment(cid, as_of=AS_OF)
    assert v.status == "done" and "fulfilled" in v.flags
    (h,) = [h for h in v.history if h.actor == "fulfilment"]
    assert h.note == "<m2@northwind.io>: Hi Dana, attached is the revised pricing with the volume discount."
    assert store.list_commitments(CommitmentFilter(as_of=AS_OF)).items == []
    # reopened by a person: never closed again
    store.set_status(cid, "open", actor="cli")
    assert store.detect_fulfilments(OURS) == 0
    assert store.get_commitment(cid).status == "open"


def test_an_item_whose_evidence_another_writer_moved_is_left_alone(store: Store) -> None:  # noqa: F811
    """Between reading an open item's row and its evidence, a concurrent run's merge may move the
    evidence to the survivor: the pass leaves that item to it instead of failing the run."""
    cid = _promise_then_delivery(store)
    with store.engine.begin() as conn:
        conn.execute(delete(EvidenceRow).where(EvidenceRow.commitment_id == cid))
    assert store.close_delivered_and_answered(OURS) == (0, 0)
    assert store.get_commitment(cid, as_of=AS_OF).status == "open"


def test_later_in_the_same_slack_thread_document(store: Store) -> None:  # noqa: F811
    first = "sure thing, I'll extend the sandbox through March 31 this afternoon."
    second = "Done: the sandbox is now extended through 3/31."
    text = f"{first}\n{second}"
    doc = SourceDocument(
        source="slack",
        external_id="acme-shared/1773151923.023757",
        thread_id="acme-shared/1773151923.023757",
        occurred_at=datetime(2026, 3, 10, 9, 0, tzinfo=EST),
        participants=[Participant(name="Priya Shah", email="priya@northwind.io", role="sender")],
        segments=[
            Segment(
                speaker="Priya Shah",
                speaker_email="priya@northwind.io",
                char_start=0,
                char_end=len(first),
                text=first,
            ),
            Segment(
                speaker="Priya Shah",
                speaker_email="priya@northwind.io",
                char_start=len(first) + 1,
                char_end=len(text),
                text=second,
            ),
        ],
        text=text,
    )
    cid = _record(
        store,
        doc,
        "I'll extend the sandbox through March 31 this afternoon",
        action="Extend the sandbox through March 31",
    )
    assert store.detect_fulfilments(OURS) == 1
    assert store.get_commitment(cid).status == "done"


def test_an_earlier_message_or_another_thread_does_not_close_it(store: Store) -> None:  # noqa: F811
    store.add_document(
        make_doc(
            "<m0@northwind.io>",
            "Attached is the revised pricing from last quarter.",
            occurred_at=datetime(2026, 3, 1, 9, 0, tzinfo=EST),
            participants=[MARCO],
        )
    )
    store.add_document(
        make_doc(
            "<other@northwind.io>",
            "Attached is the revised pricing.",
            thread_id="another-thread",
            occurred_at=datetime(2026, 3, 12, 9, 0, tzinfo=EST),
            participants=[MARCO],
        )
    )
    promise = make_doc(text="Thanks Dana. I'll send the revised pricing to you by Friday.")
    cid = _record(
        store, promise, "I'll send the revised pricing to you by Friday", action="Send the revised pricing"
    )
    assert store.detect_fulfilments(OURS) == 0
    assert store.get_commitment(cid).status == "open"


def test_the_fulfilled_list(store: Store) -> None:  # noqa: F811
    promise = make_doc(text="Thanks Dana. I'll send the revised pricing to you by Friday.")
    cid = _record(
        store, promise, "I'll send the revised pricing to you by Friday", action="Send the revised pricing"
    )
    store.add_document(
        make_doc(
            "<m2@northwind.io>",
            "Attached is the revised pricing.",
            occurred_at=datetime(2026, 3, 12, 9, 0, tzinfo=EST),
            participants=[MARCO],
        )
    )
    store.detect_fulfilments(OURS)
    fulfilled = store.list_commitments(CommitmentFilter(status="done", flag="fulfilled", as_of=AS_OF)).items
    assert [c.id for c in fulfilled] == [cid]
    assert store.list_commitments(CommitmentFilter(status=None, flag="stale", as_of=AS_OF)).items == []
