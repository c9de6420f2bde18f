"""Recording extractions (dedup, re-record), listings, cursor pagination, deals and export."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from followthrough.types import ExtractedItem, Participant, RunStatus, SourceDocument
from store import CommitmentFilter, CommitmentView, InvalidCursor, NotFound, Store
from tests.store_fixtures import EST, demo_crm, make_doc, make_item, store, store_url  # noqa: F401

AS_OF = date(2026, 3, 16)
TEXT = "Thanks Dana. I'll send the revised pricing to you by Friday. Can you confirm the SSO setup?"
PRICING = "I'll send the revised pricing to you by Friday"
SSO = "Can you confirm the SSO setup?"


def _record(store: Store, doc: SourceDocument, items: list[ExtractedItem], key: str = "k") -> list[int]:  # noqa: F811
    doc_id, _ = store.add_document(doc)
    run = store.start_run(extractor="offline", model="m", prompt_version="v1")
    ids = store.record_extraction(run, doc_id, key, items)
    store.finish_run(run, RunStatus.OK)
    return ids


def _all(store: Store, **kw: Any) -> list[CommitmentView]:  # noqa: F811
    return store.list_commitments(CommitmentFilter(status=None, as_of=AS_OF, **kw)).items


def test_the_same_item_is_never_stored_twice(store: Store) -> None:  # noqa: F811
    doc = make_doc(text=TEXT)
    item = make_item(doc, PRICING)
    ids = _record(store, doc, [item, item])  # the same span twice in one batch
    assert len(ids) == 1
    # the same promise restated later in the same thread: merged, with both quotes as evidence
    reply = make_doc(
        "<m2@northwind.io>",
        "Following up: I will send the revised pricing to Dana by Friday.",
        occurred_at=datetime(2026, 3, 11, 10, 0, tzinfo=EST),
    )
    again = make_item(reply, "I will send the revised pricing to Dana by Friday", action=item.action)
    assert _record(store, reply, [again]) == ids
    (view,) = _all(store)
    assert [e.message_id for e in view.quotes] == ["<m1@acme.com>", "<m2@northwind.io>"]
    # in another thread it is a different commitment
    other = make_doc("<m3@acme.com>", TEXT, thread_id="thread-2")
    assert _record(store, other, [make_item(other, PRICING)]) != ids
    assert len(_all(store)) == 2


def test_re_recording_keeps_user_status_and_does_not_duplicate(store: Store) -> None:  # noqa: F811
    doc = make_doc(text=TEXT)
    pricing_id, sso_id = _record(store, doc, [make_item(doc, PRICING), make_item(doc, SSO, type="request")])
    store.set_status(pricing_id, "done", as_of=AS_OF)
    store.set_status(sso_id, "snoozed", until=date(2026, 3, 30), as_of=AS_OF)
    # the email is edited (new text, offsets move) and extracted again under the same key
    edited = make_doc(text="Hi Dana, thanks. " + TEXT)
    _, changed = store.add_document(edited)
    assert changed
    ids = _record(
        store,
        edited,
        [make_item(edited, PRICING, due=date(2026, 3, 20)), make_item(edited, SSO, type="request")],
    )
    assert ids == [pricing_id, sso_id]
    views = {v.id: v for v in _all(store)}
    assert set(views) == {pricing_id, sso_id}
    assert views[pricing_id].status == "done" and views[pricing_id].due == date(2026, 3, 20)
    assert views[sso_id].status == "snoozed"
    ev = views[pricing_id].quotes[0]
    assert edited.text[ev.char_start : ev.char_end] == PRICING
    history = store.get_commitment(pricing_id, as_of=AS_OF).history
    assert ("due", "2026-03-13", "2026-03-20") in [(h.field, h.old, h.new) for h in history]


def test_re_recording_drops_vanished_items_unless_a_person_touched_them(store: Store) -> None:  # noqa: F811
    doc = make_doc(text=TEXT)
    pricing_id, sso_id = _record(store, doc, [make_item(doc, PRICING), make_item(doc, SSO, type="request")])
    store.set_status(sso_id, "done", as_of=AS_OF)
    assert _record(store, doc, []) == []
    views = _all(store)
    assert [(v.id, v.status, v.flags) for v in views] == [(sso_id, "done", ["stale"])]
    with pytest.raises(NotFound):
        store.get_commitment(pricing_id)


def test_another_cache_key_does_not_duplicate_either(store: Store) -> None:  # noqa: F811
    doc = make_doc(text=TEXT)
    (first,) = _record(store, doc, [make_item(doc, PRICING)], key="offline:v1")
    assert _record(store, doc, [make_item(doc, PRICING)], key="llm:v2:gpt") == [first]
    assert len(_all(store)) == 1


def test_filters(store: Store) -> None:  # noqa: F811
    store.upsert_crm(demo_crm())
    doc = make_doc(text=TEXT)
    pricing, sso = _record(
        store,
        doc,
        [
            make_item(doc, PRICING, due=date(2026, 3, 13)),
            make_item(doc, SSO, type="request", due=date(2026, 3, 18)),
        ],
    )
    slack = make_doc(
        "C1/1710000000.000100",
        "I'll write up the rollout plan.",
        source="slack",
        thread_id="C1/1710000000.000100",
        participants=[Participant(name="Priya", email="priya@northwind.io", role="sender", internal=True)],
        title=None,
    )
    internal = make_item(slack, "I'll write up the rollout plan", owner="Priya", owner_email=None, due=None)
    internal.counterparty = internal.counterparty_email = None
    (plan,) = _record(store, slack, [internal])
    store.link_commitments({"northwind.io"})

    def ids(**kw: Any) -> list[int]:
        return [c.id for c in store.list_commitments(CommitmentFilter(as_of=AS_OF, **kw)).items]

    assert ids() == [pricing, sso, plan]  # due order, undated last
    assert ids(overdue=True) == [pricing]
    assert ids(due_before=date(2026, 3, 14)) == [pricing]
    assert ids(due_within_days=3) == [sso]
    assert ids(owner="MARCO@northwind.io") == [pricing, sso]
    assert ids(owner="priya") == [plan]
    assert ids(source="slack") == [plan]
    assert ids(type="request") == [sso]
    assert ids(deal="D-100") == [pricing, sso]
    assert ids(unlinked=True) == [plan]
    store.set_status(pricing, "done", as_of=AS_OF)
    assert ids() == [sso, plan]
    assert ids(status="done") == [pricing]
    assert ids(status=None) == [pricing, sso, plan]
    assert ids(overdue=True) == []
    with pytest.raises(ValidationError, match="status"):
        ids(status="closed")


def test_views_carry_priority_reasons_and_overdue_days(store: Store) -> None:  # noqa: F811
    store.upsert_crm(demo_crm())
    doc = make_doc(text=TEXT)
    (cid,) = _record(store, doc, [make_item(doc, PRICING, due=date(2026, 3, 13))])
    store.link_commitments({"northwind.io"})
    v = store.get_commitment(cid, as_of=AS_OF)
    assert v.overdue_days == 3
    assert v.deal is not None and v.deal.crm_id == "D-100" and v.link_method == "contact"
    assert v.priority_reasons == ["$120k deal in Negotiation", "3 days overdue", "tier 1 account"]
    assert v.message_id == "<m1@acme.com>" and v.document_title == "Pricing"
    assert v.evidence == v.quotes[0].quote == PRICING and v.alignment == v.quotes[0].alignment == "exact"


@pytest.mark.parametrize("limit", [1, 3, 7])
def test_cursor_pages_through_everything_once(store: Store, limit: int) -> None:  # noqa: F811
    expected = set()
    for n in range(12):
        text = f"Note {n}. I'll send item {n} soon."
        doc = make_doc(f"<m{n}@acme.com>", text, thread_id=f"t{n}")
        due = None if n % 4 == 0 else date(2026, 3, 10) + timedelta(days=n % 3)  # ties on due
        expected.update(_record(store, doc, [make_item(doc, f"I'll send item {n} soon", due=due)]))
    seen: list[int] = []
    cursor = None
    while True:
        page = store.list_commitments(CommitmentFilter(as_of=AS_OF, limit=limit, cursor=cursor))
        seen.extend(c.id for c in page.items)
        # a status change between pages must not make the walk skip or repeat items
        if page.items:
            store.set_status(page.items[0].id, "open", note="touched", as_of=AS_OF)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 12
    assert set(seen) == expected
    with pytest.raises(InvalidCursor):
        store.list_commitments(CommitmentFilter(as_of=AS_OF, cursor="not-a-cursor"))


def test_deals_and_deal_commitments(store: Store) -> None:  # noqa: F811
    store.upsert_crm(demo_crm())
    doc = make_doc(text=TEXT)
    pricing, sso = _record(
        store,
        doc,
        [
            make_item(doc, PRICING, due=date(2026, 3, 13)),
            make_item(doc, SSO, type="request", due=date(2026, 3, 17)),
        ],
    )
    store.link_commitments({"northwind.io"})
    deals = store.list_deals(AS_OF)
    top = deals[0]
    assert (top.crm_id, top.open_count, top.overdue_count, top.health, top.amount) == (
        "D-100",
        2,
        1,
        "at risk",
        120000,
    )
    assert {d.crm_id: d.health for d in deals}["D-200"] == "clear"
    assert [c.id for c in store.deal_commitments("D-100", AS_OF)] == [pricing, sso]
    with pytest.raises(NotFound):
        store.deal_commitments("nope", AS_OF)
    # a manual link moves it; a manual unlink sticks through later linking
    assert store.set_deal(sso, "D-200").deal.crm_id == "D-200"  # type: ignore[union-attr]
    unlinked = store.set_deal(pricing, None)
    assert unlinked.deal is None and unlinked.link_method == "manual"
    store.link_commitments({"northwind.io"})
    assert store.get_commitment(pricing).deal is None
    with pytest.raises(NotFound):
        store.set_deal(pricing, "D-999")
    # the counts follow the manual links
    counts = {d.crm_id: (d.open_count, d.total_count) for d in store.list_deals(AS_OF)}
    assert counts["D-100"] == (0, 0) and counts["D-200"] == (1, 1)


def test_deal_counts_by_status_and_due(store: Store) -> None:  # noqa: F811
    """Open, overdue, due-soon, done and total per deal, in the listing and in one deal's summary."""
    store.upsert_crm(demo_crm())
    doc = make_doc(text=TEXT + " I'll book the kickoff. I'll share the notes. I'll write the brief.")
    due = {
        PRICING: date(2026, 3, 13),  # overdue
        SSO: date(2026, 3, 19),  # due within 3 days
        "I'll book the kickoff": date(2026, 3, 20),  # later
        "I'll share the notes": None,
        "I'll write the brief": date(2026, 3, 1),
    }
    ids = _record(store, doc, [make_item(doc, quote, due=d) for quote, d in due.items()])
    store.link_commitments({"northwind.io"})
    for cid in ids:
        store.set_deal(cid, "D-100")
    store.set_status(ids[3], "done")
    store.set_status(ids[4], "snoozed", until=date(2026, 3, 16))  # back today: open and overdue
    store.set_status(ids[2], "snoozed", until=date(2026, 4, 1))  # away: not open
    (deal,) = [d for d in store.list_deals(AS_OF) if d.crm_id == "D-100"]
    assert (deal.open_count, deal.overdue_count, deal.due_soon_count, deal.done_count, deal.total_count) == (
        3,
        2,
        1,
        1,
        5,
    )
    assert deal.health == "at risk"
    one = store.get_deal("D-100")  # counted as of today
    assert (one.crm_id, one.name, one.account, one.total_count, one.done_count) == (
        "D-100",
        deal.name,
        deal.account,
        5,
        1,
    )
    empty = store.get_deal("D-200")
    assert (empty.open_count, empty.total_count, empty.health) == (0, 0, "clear")
    with pytest.raises(NotFound):
        store.get_deal("D-999")


