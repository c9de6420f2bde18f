"""Issue 12 fixes: one promise restated in a meeting's action items is one item; the merge pass is stable
after a split and a merged item still counts its source; a request for an assessment is answered by one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest

from followthrough.types import CommitmentStatus, Participant, SourceDocument
from store import CommitmentFilter, Store
from store.answer_rules import Promise, Request, asks_for_assessment, find_answer
from store.fulfilment_rules import LaterText, sentences
from store.merge_rules import Said, action_item_line, judge
from tests.api_support import BACKENDS, database
from tests.clirunner import followthrough
from tests.store_fixtures import EST, make_doc, make_item, store, store_url  # noqa: F401

AS_OF = date(2026, 3, 16)
OURS = {"northwind.io"}
ALICE = Participant(name="Alice Park", email="alice@northwind.io", role="sender", internal=True)
BOB = Participant(name="Bob Chen", email="bob@northwind.io", role="attendee", internal=True)
FRAN = Participant(name="Fran Diaz", email="fran@acme.com", role="sender", internal=False)
GIL = Participant(name="Gil Moss", email="gil@acme.com", role="sender", internal=False)

NOTES = """# Acme migration sync
Date: 2026-03-09 10:00 -05:00

## Discussion
Fran: We need to see how the cutover works before we commit to dates.
Alice: I'll send you the data migration plan by Friday.
Bob: I'll get you the list of source tables by Thursday.
Alice: I'll also book a call with your DBA team.

