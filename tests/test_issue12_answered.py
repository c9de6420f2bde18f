"""Issue 12: a request one of ours answers in its thread closes itself; unanswered ones show their age."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from followthrough.api import create_app
from followthrough.config import Settings
from followthrough.types import CommitmentStatus, Participant, Segment, SourceDocument, TieredValue
from store import CommitmentFilter, Store
from store.answer_rules import Promise, Request, asks_for_information, find_answer
from store.api_tokens import ApiTokens
from store.fulfilment_rules import LaterText, Sentence, sentences
from store.priority import Stake, age_hours, score
from tests.api_support import AS_OF, BACKENDS, FakeExtractor, LiveServer, database
from tests.clirunner import followthrough
from tests.store_fixtures import EST, demo_crm, make_doc, make_item, store, store_url  # noqa: F401

OURS = {"northwind.io"}
MARCO = Participant(name="Marco Rossi", email="marco@northwind.io", role="sender", internal=True)
PRIYA = Participant(name="Priya Shah", email="priya@northwind.io", role="sender", internal=True)
DANA = Participant(name="Dana Lee", email="dana@acme.com", role="sender", internal=False)
SAM = Participant(name="Sam Ortiz", email="sam@acme.com", role="sender", internal=False)

OKTA = Request(
    action="Confirm the SSO setup works with Okta",
    quote="Could you confirm the SSO setup works with Okta?",
    owner="Priya Shah",
    owner_email="priya@northwind.io",
    asker="dana@acme.com",
)
BAA = Request(
    action="Send us your BAA template",
    quote="could you send us your BAA template so compliance can start their review?",
    owner="Marco Rossi",
    owner_email="marco@northwind.io",
    asker="dana@acme.com",
)


def _email(text: str, sender: Participant = PRIYA, message_id: str = "m2") -> LaterText:
    return LaterText(message_id, sentences(text), sender.name, sender.email)


def _meeting(*turns: tuple[str, str | None, str]) -> LaterText:
    """A transcript of ``(speaker, email, text)`` turns, each labelled ``Name: text`` as connectors do."""
    text, spans = "", []
    for name, email, said in turns:
        text += f"{name}: "
        spans.append((len(text), len(text) + len(said), name, email))
        text += said + "\n"
    return LaterText("call", sentences(text, 0, spans))


# ------------------------------------------------------------------------------------------ the rules


@pytest.mark.parametrize(
    ("action", "quote", "informational"),
    [
        (OKTA.action, OKTA.quote, True),
        ("Let us know what you need from our IT team", "Could you let us know what you need?", True),
        ("Reply: the tags follow the data downstream", "And the tags follow the data downstream?", True),
        ("Tell us whether group push is supported", "Is group push supported?", True),
        (BAA.action, BAA.quote, False),
        (
            "Get the sandbox extended",
            "could we get the sandbox extended through the end of the month?",
            False,
        ),
        ("Share a customer reference", "Quick ask: could you share a customer reference?", False),
    ],
)
def test_a_request_for_information_is_told_from_a_request_to_do(
    action: str, quote: str, informational: bool
) -> None:
    assert asks_for_information(action, quote) is informational


@pytest.mark.parametrize(
    "reply",
    [
        "Hi Dana,\n\nYes, Okta works out of the box: we support SAML 2.0 for SSO.",
        "Hi Dana,\nThe SSO setup with Okta is supported, including SCIM group push.",
        "Unfortunately Okta is not supported for SSO today.",
    ],
)
def test_a_reply_that_answers_the_question_answers_it(reply: str) -> None:
    hit = find_answer(OKTA, [_email(reply)], [], OURS)
    assert hit is not None and hit.message_id == "m2" and hit.commitment_id is None
    assert hit.quote in reply and "Hi Dana" not in hit.quote


def test_a_quote_keeps_decimal_points_and_is_the_answering_sentence() -> None:
    hit = find_answer(
        OKTA, [_email("Yes, Okta works: SAML 2.0 for SSO and SCIM 2.0 for provisioning.")], [], OURS
    )
    assert hit is not None and hit.quote == "Yes, Okta works: SAML 2.0 for SSO and SCIM 2.0 for provisioning."


def test_the_next_speaker_of_ours_answers_a_question_in_a_meeting() -> None:
    tags = Request(
        "Reply: the tags follow the data downstream",
        "And the tags follow the data downstream?",
        "Priya Shah",
        "priya@northwind.io",
        "zoe müller",
    )
    call = _meeting(
        ("Zoe Müller", None, "Okay, and one more thing."),
        ("Priya Shah", None, "Exactly. If you click through, you can see the tag on every derived table."),
    )
    hit = find_answer(tags, [call], [], OURS, {"priya shah": "priya@northwind.io"})
    assert (
        hit is not None and hit.quote == "If you click through, you can see the tag on every derived table."
    )
    # a plain "Yes." right after a yes/no question answers it too
    yes_no = Request("Tell us if it is HIPAA eligible", "Is it HIPAA eligible?", None, None, "zoe müller")
    yes = _meeting(("Priya Shah", "priya@northwind.io", "Yes, since January."))
    assert find_answer(yes_no, [yes], [], OURS) is not None


def test_a_promise_of_ours_that_takes_the_request_on_answers_it() -> None:
    reply = "Happy to help. I'll get our BAA template and the security whitepaper over by Wednesday."
    later = _email(reply, MARCO, "m3")
    at = reply.index("I'll")
    promise = Promise(12, "m3", at, "Get our BAA template and the security whitepaper over", reply[at:])
    hit = find_answer(BAA, [later], [promise], OURS)
    assert hit is not None and hit.commitment_id == 12 and hit.message_id == "m3"
    # in the very next reply, a promise that refers back to the request takes it on
    short = _email("Sure thing, I'll send it over tomorrow.", MARCO, "m3")
    sure = Promise(13, "m3", 12, "Send it over", "I'll send it over tomorrow")
    assert find_answer(BAA, [short], [sure], OURS) is not None


@pytest.mark.parametrize(
    "reply",
    [
        "Hi Dana, attached is the signed order form.",  # another topic
        "Which version of Okta are you on?",  # a question back
        "Let me check with the team on Okta SSO and get back to you.",  # a deferral
        "We might be able to support Okta for SSO later this year.",  # a hedge
        "I'll confirm the Okta SSO setup by Friday.",  # a promise nobody stored
        "The setup call is booked for Tuesday.",  # one shared word, no answer
        "Thanks Dana!",  # a pleasantry
    ],
)
def test_a_later_message_of_ours_that_does_not_address_the_question_leaves_it_open(reply: str) -> None:
    assert find_answer(OKTA, [_email(reply)], [], OURS) is None


def test_words_alone_do_not_answer_a_request_to_do_something() -> None:
    for reply in ("Sure, sounds good.", "Yes, the BAA template is something we have.", "Got it, thanks."):
        assert find_answer(BAA, [_email(reply, MARCO)], [], OURS) is None, reply
    # a promise of ours in the thread about something else does not take it on
    other = "I'll send the SOC 2 report on Friday."
    soc2 = Promise(14, "m2", 0, "Send the SOC 2 report", other)
    assert find_answer(BAA, [_email(other, MARCO)], [soc2], OURS) is None


def test_only_our_side_answers_and_only_the_direct_reply_answers_with_a_bare_yes() -> None:
    customer = _email("Yes, the SSO setup works with Okta, we tested it.", SAM)
    assert find_answer(OKTA, [customer], [], OURS) is None
    is_eligible = Request("Tell us if it is eligible", "Is it HIPAA eligible?", None, None, "dana@acme.com")
    # someone else spoke in between: our "Yes." may answer them, not the request
    between = _meeting(
        ("Sam Ortiz", "sam@acme.com", "Can we also see the audit log?"),
        ("Priya Shah", "priya@northwind.io", "Yes."),
    )
    assert find_answer(is_eligible, [between], [], OURS) is None
    # "yes" alone does not answer a what/when/how question
    what = Request("Tell us what you need", "What do you need from IT?", None, None, "dana@acme.com")
    assert find_answer(what, [_email("Yes, talk soon.")], [], OURS) is None


def test_the_asker_following_up_keeps_our_reply_the_direct_one() -> None:
    chaser = _email("Bumping this one.", DANA, "m2")
    yes_no = Request("Tell us if it is HIPAA eligible", "Is it HIPAA eligible?", None, None, "dana@acme.com")
    assert find_answer(yes_no, [chaser, _email("Yes, since January.", PRIYA, "m3")], [], OURS) is not None


def test_a_transcript_label_is_not_part_of_the_sentence() -> None:
    call = _meeting(("Priya Shah", None, "Exactly. The tag follows."))
    assert [(s.text, s.speaker) for s in call.sentences] == [
        ("Exactly.", "Priya Shah"),
        ("The tag follows.", "Priya Shah"),
    ]
    assert isinstance(call.sentences[0], Sentence)


# ------------------------------------------------------------------------------------------ the store


def _doc(*args: object, **kw: object) -> SourceDocument:
    """:func:`make_doc` with its one segment said by the document's sender."""
    doc = make_doc(*args, **kw)  # type: ignore[arg-type]
    who = doc.participants[0]
    seg = Segment(
        speaker=who.name, speaker_email=who.email, char_start=0, char_end=len(doc.text), text=doc.text
    )
    return doc.model_copy(update={"segments": [seg]})