def test_export_rows(store: Store) -> None:  # noqa: F811
    store.upsert_crm(demo_crm())
    doc = make_doc(text=TEXT)
    (cid,) = _record(store, doc, [make_item(doc, PRICING, due=date(2026, 3, 13))])
    store.link_commitments({"northwind.io"})
    (row,) = list(store.export_rows())
    assert row["message_id"] == "<m1@acme.com>"
    assert row["type"] == "commitment"
    assert row["evidence"] == PRICING
    assert row["owner"] == "marco@northwind.io"
    assert row["due"] == "2026-03-13"
    assert row["status"] == "open"
    assert row["deal"] == "D-100"
    for key in (
        "id",
        "action",
        "due_text",
        "counterparty",
        "source",
        "thread_id",
        "char_start",
        "char_end",
        "alignment",
        "confidence",
        "link_method",
        "occurred_at",
    ):
        assert key in row
    assert row["id"] == cid and row["char_start"] == TEXT.index(PRICING) and row["link_method"] == "contact"


def test_crm_upsert_is_idempotent_and_feeds_directory(store: Store) -> None:  # noqa: F811
    first = store.upsert_crm(demo_crm())
    assert (first["accounts_added"], first["contacts_added"], first["deals_added"]) == (3, 3, 5)
    assert set(store.upsert_crm(demo_crm()).values()) == {0}
    changed = demo_crm()
    changed.deals[0].stage = "Closed Won"
    assert store.upsert_crm(changed)["deals_updated"] == 1
    assert store.company_domains_from_crm() == {"northwind.io"}
    directory = store.directory()
    assert directory["dana lee"] == "dana@acme.com"
    assert directory["dana"] == "dana@acme.com"
    assert directory["marco rossi"] == "marco@northwind.io"
    assert directory["priya"] == "priya@northwind.io"  # a deal owner known only by email