## Action items
- Alice to send the data migration plan by Friday
- Bob to share the list of source tables
- Alice to send the cutover checklist
- Bob to send the data migration plan
"""


# ------------------------------------------------------------------------------------ the rules: merge


@pytest.mark.parametrize(
    ("text", "line", "listed"),
    [
        (NOTES, "- Alice to send the data migration plan", True),
        ("Next steps:\n1. Marco sends the SOW\n2. Dana books the call\n", "2. Dana books", True),
        ("**Action Items**\n\n- [ ] Priya: share the benchmark results\n", "- [ ] Priya", True),
        ("## Notes\n- Priya will send the benchmark results\n", "- Priya will", False),
        (NOTES, "Alice: I'll send you the data migration plan", False),
        ("Action items were discussed.\n- Marco sends the SOW\n", "- Marco", False),
    ],
)
def test_a_line_of_the_action_item_list_is_told_from_discussion(text: str, line: str, listed: bool) -> None:
    assert action_item_line(text, text.index(line) + 2) is listed


def _line(action: str, *, listed: bool, **kw: object) -> Said:
    base = Said(
        id=1 if not listed else 2,
        type="commitment",
        owner="Alice Park",
        owner_email="alice@northwind.io",
        counterparty=None,
        counterparty_email=None,
        account=None,
        action=action,
        due=date(2026, 3, 13),
        said_on=date(2026, 3, 9),
        document=1,
        thread="doc:1",
        listed=listed,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def test_a_discussion_line_restated_in_the_action_items_is_one_promise() -> None:
    said = _line("Send you the data migration plan", listed=False, counterparty="Fran Diaz")
    assert judge(said, _line("Send the data migration plan", listed=True)).same
    assert judge(
        _line("Get you the list of source tables", listed=False),
        _line("Share the list of source tables", listed=True, due=None),
    ).same


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"action": "Send the cutover checklist"}, "different action"),  # same owner, another deliverable
        ({"owner": "Bob Chen", "owner_email": "bob@northwind.io"}, "different owner"),  # two people
        ({"listed": False}, "same conversation"),  # two discussion lines are two promises
        ({"due": date(2026, 3, 20)}, "incompatible due dates"),
        ({"type": "request"}, "different kind"),
        ({"account": "2", "id": 3}, "different counterparty"),
        # only added words: the same promise across two documents, not at the strict bar within one
        ({"action": "Send the data migration plan with the cutover checklist"}, "different action"),
    ],
)
def test_near_misses_in_one_document_stay_two(kw: dict[str, object], reason: str) -> None:
    said = _line("Send you the data migration plan", listed=False, account="1")
    verdict = judge(said, replace(_line("Send the data migration plan", listed=True), **kw))  # type: ignore[arg-type]
    assert not verdict.same and verdict.reason == reason


def test_added_words_are_enough_across_documents_but_not_within_one() -> None:
    a = _line("Send the data migration plan", listed=False, account="1")
    b = _line("Send the data migration plan with the cutover checklist", listed=True, account="1")
    elsewhere = replace(b, document=2, thread="email:t", listed=False, said_on=date(2026, 3, 10))
    assert not judge(a, b).same and judge(a, elsewhere).same


# ------------------------------------------------------------------------------------ the store: merge


def _meeting(text: str = NOTES, external_id: str = "acme-sync.md#call") -> SourceDocument:
    return make_doc(
        external_id,
        text,
        source="meeting",
        thread_id=None,
        occurred_at=datetime(2026, 3, 9, 10, 0, tzinfo=EST),
        participants=[ALICE, BOB, FRAN],
        title="Acme migration sync",
    )


def _record(store: Store, doc: SourceDocument, *items: tuple[str, str, str, date | None]) -> list[int]:  # noqa: F811
    """Record ``(quote, action, owner first name, due)`` items of ``doc``; their ids in order."""
    doc_id, _ = store.add_document(doc)
    run = store.start_run(extractor="offline", model="m", prompt_version="v1")
    people = {"Alice": ALICE, "Bob": BOB}
    extracted = [
        make_item(doc, quote, action=action, owner=people[who].name, owner_email=people[who].email, due=due)
        for quote, action, who, due in items
    ]
    return store.record_extraction(run, doc_id, "k", extracted)


FRIDAY, THURSDAY = date(2026, 3, 13), date(2026, 3, 12)


def test_one_promise_said_and_listed_in_the_same_notes_is_one_item(store: Store) -> None:  # noqa: F811
    plan, tables, call, listed_plan, listed_tables, checklist, bob_plan = _record(
        store,
        _meeting(),
        (
            "I'll send you the data migration plan by Friday.",
            "Send you the data migration plan",
            "Alice",
            FRIDAY,
        ),
        (
            "I'll get you the list of source tables by Thursday.",
            "Get you the list of source tables",
            "Bob",
            THURSDAY,
        ),
        ("I'll also book a call with your DBA team.", "Book a call with your DBA team", "Alice", None),
        ("Alice to send the data migration plan by Friday", "Send the data migration plan", "Alice", FRIDAY),
        ("Bob to share the list of source tables", "Share the list of source tables", "Bob", None),
        ("Alice to send the cutover checklist", "Send the cutover checklist", "Alice", None),
        ("Bob to send the data migration plan", "Send the data migration plan", "Bob", None),
    )
    assert store.merge_duplicates() == 2
    assert store.merge_duplicates() == 0
    # the survivor: the action-item line when both have a due date, else the one with a due date
    survivors = {plan: listed_plan, listed_plan: listed_plan, tables: tables, listed_tables: tables}
    for cid, kept in survivors.items():
        view = store.get_commitment(cid, as_of=AS_OF)
        assert view.merged_into == (None if cid == kept else kept)
        assert view.status == (CommitmentStatus.OPEN if cid == kept else CommitmentStatus.MERGED)
    for kept, quotes in (
        (
            listed_plan,
            {
                "I'll send you the data migration plan by Friday.",
                "Alice to send the data migration plan by Friday",
            },
        ),
        (
            tables,
            {"I'll get you the list of source tables by Thursday.", "Bob to share the list of source tables"},
        ),
    ):
        view = store.get_commitment(kept, as_of=AS_OF)
        assert {e.quote for e in view.quotes} == quotes and view.sources == 1
        for e in view.quotes:
            assert e.char_start is not None and NOTES[e.char_start : e.char_end] == e.quote
    # near-misses: Alice's other promises and Bob's promise of the same plan stay apart
    open_ids = {v.id for v in store.list_commitments(CommitmentFilter(as_of=AS_OF)).items}
    assert open_ids == {listed_plan, tables, call, checklist, bob_plan}


EMAIL = "Hi Dana, as discussed, I'll send over the updated pricing for the 3-year term."


def _email(external_id: str, text: str, day: int) -> SourceDocument:
    return make_doc(
        external_id,
        text,
        thread_id=f"thread-{external_id}",
        occurred_at=datetime(2026, 3, day, 9, 0, tzinfo=EST),
        participants=[ALICE, FRAN],
    )


def test_a_re_run_after_a_split_changes_nothing(store: Store) -> None:  # noqa: F811
    """Said in a meeting (no due date), then in two emails whose due dates are a week apart: the meeting
    matches both emails, the emails not each other. Split, the pass must not merge the third into one
    of the two it split."""
    meeting = _meeting("Alice: I'll send you the updated pricing for the 3-year term.", "pricing.md#call")
    (said,) = _record(
        store,
        meeting,
        (
            "I'll send you the updated pricing for the 3-year term.",
            "Send the updated pricing for the 3-year term",
            "Alice",
            None,
        ),
    )
    (first,) = _record(
        store,
        _email("<a@northwind.io>", EMAIL, 10),
        (EMAIL[21:], "Send over the updated pricing for the 3-year term", "Alice", FRIDAY),
    )
    (second,) = _record(
        store,
        _email("<b@northwind.io>", EMAIL, 11),
        (EMAIL[21:], "Send over the updated pricing for the 3-year term", "Alice", date(2026, 3, 20)),
    )
    assert store.merge_duplicates() == 1
    kept = next(
        c for c in (said, first, second) if store.get_commitment(c).merged_into is None and c != second
    )
    store.split_commitment(kept, actor="cli:test")
    before = {c: (v.status, v.merged_into) for c in (said, first, second) if (v := store.get_commitment(c))}
    assert store.merge_duplicates() == 0
    assert store.merge_duplicates() == 0
    after = {c: (v.status, v.merged_into) for c in (said, first, second) if (v := store.get_commitment(c))}
    assert after == before and all(m is None for _, m in after.values())


def test_a_merged_item_reports_where_it_went_and_counts_its_own_source(store: Store) -> None:  # noqa: F811
    said, listed = _record(
        store,
        _meeting(),
        (
            "I'll send you the data migration plan by Friday.",
            "Send you the data migration plan",
            "Alice",
            FRIDAY,
        ),
        ("Alice to send the data migration plan by Friday", "Send the data migration plan", "Alice", FRIDAY),
    )
    assert store.merge_duplicates() == 1
    everything = store.list_commitments(CommitmentFilter(status=None, as_of=AS_OF)).items
    by_id = {v.id: v for v in everything}
    for view in (by_id[said], store.get_commitment(said, as_of=AS_OF)):  # a page and a single view
        assert view.status == CommitmentStatus.MERGED and view.merged_into == listed
        assert view.sources == 1 and [e.quote for e in view.quotes] == [
            "I'll send you the data migration plan by Friday."
        ]
    assert len(by_id[listed].quotes) == 2


# ------------------------------------------------------------------------------------ the rules: answers

SCOPE = Request(
    action="Let us know your thoughts on the pilot scope document",
    quote="Hi Alice, here is our pilot scope document, let us know your thoughts.",
    owner="Alice Park",
    owner_email="alice@northwind.io",
    asker="fran@acme.com",
)
SOC2 = Request(
    action="Send us the SOC 2 report",
    quote="Could you send us the SOC 2 report?",
    owner="Alice Park",
    owner_email="alice@northwind.io",
    asker="fran@acme.com",
)


def _mail(text: str, sender: Participant = ALICE, message_id: str = "m2") -> LaterText:
    return LaterText(message_id, sentences(text), sender.name, sender.email)


@pytest.mark.parametrize(
    ("quote", "evaluation"),
    [
        (SCOPE.quote, True),
        ("What do you think of the revised timeline?", True),
        ("Can you confirm the kickoff date?", True),
        ("Does this work for you?", True),
        ("Please review the attached order form.", True),
        ("Any feedback on the draft?", True),
        (SOC2.quote, False),
        ("Could you share a customer reference?", False),
        ("When does the pilot start?", False),
    ],
)
def test_a_request_for_an_assessment_is_told_from_other_requests(quote: str, evaluation: bool) -> None:
    assert asks_for_assessment(quote, quote) is evaluation


@pytest.mark.parametrize(
    ("reply", "quote"),
    [
        ("Thanks Fran, got it. Looks good.", "Looks good."),
        ("Hi Fran,\nWorks for us.\nAlice", "Works for us."),
        ("Confirmed, thanks.", "Confirmed, thanks."),
        ("Approved on our side.", "Approved on our side."),
        ("Thanks Fran. That's fine by us.", "That's fine by us."),
        ("We're happy with it as written.", "We're happy with it as written."),
        ("No objections from our side.", "No objections from our side."),
    ],
)
def test_an_assessment_in_our_reply_answers_a_request_for_one(reply: str, quote: str) -> None:
    hit = find_answer(SCOPE, [_mail(reply)], [], OURS)
    assert hit is not None and hit.quote == quote and hit.commitment_id is None


def test_looks_good_does_not_answer_a_request_to_do_something() -> None:
    assert find_answer(SOC2, [_mail("Thanks Fran, got it. Looks good.")], [], OURS) is None


def test_will_review_is_a_promise_not_an_answer_unless_stored_as_ours() -> None:
    reply = _mail("Thanks, will review the pilot scope document tomorrow.")
    assert find_answer(SCOPE, [reply], [], OURS) is None
    taken = Promise(
        7, "m2", 8, "Review the pilot scope document", "will review the pilot scope document tomorrow"
    )
    hit = find_answer(SCOPE, [reply], [taken], OURS)
    assert hit is not None and hit.commitment_id == 7


def test_an_assessment_of_something_else_in_a_later_turn_does_not_answer() -> None:
    later = [
        _mail("Thanks, will review.", message_id="m2"),
        _mail("Also, here is our new logo for the portal.", GIL, "m3"),
        _mail("Looks good.", message_id="m4"),
    ]
    assert find_answer(SCOPE, later, [], OURS) is None
    # the customer's assessment is not ours
    assert find_answer(SCOPE, [_mail("Looks good.", GIL)], [], OURS) is None


def test_our_reply_may_span_turns_until_the_other_side_speaks() -> None:
    later = [
        _mail("Thanks Fran, got it.", message_id="m2"),
        _mail("Read it now: looks good to us.", message_id="m3"),
    ]
    hit = find_answer(SCOPE, later, [], OURS)
    assert hit is not None and hit.message_id == "m3"


# ------------------------------------------------------------------------------------ end to end

SCOPE_MBOX = """From fran@acme.com Tue Mar 10 09:00:00 2026
From: Fran Diaz <fran@acme.com>
To: Alice Park <alice@northwind.io>
Subject: Pilot scope
Date: Tue, 10 Mar 2026 09:00:00 -0500
Message-ID: <scope-1@acme.com>