def _request(store: Store, doc: SourceDocument, quote: str, action: str) -> int:  # noqa: F811
    doc_id, _ = store.add_document(doc)
    run = store.start_run(extractor="offline", model="m", prompt_version="v1")
    item = make_item(
        doc, quote, type="request", action=action, owner="Priya Shah", owner_email="priya@northwind.io"
    )
    (cid,) = store.record_extraction(
        run, doc_id, "k", [item.model_copy(update={"due": None, "due_text": None})]
    )
    return cid


def _ask(text: str = "Hi Priya, could you confirm the SSO setup works with Okta? Thanks") -> SourceDocument:
    return _doc("<ask@acme.com>", text, participants=[DANA], thread_id="okta")


def _reply(text: str, when: datetime, message_id: str = "<re@northwind.io>") -> SourceDocument:
    return _doc(message_id, text, participants=[PRIYA], thread_id="okta", occurred_at=when)


def test_an_answered_request_is_answered_with_the_answer_in_its_history(store: Store) -> None:  # noqa: F811
    cid = _request(store, _ask(), "could you confirm the SSO setup works with Okta?", OKTA.action)
    store.add_document(
        _reply("Hi Dana,\nYes, Okta works for SSO out of the box.", datetime(2026, 3, 11, tzinfo=EST))
    )
    assert store.detect_answers(OURS) == 1
    view = store.get_commitment(cid, as_of=AS_OF)
    assert view.status is CommitmentStatus.ANSWERED and view.age_hours is None
    (entry,) = [h for h in view.history if h.actor == "answered"]
    assert (entry.field, entry.old, entry.new) == ("status", "open", "answered")
    assert entry.note == "<re@northwind.io>: Yes, Okta works for SSO out of the box."
    assert store.list_commitments(CommitmentFilter(as_of=AS_OF)).items == []
    answered = store.list_commitments(CommitmentFilter(status=CommitmentStatus.ANSWERED, as_of=AS_OF)).items
    assert [c.id for c in answered] == [cid]
    assert [c.id for c in store.list_commitments(CommitmentFilter(status=None, as_of=AS_OF)).items] == [cid]
    # reopened by a person: the next run leaves it open
    store.set_status(cid, CommitmentStatus.OPEN, actor="cli")
    assert store.detect_answers(OURS) == 0
    assert store.get_commitment(cid).status is CommitmentStatus.OPEN


