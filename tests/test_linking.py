"""Deal linking: mention, contact, domain, never by domain for internal-only talk, else unlinked."""

from __future__ import annotations

from datetime import date

from followthrough.types import Participant
from store import CommitmentFilter, Store
from store.deal_rules import (
    AccountInfo,
    DealInfo,
    LinkIndex,
    LinkInput,
    Participation,
    account_aliases,
    best_deal,
    decide,
)
from tests.store_fixtures import demo_crm, make_doc, make_item, store, store_url  # noqa: F401

AS_OF = date(2026, 3, 16)
MARCO = Participant(name="Marco Rossi", email="marco@northwind.io", role="sender", internal=True)
PRIYA = Participant(name="Priya Shah", email="priya@northwind.io", role="recipient", internal=True)


def _index() -> LinkIndex:
    return LinkIndex(
        deals=[
            DealInfo(1, "D-1", "Acme Platform Expansion", 10, "Negotiation", date(2026, 3, 31)),
            DealInfo(2, "D-2", "Acme Analytics Pilot", 10, "Discovery", date(2026, 4, 15)),
            DealInfo(3, "D-3", "Acme Renewal", 10, "Closed Won", date(2025, 12, 1)),
            DealInfo(4, "D-4", "Globex Data Platform", 20, "Proposal", date(2026, 5, 1)),
            DealInfo(5, "D-5", "Globex Add-on", 20, "Proposal", date(2026, 3, 20)),
        ],
        accounts=[AccountInfo(10, "Acme Corp", ("acme.com",)), AccountInfo(20, "Globex", ("globex.com",))],
        contact_accounts={"dana@acme.com": 10},
        internal_domains={"northwind.io"},
    )


def test_mention_of_a_deal_name_wins() -> None:
    inp = LinkInput(
        texts=["Send the SOW for the Acme analytics pilot"], participants=[Participation("dana@acme.com")]
    )
    d = decide(inp, _index())
    assert d is not None and (d.deal_id, d.method, d.confidence) == (2, "mention", 0.9)


def test_mention_of_an_account_picks_its_best_open_deal() -> None:
    # "Acme" without "Corp"; the closed deal is never picked; Negotiation beats Discovery
    d = decide(LinkInput(texts=["internal: Acme needs the SOC 2 report"], participants=[]), _index())
    assert d is not None and (d.deal_id, d.method) == (1, "mention")
    assert account_aliases("Acme Corp") == ["Acme Corp", "Acme"]
    # a word inside another word or an email address is not a mention
    assert (
        decide(LinkInput(texts=["see acmecorporation.net or bob@acme.com"], participants=[]), _index())
        is None
    )


def test_contact_then_tie_break_by_stage_then_close_date() -> None:
    d = decide(LinkInput(texts=["sure"], participants=[Participation("Dana@Acme.com")]), _index())
    assert d is not None and (d.deal_id, d.method, d.confidence) == (1, "contact", 0.8)
    same_stage = [
        DealInfo(4, "D-4", "x", 20, "Proposal", date(2026, 5, 1)),
        DealInfo(5, "D-5", "y", 20, "Proposal", date(2026, 3, 20)),
    ]
    best = best_deal(same_stage, date(2026, 3, 16))
    assert best is not None and best.id == 5


def test_domain_when_no_contact_matches() -> None:
    d = decide(LinkInput(texts=["ok"], participants=[Participation("new.person@mail.globex.com")]), _index())
    assert d is not None and (d.method, d.confidence) == ("domain", 0.6) and d.deal_id == 5


def test_internal_only_never_links_by_domain() -> None:
    index = _index()
    index.internal_domains.add("acme.com")  # e.g. a customer domain mistakenly configured as ours
    inp = LinkInput(
        texts=["ok"], participants=[Participation("bob@acme.com"), Participation("marco@northwind.io")]
    )
    assert decide(inp, index) is None
    # flagged internal by the pipeline counts too
    flagged = LinkInput(texts=["ok"], participants=[Participation("someone@globex.com", internal=True)])
    assert decide(flagged, _index()) is None


def test_unknown_everything_stays_unlinked() -> None:
    assert decide(LinkInput(texts=["hello"], participants=[Participation("x@unknown.org")]), _index()) is None


def _store_item(store: Store, ext_id: str, text: str, quote: str, participants: list[Participant]) -> int:  # noqa: F811
    doc = make_doc(ext_id, text, thread_id=ext_id, participants=participants, title=None)
    doc_id, _ = store.add_document(doc)
    run = store.start_run(extractor="offline", model="m", prompt_version="v1")
    item = make_item(doc, quote)
    item.counterparty = item.counterparty_email = None
    (cid,) = store.record_extraction(run, doc_id, "k", [item])
    return cid


