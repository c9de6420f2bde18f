"""One promise, many sources: the same commitment said in a meeting and again in the follow-up email is one
commitment with evidence from each; ``commitments split`` undoes it for good; near-misses stay apart."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import httpx
import pytest

from benchmarks import merge_pairs
from followthrough.api import create_app
from followthrough.config import Settings
from followthrough.types import CommitmentStatus, Participant, SourceDocument
from store import CommitmentFilter, Store
from store.api_tokens import ApiTokens
from store.merge_rules import Said, judge
from tests.api_support import BACKENDS, LiveServer, database
from tests.clirunner import followthrough
from tests.store_fixtures import EST, make_doc, make_item, store, store_url  # noqa: F401

AS_OF = date(2026, 3, 16)
MARCO = Participant(name="Marco Rossi", email="marco@northwind.io", role="sender", internal=True)
DANA = Participant(name="Dana Lee", email="dana@acme.com", role="recipient", internal=False)
SPEAKERS = [
    Participant(name="Marco Rossi", email="marco@northwind.io", role="attendee", internal=True),
    Participant(name="Dana Lee", email="dana@acme.com", role="attendee", internal=False),
]
MEETING_TEXT = (
    "Dana: Finance wants numbers on a three-year term.\n"
    "Marco: I'll send you the revised pricing for the three-year term by Friday.\n"
    "Dana: We also need the SOC 2 report."
)
EMAIL_TEXT = (
    "Hi Dana, thanks for your time yesterday. As discussed, I'll send over the updated pricing "
    "for the 3-year term by Friday. Best, Marco"
)


def _meeting(text: str = MEETING_TEXT, day: int = 9) -> SourceDocument:
    return make_doc(
        "acme-call-2026-03-09.md#call",
        text,
        source="meeting",
        thread_id=None,
        occurred_at=datetime(2026, 3, day, 10, 0, tzinfo=EST),
        participants=SPEAKERS,
        title="Acme pricing call",
    )


def _email(
    text: str = EMAIL_TEXT, *, external_id: str = "<follow-up@northwind.io>", day: int = 10
) -> SourceDocument:
    return make_doc(
        external_id,
        text,
        thread_id=f"thread-{external_id}",
        occurred_at=datetime(2026, 3, day, 9, 0, tzinfo=EST),
        participants=[MARCO, DANA],
    )


def _record(store: Store, doc: SourceDocument, quote: str, action: str, **kw: object) -> int:  # noqa: F811
    doc_id, _ = store.add_document(doc)
    run = store.start_run(extractor="offline", model="m", prompt_version="v1")
    item = make_item(doc, quote, action=action, **kw)  # type: ignore[arg-type]
    (cid,) = store.record_extraction(run, doc_id, "k", [item])
    return cid


def _pair(store: Store) -> tuple[int, int]:  # noqa: F811
    said = _record(
        store,
        _meeting(),
        "I'll send you the revised pricing for the three-year term by Friday.",
        "Send you the revised pricing for the three-year term",
    )
    again = _record(
        store,
        _email(),
        "I'll send over the updated pricing for the 3-year term by Friday.",
        "Send over the updated pricing for the 3-year term",
    )
    return said, again


def _open_ids(store: Store) -> list[int]:  # noqa: F811
    return sorted(v.id for v in store.list_commitments(CommitmentFilter(as_of=AS_OF)).items)


# ---------------------------------------------------------------- the rules


def _said(action: str, **kw: object) -> Said:
    base = Said(
        id=1,
        type="commitment",
        owner="Marco Rossi",
        owner_email="marco@northwind.io",
        counterparty="Dana",
        counterparty_email=None,
        account="1",
        action=action,
        due=date(2026, 3, 13),
        said_on=date(2026, 3, 9),
        document=1,
        thread="doc:1",
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def _other(action: str, **kw: object) -> Said:
    fields: dict[str, object] = {
        "id": 2,
        "document": 2,
        "thread": "email:t2",
        "said_on": date(2026, 3, 10),
        "counterparty": "Dana Lee",
        "counterparty_email": "dana@acme.com",
    }
    fields.update(kw)
    return _said(action, **fields)


def test_a_paraphrase_across_a_meeting_and_an_email_is_one_promise() -> None:
    a = _said("Send the revised pricing with the three-year term")
    b = _other("Send over updated pricing for the 3-year term", owner=None)  # owner by email only
    assert judge(a, b).same


@pytest.mark.parametrize(
    ("action", "kw", "reason"),
    [
        ("Send the revised contract", {}, "different action"),  # same frame, another deliverable
        ("Send the pricing for the three-year term", {"thread": "doc:1", "document": 1}, "same conversation"),
        (
            "Send the pricing for the three-year term",
            {"owner_email": "priya@northwind.io"},
            "different owner",
        ),
        ("Send the pricing for the three-year term", {"account": "2"}, "different counterparty"),
        ("Send the pricing for the three-year term", {"said_on": date(2026, 3, 24)}, "too far apart"),
        ("Send the pricing for the three-year term", {"due": date(2026, 3, 16)}, "incompatible due dates"),
        ("Send the pricing for the five-year term", {}, "different numbers"),
        ("Send the pricing for the three-year term", {"type": "request"}, "different kind"),
    ],
)
def test_near_misses_are_two_promises(action: str, kw: dict[str, object], reason: str) -> None:
    a = _said("Send the revised pricing for the three-year term")
    v = judge(a, _other(action, **kw))
    assert not v.same and v.reason == reason


def test_due_dates_a_couple_of_days_apart_or_one_missing_are_compatible() -> None:
    a = _said("Send the renewal proposal")
    assert judge(a, _other("Get the renewal proposal to you", due=date(2026, 3, 15))).same
    assert judge(a, _other("Get the renewal proposal to you", due=None)).same
    assert judge(a, _other("Get the renewal proposal to you", said_on=date(2026, 3, 23))).same  # 14 days


def test_the_benchmark_thresholds_are_the_cross_validated_ones_and_hold_up() -> None:
    pairs = merge_pairs.load(merge_pairs.ROOT / "merge_pairs.jsonl")
    assert len(pairs) >= 60 and sum(p.same for p in pairs) >= 30
    assert merge_pairs.main([]) == 0  # the module's constants are what the whole set chooses
    pooled = merge_pairs.Counts()
    for held_out in merge_pairs.folds(pairs, 5):
        pooled += merge_pairs.evaluate(held_out, *merge_pairs.choose([p for p in pairs if p not in held_out]))
    assert pooled.precision >= 0.95 and pooled.recall >= 0.85, pooled.line()


# ---------------------------------------------------------------- the store


def test_a_promise_repeated_in_the_follow_up_email_is_one_commitment_with_two_evidences(
    store: Store,  # noqa: F811
) -> None:
    said, again = _pair(store)
    assert _open_ids(store) == [said, again]
    assert store.merge_duplicates() == 1
    (kept,) = _open_ids(store)
    view = store.get_commitment(kept, as_of=AS_OF)
    assert view.sources == 2 and {e.source for e in view.quotes} == {"meeting", "email"}
    for e in view.quotes:  # grounded: each quote is at its offsets in its own document
        text = MEETING_TEXT if e.source == "meeting" else EMAIL_TEXT
        assert e.char_start is not None and text[e.char_start : e.char_end] == e.quote
    gone = store.get_commitment(({said, again} - {kept}).pop(), as_of=AS_OF)
    assert gone.status == CommitmentStatus.MERGED and gone.merged_into == kept
    assert gone.sources == 1 and [e.quote for e in gone.quotes] == [  # it still quotes where it was said
        e.quote for e in view.quotes if e.document_id == gone.document_id
    ]
    assert any(h.field == "merged" and h.new == str(gone.id) and h.actor == "merge" for h in view.history)
    assert any(h.field == "status" and h.new == "merged" for h in gone.history)
    assert store.merge_duplicates() == 0  # a second pass changes nothing


def test_split_restores_both_and_the_pair_is_never_merged_again(store: Store) -> None:  # noqa: F811
    said, again = _pair(store)
    store.merge_duplicates()
    (kept,) = _open_ids(store)
    ids = store.split_commitment(kept, actor="cli:test")
    assert ids[0] == kept and sorted(ids) == [said, again]
    for cid, source in ((said, "meeting"), (again, "email")):
        view = store.get_commitment(cid, as_of=AS_OF)
        assert view.status == CommitmentStatus.OPEN and view.merged_into is None
        assert [e.source for e in view.quotes] == [source] and view.sources == 1
    assert store.merge_duplicates() == 0
    assert _open_ids(store) == [said, again]


def test_near_misses_stay_two(store: Store) -> None:  # noqa: F811
    _record(
        store,
        _meeting(),
        "I'll send you the revised pricing for the three-year term by Friday.",
        "Send you the revised pricing for the three-year term",
    )
    contract = "I'll send over the updated contract for the 3-year term by Friday."
    _record(
        store, _email(EMAIL_TEXT.replace("the updated pricing", "the updated contract")), contract, contract
    )
    late = "I'll send over the updated pricing for the 3-year term by Friday."
    _record(store, _email(external_id="<late@northwind.io>", day=27), late, late, due=date(2026, 3, 27))
    assert store.merge_duplicates() == 0
    assert len(_open_ids(store)) == 3


def test_re_extracting_a_merged_source_keeps_the_merge(store: Store) -> None:  # noqa: F811
    said, again = _pair(store)
    store.merge_duplicates()
    (kept,) = _open_ids(store)
    gone = ({said, again} - {kept}).pop()
    doc = _email() if gone == again else _meeting()
    quote = next(e.quote for e in store.get_commitment(kept).quotes if e.source == doc.source)
    doc_id, _ = store.add_document(doc)
    run = store.start_run(extractor="offline", model="m", prompt_version="v1")
    store.record_extraction(run, doc_id, "k", [make_item(doc, quote, action=quote)])
    store.merge_duplicates()
    view = store.get_commitment(kept)
    assert view.sources == 2 and len(view.quotes) == 2
    assert store.get_commitment(gone).status == CommitmentStatus.MERGED


def test_a_person_reopening_a_merged_item_splits_it(store: Store) -> None:  # noqa: F811
    said, again = _pair(store)
    store.merge_duplicates()
    (kept,) = _open_ids(store)
    gone = ({said, again} - {kept}).pop()
    store.set_status(gone, CommitmentStatus.OPEN, actor="cli:test")
    assert store.merge_duplicates() == 0
    assert store.get_commitment(gone).merged_into is None and store.get_commitment(gone).sources == 1
    assert _open_ids(store) == [said, again]


# ---------------------------------------------------------------- the CLI and the API

NOTES = """# Acme pricing call
Date: 2026-03-09 10:00 -05:00
Attendees: Marco Rossi <marco@northwind.io>, Dana Lee <dana@acme.com>