def test_a_later_message_of_ours_on_another_topic_leaves_the_request_open(store: Store) -> None:  # noqa: F811
    cid = _request(store, _ask(), "could you confirm the SSO setup works with Okta?", OKTA.action)
    store.add_document(
        _reply("Hi Dana, attached is the signed order form.", datetime(2026, 3, 11, tzinfo=EST))
    )
    store.add_document(
        _doc(
            "<elsewhere@northwind.io>",
            "Yes, Okta works for SSO.",
            participants=[PRIYA],
            thread_id="another-thread",
            occurred_at=datetime(2026, 3, 11, tzinfo=EST),
        )
    )
    assert store.detect_answers(OURS) == 0
    assert store.get_commitment(cid).status is CommitmentStatus.OPEN


def test_a_promise_that_takes_the_request_on_stays_the_open_item(store: Store) -> None:  # noqa: F811
    ask = _doc("<baa@acme.com>", "Hi Marco, could you send us your BAA template?", participants=[DANA])
    rid = _request(store, ask, "could you send us your BAA template?", "Send us your BAA template")
    text = "Hi Dana, I'll get our BAA template over to you by Wednesday."
    reply = _doc(
        "<baa-re@northwind.io>", text, participants=[MARCO], occurred_at=datetime(2026, 3, 11, tzinfo=EST)
    )
    doc_id, _ = store.add_document(reply)
    run = store.start_run(extractor="offline", model="m", prompt_version="v1")
    (pid,) = store.record_extraction(
        run,
        doc_id,
        "k",
        [
            make_item(
                reply,
                "I'll get our BAA template over to you by Wednesday",
                action="Get our BAA template over",
            )
        ],
    )
    assert store.detect_answers(OURS) == 1
    request = store.get_commitment(rid, as_of=AS_OF)
    assert request.status is CommitmentStatus.ANSWERED
    said = "I'll get our BAA template over to you by Wednesday"
    assert request.history[-1].note == f"taken on by commitment {pid}: <baa-re@northwind.io>: {said}"
    assert store.get_commitment(pid, as_of=AS_OF).status is CommitmentStatus.OPEN


