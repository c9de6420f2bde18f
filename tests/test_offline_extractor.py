"""The offline extractor: commitments, requests, owners, direction, evidence offsets."""

from __future__ import annotations

import socket
from datetime import UTC, date, datetime

import pytest

from extractor.offline import OfflineExtractor, make_action
from extractor.offline.model import DetectorModel
from followthrough.types import ExtractedItem, Participant, Segment, SourceDocument

TUESDAY = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
MARCO = Participant(name="Marco Rossi", email="marco@northwind.io", role="sender")
DANA = Participant(name="Dana Lee", email="dana@acme.com", role="recipient")


def email(text: str, sender: Participant = MARCO, to: Participant = DANA, **kw: object) -> SourceDocument:
    return SourceDocument(
        source="email",
        external_id="<m1@test>",
        occurred_at=TUESDAY,
        participants=[
            sender.model_copy(update={"role": "sender"}),
            to.model_copy(update={"role": "recipient"}),
        ],
        text=text,
        **kw,
    )


def extract(doc: SourceDocument, **kw: object) -> list[ExtractedItem]:
    items = OfflineExtractor(**kw).extract(doc)  # type: ignore[arg-type]
    for it in items:  # evidence is always exact
        assert it.evidence.char_start is not None and it.evidence.char_end is not None
        assert doc.text[it.evidence.char_start : it.evidence.char_end] == it.evidence.quote
        assert it.evidence.alignment == "exact"
    return items


def of_type(items: list[ExtractedItem], kind: str) -> list[ExtractedItem]:
    return [i for i in items if i.type == kind]


DOMAINS = {"company_domains": {"northwind.io"}}


def test_first_person_commitment_owner_due_action_counterparty() -> None:
    doc = email(
        "Hi Dana,\n\nThanks for the call. I'll send the revised pricing to you by Friday.\n\nBest,\nMarco"
    )
    (c,) = of_type(extract(doc, **DOMAINS), "commitment")
    assert c.owner_email == "marco@northwind.io"
    assert c.due == date(2026, 3, 13) and c.due_text == "by Friday"
    assert c.action == "Send the revised pricing to you"
    assert c.counterparty_email == "dana@acme.com"
    assert c.evidence.quote == "I'll send the revised pricing to you by Friday."


@pytest.mark.parametrize(
    "text",
    [
        "We will have the proposal in your inbox by March 13.",
        "Let me put together a short configuration guide for your team.",
        "Happy to set up a call with your security team.",
        "Will do, I'll get it over today.",
        "I am going to review the contract this week.",
        "Sure, will send it over today.",
        "On it!",
    ],
)
def test_modal_commitments(text: str) -> None:
    assert of_type(extract(email(text), **DOMAINS), "commitment"), text


@pytest.mark.parametrize(
    "text",
    [
        "I might send the deck later.",  # hedge
        "Maybe I'll look at it next week.",  # hedge
        "I'll send it if I get a chance.",  # self-condition
        "I can't make it on Friday.",  # decline
        "We won't be able to support that.",  # decline
        "I sent the contract yesterday.",  # past: already done
        "I've attached the signed order form.",  # past/perfect
        "I'll be out of the office next week.",  # a state, not an action
        "If we are going to do it in Seattle, I prefer the downtown venue.",  # conditional clause
        "Post the link so we can take a look.",  # purpose clause ("so we can")
        "What I'll have after this is a clearer picture of the costs.",  # pseudo-cleft, not a promise
        "And I'm able to process it.",  # ability, not a promise
        "Let me introduce myself: I run the data team at Acme.",  # performative
        "I am pleased to announce the new pricing tiers.",  # performative
        "I am not willing to extend the discount.",  # decline
        "I am going to be in Austin next Friday.",  # a state, not an action
        "Are there steps we can take to keep the exemption?",  # a question, not a promise
        'Their CFO wrote "we will sign by Friday" but nothing came.',  # quoted speech
    ],
)
def test_not_commitments(text: str) -> None:
    assert not of_type(extract(email(text), **DOMAINS), "commitment"), text


def test_named_owner_resolved_through_participants_and_directory() -> None:
    priya = Participant(name="Priya Shah", email="priya@northwind.io", role="cc")
    doc = SourceDocument(
        source="email",
        external_id="<m2@test>",
        occurred_at=TUESDAY,
        participants=[MARCO, DANA, priya],
        text="Priya will send you the benchmark results by Thursday. Tom will book the room.",
    )
    items = of_type(extract(doc, directory={"tom becker": "tom@northwind.io"}, **DOMAINS), "commitment")
    owners = {i.owner_email for i in items}
    assert owners == {"priya@northwind.io", "tom@northwind.io"}
    by_owner = {i.owner_email: i for i in items}
    assert by_owner["priya@northwind.io"].due == date(2026, 3, 12)