Dana: Finance wants to see the numbers on a three-year term before we go further.
Marco: Understood. I'll send you the revised pricing for the three-year term by Friday.
Dana: Great. We also need the SOC 2 report for our security team.
Marco: I'll share the SOC 2 report as well.
"""
FOLLOW_UP = """From: Marco Rossi <marco@northwind.io>
To: Dana Lee <dana@acme.com>
Subject: Follow-up: pricing
Date: Tue, 10 Mar 2026 09:15:00 -0500
Message-ID: <follow-up-1@northwind.io>

Hi Dana,

Thanks again for your time yesterday.
As discussed, I'll send over the updated pricing for the 3-year term by Friday.
I'll also put together an onboarding checklist for your admins next week.

Best,
Marco
"""


@pytest.fixture(params=BACKENDS)
def workspace(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    (tmp_path / "in" / "meetings").mkdir(parents=True)
    (tmp_path / "in" / "email").mkdir()
    (tmp_path / "in" / "meetings" / "2026-03-09-acme-pricing-call.md").write_text(NOTES)
    (tmp_path / "in" / "email" / "follow-up.eml").write_text(FOLLOW_UP)
    with database(request.param, "test_issue12_merge", tmp_path) as url:
        yield tmp_path / "in", url


ENV = {"FOLLOWTHROUGH_COMPANY_DOMAINS": "northwind.io"}


def _run_counts(stdout: str) -> dict[str, object]:
    """The run's counters from ``run --json``."""
    counts: dict[str, object] = json.loads(stdout)["run"]
    return counts