def test_answered_counts_as_done_for_its_deal(store: Store) -> None:  # noqa: F811
    store.upsert_crm(demo_crm())
    cid = _request(store, _ask(), "could you confirm the SSO setup works with Okta?", OKTA.action)
    store.set_deal(cid, "D-100", actor="linker")
    store.add_document(_reply("Yes, Okta works for SSO.", datetime(2026, 3, 11, tzinfo=EST)))
    store.detect_answers(OURS)
    (deal,) = [d for d in store.list_deals(AS_OF) if d.crm_id == "D-100"]
    assert (deal.done_count, deal.open_count, deal.total_count) == (1, 0, 1)


def test_an_unanswered_request_shows_its_age_and_ranks_past_its_target(store_url: str) -> None:  # noqa: F811
    with Store(store_url, response_hours=TieredValue(24.0, (("1", 4.0),))) as s:
        s.upsert_crm(demo_crm())
        old = _request(s, _ask(), "could you confirm the SSO setup works with Okta?", OKTA.action)
        recent = _request(
            s,
            _doc(
                "<new@acme.com>",
                "Could you confirm the SCIM push works?",
                participants=[DANA],
                thread_id="scim",
                occurred_at=datetime(2026, 3, 16, 20, 0, tzinfo=UTC),
            ),
            "Could you confirm the SCIM push works?",
            "Confirm the SCIM push works",
        )
        late, fresh = (s.get_commitment(i, as_of=AS_OF) for i in (old, recent))
        # asked 2026-03-10 09:30 EST = 14:30 UTC; counted to the end of 2026-03-16 (UTC)
        assert late.age_hours == pytest.approx(153.5, abs=0.1) and late.response_hours == 24
        assert late.overdue_response and late.response_due == late.occurred_at + timedelta(hours=24)
        assert "unanswered 154h (target 24h)" in late.priority_reasons
        assert fresh.age_hours == pytest.approx(4.0, abs=0.1) and not fresh.overdue_response
        assert late.priority > fresh.priority
        # a tier-1 account's own target
        s.set_deal(recent, "D-100", actor="linker")
        tier1 = s.get_commitment(recent, as_of=AS_OF)
        assert tier1.response_hours == 4 and tier1.overdue_response is False
        commitment = s.list_commitments(CommitmentFilter(type="commitment", as_of=AS_OF)).items
        assert all(c.age_hours is None for c in commitment)