Hi Alice, here is our pilot scope document, let us know your thoughts.

Fran

From alice@northwind.io Tue Mar 10 11:00:00 2026
From: Alice Park <alice@northwind.io>
To: Fran Diaz <fran@acme.com>
Subject: Re: Pilot scope
Date: Tue, 10 Mar 2026 11:00:00 -0500
Message-ID: <scope-2@northwind.io>
In-Reply-To: <scope-1@acme.com>
References: <scope-1@acme.com>

Thanks Fran, got it. Looks good.

Alice
"""
MEETING_FILE = NOTES.replace(
    "## Discussion",
    "Attendees: Alice Park <alice@northwind.io>, Bob Chen <bob@northwind.io>, "
    "Fran Diaz <fran@acme.com>\n\n## Discussion",
)
ENV = {"FOLLOWTHROUGH_COMPANY_DOMAINS": "northwind.io"}


@pytest.fixture(params=BACKENDS)
def workspace(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    (tmp_path / "in" / "meetings").mkdir(parents=True)
    (tmp_path / "in" / "email").mkdir()
    (tmp_path / "in" / "meetings" / "2026-03-09-acme-migration-sync.md").write_text(MEETING_FILE)
    (tmp_path / "in" / "email" / "scope.mbox").write_text(SCOPE_MBOX)
    with database(request.param, "test_issue12_fixes_merge_answer", tmp_path) as url:
        yield tmp_path / "in", url


def _items(url: str) -> list[dict[str, object]]:
    out = followthrough(
        "--as-of", "2026-03-11", "commitments", "list", "--status", "all", "--json", db=url, env=ENV
    )
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    items: list[dict[str, object]] = body["items"] if isinstance(body, dict) else body
    return items


def test_run_answers_the_scope_request_and_folds_each_restated_promise(workspace: tuple[Path, str]) -> None:
    inputs, url = workspace
    run = followthrough("--as-of", "2026-03-11", "run", inputs, db=url, env=ENV)
    assert run.returncode == 0, run.stderr
    items = _items(url)
    (scope,) = [i for i in items if "pilot scope" in str(i["action"])]
    assert scope["status"] == "answered"
    for deliverable in ("data migration plan", "source tables"):
        said = [
            i
            for i in items
            if deliverable in str(i["action"]) and str(i["owner_name"]).startswith(("Alice", "Bob"))
        ]
        live = [i for i in said if i["status"] == "open"]
        gone = [i for i in said if i["status"] == "merged"]
        assert len(live) >= 1 and all(g["merged_into"] in {i["id"] for i in live} for g in gone)
        assert all(g["sources"] == 1 for g in gone)
    (plan,) = [
        i
        for i in items
        if "data migration plan" in str(i["action"])
        and i["status"] == "open"
        and str(i["owner_name"]).startswith("Alice")
    ]
    assert len(plan["quotes"]) == 2  # type: ignore[arg-type]
    # split, then re-run on the unchanged input: nothing changes
    split = followthrough("commitments", "split", str(plan["id"]), db=url, env=ENV)
    assert split.returncode == 0, split.stderr
    state = [(i["id"], i["status"], i["merged_into"]) for i in _items(url)]
    again = followthrough("--as-of", "2026-03-11", "run", inputs, db=url, env=ENV)
    assert again.returncode == 0, again.stderr
    assert [(i["id"], i["status"], i["merged_into"]) for i in _items(url)] == state