def test_external_named_owner_is_the_customers_commitment() -> None:
    doc = email("Dana will send the signed order form next week.")
    (c,) = of_type(extract(doc, **DOMAINS), "commitment")
    assert c.owner_email == "dana@acme.com" and "customer_promise" in c.flags


def test_questions_from_customer_are_requests_to_us() -> None:
    doc = email("Could you confirm the SSO setup works with Okta? How are you doing?", sender=DANA, to=MARCO)
    (r,) = of_type(extract(doc, **DOMAINS), "request")
    assert r.evidence.quote == "Could you confirm the SSO setup works with Okta?"
    assert r.action == "Confirm the SSO setup works with Okta"
    assert r.owner_email == "marco@northwind.io"  # the internal recipient it was addressed to
    assert r.counterparty_email == "dana@acme.com"  # who asked


@pytest.mark.parametrize(
    "text",
    [
        "Please send the W-9 form.",
        "Can anyone confirm or deny this?",
        "Let us know what you need from our IT team.",
        "I was wondering if you could share a reference customer.",
        "Review the attached draft before the call.",
        "Send it to Ina, she can forward it to the traders.",
        "Don't forget to sign the order form.",
        "Could you review the draft before Friday?",
    ],
)
def test_request_forms(text: str) -> None:
    assert of_type(extract(email(text, sender=DANA, to=MARCO), **DOMAINS), "request"), text


def test_leading_function_word_is_not_an_addressee() -> None:
    doc = email("The deck locks on the 20th, could you send the reference by then?", sender=DANA, to=MARCO)
    (r,) = of_type(
        extract(doc, directory={"the data stack weekly": "digest@news.example"}, **DOMAINS), "request"
    )
    assert r.owner_email == "marco@northwind.io"


def test_our_own_questions_are_not_requests_to_us() -> None:
    doc = email("Could you send the signed order form?")  # Marco (internal) asks Dana
    assert not of_type(extract(doc, **DOMAINS), "request")


def test_customer_promise_is_theirs_never_ours() -> None:
    doc = email("I'll send the signed order form tomorrow.", sender=DANA, to=MARCO)
    (c,) = of_type(extract(doc, **DOMAINS), "commitment")
    assert c.owner_email == "dana@acme.com" and "customer_promise" in c.flags
    assert c.counterparty_email == "marco@northwind.io"


def test_unknown_domains_sender_is_us_and_questions_are_requests() -> None:
    a = Participant(name="Ann", email="ann@w3.org", role="sender")
    b = Participant(name="Bob", email="bob@w3.org", role="recipient")
    doc = email(
        "I will add this to the agenda for the next call. Can you suggest another venue?", sender=a, to=b
    )
    items = extract(doc)
    (c,) = of_type(items, "commitment")
    assert c.owner_email == "ann@w3.org"
    assert of_type(items, "request")


@pytest.mark.parametrize(
    "text",
    [
        "How are you?",
        "Hope you had a great weekend?",
        "Who cares?",
        "Need I say more?",
        "Does anyone need better directions?",  # an offer, not a request
    ],
)
def test_pleasantries_rhetorical_and_offers_are_not_requests(text: str) -> None:
    assert not of_type(extract(email(text, sender=DANA, to=MARCO), **DOMAINS), "request"), text


def test_quoted_lines_and_boilerplate_are_ignored() -> None:
    text = (
        "Sounds good.\n"
        "> I'll send the revised pricing by Friday.\n"
        "> Can you confirm the SSO setup?\n"
        "Sent from my iPhone\n"
        "Please do not read, copy or disclose this communication to others and delete it from your system.\n"
        "Click here to unsubscribe."
    )
    assert extract(email(text, sender=DANA, to=MARCO), **DOMAINS) == []


def test_code_and_stack_traces_are_ignored() -> None:
    text = (
        'Traceback (most recent call last):\n  File "/srv/app/problem.py", line 5, in <module>\n'
        "    send(report)  # {retry: true};\n"
    )
    assert extract(email(text, sender=DANA, to=MARCO), **DOMAINS) == []


def test_reply_header_ends_new_content_through_the_one_splitter() -> None:
    """History is taken off by the connectors' splitter, for files and for JSON posted to the API alike."""
    from followthrough.api.schemas import EmailIn

    text = (
        "Thanks!\n\nOn Tue, Mar 10, 2026 at 9:00 AM Dana Lee <dana@acme.com> wrote:\nCan you send the deck?"
    )
    posted = EmailIn.model_validate(
        {
            "source": "email",
            "occurred_at": "2026-03-10T15:00:00+00:00",
            "text": text,
            "participants": [
                {"name": "Marco Rossi", "email": "marco@northwind.io", "role": "sender"},
                {"name": "Dana Lee", "email": "dana@acme.com", "role": "recipient"},
            ],
        }
    ).to_document()
    assert posted.text == "Thanks!" and posted.quoted_text.startswith("On Tue, Mar 10")
    assert extract(posted, **DOMAINS) == []