def test_link_commitments_in_the_store(store: Store) -> None:  # noqa: F811
    store.upsert_crm(demo_crm())
    dana = Participant(name="Dana Lee", email="dana@acme.com", internal=False)
    stranger = Participant(name="Lu", email="lu@initech.com", internal=False)
    mention = _store_item(
        store, "m1", "Re the Globex Data Platform: I'll send the plan.", "I'll send the plan", [MARCO]
    )
    contact = _store_item(
        store, "m2", "I'll send the SOC 2 report.", "I'll send the SOC 2 report", [MARCO, dana]
    )
    domain = _store_item(store, "m3", "I'll book the workshop.", "I'll book the workshop", [MARCO, stranger])
    internal = _store_item(
        store, "m4", "I'll update the forecast.", "I'll update the forecast", [MARCO, PRIYA]
    )
    counts = store.link_commitments({"northwind.io"})
    assert counts == {"mention": 1, "contact": 1, "domain": 1, "unlinked": 1}

    def deal(cid: int) -> tuple[str | None, str | None]:
        v = store.get_commitment(cid, as_of=AS_OF)
        return (v.deal.crm_id if v.deal else None, v.link_method)

    assert deal(mention) == ("D-200", "mention")
    assert deal(contact) == ("D-100", "contact")  # Negotiation beats Discovery; Closed Won never
    assert deal(domain) == ("D-300", "domain")
    assert deal(internal) == (None, None)
    unlinked = store.list_commitments(CommitmentFilter(unlinked=True, as_of=AS_OF)).items
    assert [c.id for c in unlinked] == [internal]
    # already linked items are left alone; a second pass links nothing new
    assert store.link_commitments({"northwind.io"}) == {
        "mention": 0,
        "contact": 0,
        "domain": 0,
        "unlinked": 1,
    }


def test_link_commitments_with_ids_links_only_those(store: Store) -> None:  # noqa: F811
    """The API links the items of the one document it stored, not the whole unlinked queue."""
    store.upsert_crm(demo_crm())
    dana = Participant(name="Dana Lee", email="dana@acme.com", internal=False)
    queued = _store_item(
        store, "m1", "Re the Globex Data Platform: I'll send the plan.", "I'll send the plan", [MARCO]
    )
    new = _store_item(store, "m2", "I'll send the SOC 2 report.", "I'll send the SOC 2 report", [MARCO, dana])
    assert store.link_commitments({"northwind.io"}, ids=[new, new, 10_000]) == {
        "mention": 0,
        "contact": 1,
        "domain": 0,
        "unlinked": 0,
    }
    assert store.get_commitment(new).deal is not None
    assert store.get_commitment(queued).deal is None
    # an already linked id is left alone; no ids, nothing to do
    assert sum(store.link_commitments({"northwind.io"}, ids=[new]).values()) == 0
    assert sum(store.link_commitments({"northwind.io"}, ids=[]).values()) == 0
    # the batch pass still finds the rest
    assert store.link_commitments({"northwind.io"})["mention"] == 1
    assert store.get_commitment(queued).deal is not None


def test_internal_only_conversation_with_a_customer_domain_configured_as_internal(store: Store) -> None:  # noqa: F811
    store.upsert_crm(demo_crm())
    lu = Participant(name="Lu", email="lu@initech.com", internal=None)
    cid = _store_item(store, "m5", "I'll book the workshop.", "I'll book the workshop", [MARCO, lu])
    store.link_commitments({"northwind.io", "initech.com"})
    assert store.get_commitment(cid).deal is None


def test_meeting_speakers_known_by_name_link_through_their_contact() -> None:
    index = _index()
    index.contact_names = {"dana lee": 10}
    inp = LinkInput(
        texts=["ok"], participants=[Participation(None, None, "Dana  Lee"), Participation(None, None, "X")]
    )
    d = decide(inp, index)
    assert d is not None and (d.deal_id, d.method) == (1, "contact")
    # a name flagged internal never counts
    assert (
        decide(LinkInput(texts=["ok"], participants=[Participation(None, True, "Dana Lee")]), index) is None
    )


def test_store_links_meeting_speakers_by_contact_name(store: Store) -> None:  # noqa: F811
    store.upsert_crm(demo_crm())
    speakers = [
        Participant(name="Marco Rossi", role="speaker"),
        Participant(name="Hank Scorpio", role="speaker"),
    ]
    cid = _store_item(store, "meeting-1", "I'll send the benchmark.", "I'll send the benchmark", speakers)
    assert store.link_commitments({"northwind.io"})["contact"] == 1
    v = store.get_commitment(cid)
    assert v.deal is not None and v.deal.crm_id == "D-200"


def test_an_account_named_in_passing_does_not_beat_the_people_in_the_thread() -> None:
    body = "Dana here. Globex uses your product too, so I'm sure it works. Please send the SOW."
    inp = LinkInput(
        texts=["Please send the SOW"], participants=[Participation("dana@acme.com")], bodies=[body]
    )
    d = decide(inp, _index())
    assert d is not None and (d.deal_id, d.method) == (1, "contact")
    # with nobody external, the account named in the body still links (an internal channel)
    internal = LinkInput(texts=["on it"], participants=[Participation("marco@northwind.io")], bodies=[body])
    d = decide(internal, _index())
    assert d is not None and (d.method, d.deal_id) == ("mention", 5)
    # a deal's full name in the body is explicit enough to win
    named = LinkInput(
        texts=["ok"], participants=[Participation("dana@acme.com")], bodies=["About the Globex Add-on: ok"]
    )
    d = decide(named, _index())
    assert d is not None and (d.method, d.deal_id) == ("mention", 5)