def test_lateness_against_the_target_scores_like_an_overdue_item() -> None:
    def points(age: float) -> float:
        return score(Stake("request", None, True, age_hours=age, response_hours=24), AS_OF)[0]

    assert points(30) > points(20) == points(1)
    assert points(24 + 20 * 24) == points(24 + 30 * 24)  # capped, as overdue days are
    assert age_hours(datetime(2026, 3, 16, 6, 0, tzinfo=UTC), AS_OF) == 18.0
    now = datetime(2026, 3, 16, 7, 0, tzinfo=UTC)
    assert age_hours(datetime(2026, 3, 16, 6, 0, tzinfo=UTC), date(2026, 3, 16), now) == 1.0


# ------------------------------------------------------------------------------------------ CLI and API


def test_the_cli_shows_age_against_the_target_and_lists_answered(tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    with Store(f"sqlite:///{db}") as s:
        answered = _request(s, _ask(), "could you confirm the SSO setup works with Okta?", OKTA.action)
        s.add_document(_reply("Yes, Okta works for SSO.", datetime(2026, 3, 11, tzinfo=EST)))
        s.detect_answers(OURS)
        _request(
            s,
            _doc(
                "<ref@acme.com>",
                "Could you share a customer reference?",
                participants=[DANA],
                thread_id="ref",
            ),
            "Could you share a customer reference?",
            "Share a customer reference",
        )
    env = {"FOLLOWTHROUGH_RESPONSE_HOURS": "12", "COLUMNS": "120"}
    listed = followthrough("--as-of", "2026-03-16", "commitments", "list", db=db, env=env)
    assert listed.returncode == 0, listed.stderr
    assert "age 154h / target 12h" in listed.stdout
    shown = followthrough(
        "--as-of", "2026-03-16", "commitments", "list", "--status", "answered", "--json", db=db
    )
    assert [c["id"] for c in json.loads(shown.stdout)] == [answered]
    reopened = followthrough("commitments", "reopen", str(answered), db=db)
    assert reopened.returncode == 0 and "now open" in reopened.stdout


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_api_view_has_the_age_and_reopening_an_answered_request_sticks(
    backend: str, tmp_path: Path
) -> None:
    with database(backend, "answered", tmp_path) as url:
        with Store(url) as s:
            open_id = _request(
                s,
                _doc(
                    "<ref@acme.com>",
                    "Could you share a customer reference?",
                    participants=[DANA],
                    thread_id="ref",
                ),
                "Could you share a customer reference?",
                "Share a customer reference",
            )
            answered = _request(s, _ask(), "could you confirm the SSO setup works with Okta?", OKTA.action)
            s.add_document(_reply("Yes, Okta works for SSO.", datetime(2026, 3, 11, tzinfo=EST)))
            s.detect_answers(OURS)
            _, token = ApiTokens(s.engine).create("tests")
        settings = Settings(database_url=url, as_of=AS_OF, company_domains=OURS)
        app = create_app(url, as_of=AS_OF, settings=settings, extractor=FakeExtractor())
        with (
            LiveServer(app) as server,
            httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c,
        ):
            view = c.get(f"/v1/commitments/{open_id}").json()
            assert view["age_hours"] == pytest.approx(153.5, abs=0.1) and view["response_hours"] == 24
            assert view["overdue_response"] is True and view["response_due"].startswith("2026-03-11T14:30")
            listed = c.get("/v1/commitments", params={"status": "answered"}).json()["items"]
            assert [i["id"] for i in listed] == [answered]
            r = c.patch(f"/v1/commitments/{answered}", json={"status": "open"})
            assert r.status_code == 200 and r.json()["status"] == "open"
        with Store(url) as s:
            assert s.detect_answers(OURS) == 0
            assert s.get_commitment(answered).status is CommitmentStatus.OPEN