def test_directory_learns_names_seen_in_documents(store: Store) -> None:  # noqa: F811
    store.upsert_crm(demo_crm())
    doc = make_doc(
        participants=[
            Participant(name="Priya Shah", email="Priya@northwind.io", role="sender"),
            Participant(name="Dana L.", email="dana.other@acme.com", role="recipient"),
            Participant(name="Dana Lee", email="dana.lee@other.com", role="cc"),  # the CRM name wins
            Participant(name="bob@acme.com", email="bob@acme.com", role="cc"),
        ]
    )
    store.add_document(doc)
    directory = store.directory()
    assert directory["priya shah"] == "priya@northwind.io"
    assert directory["priya"] == "priya@northwind.io"
    assert directory["dana lee"] == "dana@acme.com"
    assert "dana" not in directory  # two people called Dana now: not guessed
    assert "bob@acme.com" not in directory


def test_re_recording_a_reply_refreshes_or_drops_only_its_own_evidence(store: Store) -> None:  # noqa: F811
    doc = make_doc(text=TEXT)
    item = make_item(doc, PRICING)
    (cid,) = _record(store, doc, [item])
    reply = make_doc("<m2@northwind.io>", "Following up: I will send the revised pricing to Dana by Friday.")
    restated = make_item(reply, "I will send the revised pricing to Dana by Friday", action=item.action)
    assert _record(store, reply, [restated]) == [cid]
    # the reply extracted again finds the same thing: still one commitment, two quotes
    assert _record(store, reply, [restated]) == [cid]
    assert len(store.get_commitment(cid).quotes) == 2
    # the reply extracted again finds nothing: its quote goes, the commitment stays
    assert _record(store, reply, []) == []
    (view,) = _all(store)
    assert view.id == cid and [e.message_id for e in view.quotes] == ["<m1@acme.com>"]


def test_every_filter_combination_runs(store: Store) -> None:  # noqa: F811
    """Contradictory filters (a deal and unlinked) give an empty page, never a query error."""
    store.upsert_crm(demo_crm())
    doc = make_doc(text=TEXT)
    _record(store, doc, [make_item(doc, PRICING, due=date(2026, 3, 13)), make_item(doc, SSO, due=None)])
    store.link_commitments({"northwind.io"})
    everything: dict[str, Any] = {
        "owner": "marco@northwind.io",
        "deal": "D-100",
        "overdue": True,
        "due_before": date(2026, 3, 20),
        "due_within_days": 7,
        "unlinked": True,
        "source": "email",
        "type": "commitment",
        "flag": "stale",
    }
    keys = list(everything)
    for i in range(len(keys)):
        for j in range(i, len(keys)):
            kw = {keys[i]: everything[keys[i]], keys[j]: everything[keys[j]]}
            for status in ("open", None):
                store.list_commitments(CommitmentFilter(status=status, as_of=AS_OF, **kw))
    assert store.list_commitments(CommitmentFilter(deal="D-100", unlinked=True, as_of=AS_OF)).items == []