def test_speaker_owns_commitments_in_transcripts() -> None:
    text = "Marco Rossi: Can everyone hear me okay?\nPriya Shah: We will get you the write-up by the 20th."
    segs = [
        Segment(speaker="Marco Rossi", char_start=13, char_end=39, text=text[13:39]),
        Segment(speaker="Priya Shah", char_start=52, char_end=len(text), text=text[52:]),
    ]
    doc = SourceDocument(
        source="meeting",
        external_id="call.vtt",
        occurred_at=TUESDAY,
        participants=[
            Participant(name="Marco Rossi", role="speaker"),
            Participant(name="Priya Shah", role="speaker"),
        ],
        segments=segs,
        text=text,
    )
    items = extract(doc, directory={"priya shah": "priya@northwind.io"}, **DOMAINS)
    (c,) = of_type(items, "commitment")
    assert c.owner == "Priya Shah" and c.owner_email == "priya@northwind.io"
    assert c.due == date(2026, 3, 20)
    assert c.evidence.quote == "We will get you the write-up by the 20th."
    assert not of_type(items, "request")  # "can everyone hear me" is small talk


def test_action_item_bullets_are_owned_by_the_named_person() -> None:
    text = (
        "# Weekly sync\n\nNotes\n- Pricing discussed.\n\n## Action items\n"
        "- Marco: send the SOC 2 report to Dana by Friday\n"
        "- [ ] Priya to schedule the follow-up next week\n"
        "- Dana: confirm the attendees\n"
    )
    doc = SourceDocument(
        source="meeting",
        external_id="notes.md",
        occurred_at=TUESDAY,
        participants=[
            Participant(name="Marco Rossi", email="marco@northwind.io", role="attendee"),
            Participant(name="Priya Shah", email="priya@northwind.io", role="attendee"),
            Participant(name="Dana Lee", email="dana@acme.com", role="attendee"),
        ],
        text=text,
    )
    items = of_type(extract(doc, **DOMAINS), "commitment")
    by_owner = {i.owner_email: i for i in items}
    assert set(by_owner) == {"marco@northwind.io", "priya@northwind.io", "dana@acme.com"}
    assert "customer_promise" in by_owner["dana@acme.com"].flags  # Dana's item is hers, not ours
    assert not by_owner["marco@northwind.io"].flags
    assert by_owner["marco@northwind.io"].action == "Send the SOC 2 report to Dana"
    assert by_owner["marco@northwind.io"].due == date(2026, 3, 13)
    assert by_owner["marco@northwind.io"].evidence.quote == "Marco: send the SOC 2 report to Dana by Friday"
    assert by_owner["priya@northwind.io"].action == "Schedule the follow-up"
    assert by_owner["priya@northwind.io"].due == date(2026, 3, 20)


def test_action_item_with_trailing_owner() -> None:
    text = "Next steps:\n- Send the updated order form to Dana (Priya)\n"
    doc = SourceDocument(
        source="meeting",
        external_id="notes2.md",
        occurred_at=TUESDAY,
        participants=[Participant(name="Priya Shah", email="priya@northwind.io", role="attendee")],
        text=text,
    )
    (c,) = of_type(extract(doc, **DOMAINS), "commitment")
    assert c.owner_email == "priya@northwind.io"
    assert c.action == "Send the updated order form to Dana"


def test_inline_action_item_line() -> None:
    doc = email("Action item: Marco to send the updated MSA by Monday.", sender=DANA, to=MARCO)
    (c,) = of_type(extract(doc, **DOMAINS), "commitment")
    assert c.owner_email == "marco@northwind.io" and c.due == date(2026, 3, 16)


def test_make_action() -> None:
    assert (
        make_action("send the revised pricing to Dana by Friday", "by Friday")
        == "Send the revised pricing to Dana"
    )
    assert make_action("review it, but only after legal signs off") == "Review it"


def test_deterministic() -> None:
    doc = email("I'll send the pricing by Friday. Can you confirm the SSO setup? Let me check with legal.")
    a = [i.model_dump() for i in extract(doc)]
    b = [i.model_dump() for i in extract(doc)]
    assert a == b


def test_prefilter_api() -> None:
    ex = OfflineExtractor()
    plain = email("Great to see you last week. The weather in Lisbon was lovely.")
    busy = email("Great to see you. I'll send the deck tomorrow.")
    assert not ex.plausible(plain)
    assert ex.plausible(busy)
    start = busy.text.index("I'll")
    assert ex.candidates(busy) == [(start, len(busy.text))]
    assert ex.score_text("I'll send the deck tomorrow.") > ex.score_text("The weather was lovely.")


def test_model_loads_and_runs_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    model = DetectorModel.load()
    assert model.commitment.weights and 0.0 <= model.score("Please send me the report.") <= 1.0
    assert of_type(
        OfflineExtractor(model=model).extract(email("I'll send the report tomorrow.")), "commitment"
    )