def test_run_merges_the_meeting_promise_with_the_follow_up_email_and_split_undoes_it(
    workspace: tuple[Path, str],
) -> None:
    inputs, url = workspace
    run = followthrough("--as-of", "2026-03-11", "run", inputs, "--json", db=url, env=ENV)
    assert run.returncode == 0, run.stderr
    assert _run_counts(run.stdout)["merged"] == 1
    listed = followthrough("--as-of", "2026-03-11", "commitments", "list", "--json", db=url, env=ENV)
    items = json.loads(listed.stdout)
    items = items["items"] if isinstance(items, dict) else items
    (pricing,) = [i for i in items if "pricing" in i["action"]]
    assert pricing["sources"] == 2 and {e["source"] for e in pricing["quotes"]} == {"meeting", "email"}
    shown = followthrough("--as-of", "2026-03-11", "commitments", "show", str(pricing["id"]), db=url, env=ENV)
    assert "2 sources" in shown.stdout and "meeting" in shown.stdout and "email" in shown.stdout
    split = followthrough("commitments", "split", str(pricing["id"]), db=url, env=ENV)
    assert split.returncode == 0, split.stderr
    again = followthrough("--as-of", "2026-03-11", "run", inputs, "--json", db=url, env=ENV)
    assert _run_counts(again.stdout)["merged"] == 0
    listed = followthrough("--as-of", "2026-03-11", "commitments", "list", "--json", db=url, env=ENV)
    items = json.loads(listed.stdout)
    items = items["items"] if isinstance(items, dict) else items
    assert len([i for i in items if "pricing" in i["action"]]) == 2
    nothing = followthrough("commitments", "split", str(pricing["id"]), db=url, env=ENV)
    assert nothing.returncode == 1 and "nothing to split" in nothing.stderr


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_api_shows_the_sources_and_splits(backend: str, tmp_path: Path) -> None:
    with database(backend, "test_issue12_merge_api", tmp_path) as url:
        with Store(url) as st:
            said, again = _pair(st)
            st.merge_duplicates()
            (kept,) = _open_ids(st)
            _, token = ApiTokens(st.engine).create(f"issue12-{time.monotonic_ns()}")
        settings = Settings(database_url=url, as_of=AS_OF, company_domains={"northwind.io"})
        with LiveServer(create_app(url, as_of=AS_OF, settings=settings)) as server:
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=server.url, headers=headers, timeout=60) as c:
                body = c.get(f"/v1/commitments/{kept}").json()
                assert body["sources"] == 2 and len(body["quotes"]) == 2
                r = c.post(f"/v1/commitments/{kept}/split")
                assert r.status_code == 200, r.text
                assert sorted(i["id"] for i in r.json()["items"]) == [said, again]
                assert all(i["sources"] == 1 and i["status"] == "open" for i in r.json()["items"])
                assert c.post(f"/v1/commitments/{kept}/split").status_code == 409
                assert c.post("/v1/commitments/999999/split").status_code == 404
