"""Re-reading a changed document (issue 12): the same message or notes read again with other content.

The new extraction is reconciled with what the document held before: the same promise restated
updates its commitment in place (same id, history kept, evidence at its new offsets, corrected
fields kept); a promise the document no longer makes is retired (dismissed, never open), or, when
a person touched it, kept with its evidence moved or sent to review. Every open item's evidence is
the text at its offsets. Through the store (SQLite and PostgreSQL) and the CLI.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from followthrough.types import CommitmentStatus, ExtractedItem, ItemFlag, RunStatus, SourceDocument
from store import CommitmentFilter, CommitmentView, Store
from tests.clirunner import followthrough
from tests.store_fixtures import make_doc, make_item, store, store_url  # noqa: F401

AS_OF = date(2026, 3, 10)
WED, THU = date(2026, 3, 11), date(2026, 3, 12)
NOTES = (
    "Acme sync, March 10. Marco: I'll hand the rollout plan over to Marcus by Wednesday. "
    "Dana asked about SSO. Marco: I'll send the SOC 2 report by Friday."
)
HANDOVER = "I'll hand the rollout plan over to Marcus by Wednesday"
SOC2 = "I'll send the SOC 2 report by Friday"


def _record(
    store: Store,  # noqa: F811
    doc: SourceDocument,
    items: list[ExtractedItem],
    key: str = "offline:m:1",
) -> list[int]:
    doc_id, _ = store.add_document(doc)
    run = store.start_run(extractor="offline", model="m", prompt_version=key)
    ids = store.record_extraction(run, doc_id, key, items)
    store.finish_run(run, RunStatus.OK)
    return ids


def _all(store: Store) -> list[CommitmentView]:  # noqa: F811
    return store.list_commitments(CommitmentFilter(status=None, as_of=AS_OF, limit=500)).items


def _open(store: Store) -> list[CommitmentView]:  # noqa: F811
    return store.list_commitments(CommitmentFilter(as_of=AS_OF, limit=500)).items


def assert_grounded(store: Store) -> None:  # noqa: F811
    """Evidence with offsets is the text at those offsets, for every item; an open item has such evidence."""
    texts: dict[int, str] = {}
    for view in _all(store):
        for e in view.quotes:
            if e.char_start is None:
                assert view.status != CommitmentStatus.OPEN, (view.id, e.quote)
                continue
            text = texts.setdefault(e.document_id, store.get_document(e.document_id).text)
            assert text[e.char_start : e.char_end] == e.quote, (view.id, view.status, e.quote)
        if view.status == CommitmentStatus.OPEN:
            assert view.quotes, view.id


def _extractor_notes(view: CommitmentView) -> list[tuple[str, str | None]]:
    return [(h.field, h.note) for h in view.history if h.actor == "extractor"]


def test_a_changed_due_date_updates_the_item_in_place(store: Store) -> None:  # noqa: F811
    doc = make_doc("notes.md#sync", NOTES, source="meeting", thread_id=None)
    first = _record(store, doc, [make_item(doc, HANDOVER, due=WED), make_item(doc, SOC2)])
    edited = make_doc("notes.md#sync", NOTES.replace("by Wednesday", "by Thursday"), source="meeting")
    assert store.add_document(edited)[1]
    moved = HANDOVER.replace("Wednesday", "Thursday")
    assert _record(store, edited, [make_item(edited, moved, due=THU), make_item(edited, SOC2)]) == first
    assert [v.id for v in _open(store)] == first  # one item per promise, nothing left behind
    view = store.get_commitment(first[0], as_of=AS_OF)
    assert view.due == THU and [e.quote for e in view.quotes] == [moved]
    assert ("due", str(WED), str(THU)) in [(h.field, h.old, h.new) for h in view.history]
    assert ("evidence", "the source changed") in _extractor_notes(view)
    assert_grounded(store)


def test_a_reworded_promise_keeps_its_correction_and_is_listed_once(store: Store) -> None:  # noqa: F811
    doc = make_doc(text="Thanks Dana. I'll send the revised pricing to you by Friday. Talk soon.")
    (cid,) = _record(store, doc, [make_item(doc, "I'll send the revised pricing to you by Friday")])
    store.correct(cid, actor="cli:alice", due=date(2026, 3, 20))
    reworded = "I will get the updated pricing over to you by Friday"
    edited = make_doc(text=f"Thanks Dana. {reworded}. Talk soon.")
    assert store.add_document(edited)[1]
    assert _record(store, edited, [make_item(edited, reworded, due=date(2026, 3, 13))]) == [cid]
    (view,) = _open(store)
    assert view.id == cid and view.due == date(2026, 3, 20)  # the person's date, not the extractor's
    assert view.action == reworded and [e.quote for e in view.quotes] == [reworded]
    assert_grounded(store)


def test_a_promise_the_source_no_longer_makes_is_retired_with_a_history_entry(
    store: Store,  # noqa: F811
) -> None:
    doc = make_doc("notes.md#sync", NOTES, source="meeting", thread_id=None)
    handover, soc2 = _record(store, doc, [make_item(doc, HANDOVER, due=WED), make_item(doc, SOC2)])
    edited = make_doc("notes.md#sync", NOTES.replace(f" Marco: {SOC2}.", ""), source="meeting")
    assert store.add_document(edited)[1]
    assert _record(store, edited, [make_item(edited, HANDOVER, due=WED)]) == [handover]
    assert [v.id for v in _open(store)] == [handover]
    gone = store.get_commitment(soc2, as_of=AS_OF)
    assert gone.status == CommitmentStatus.DISMISSED
    assert ItemFlag.STALE in gone.flags and ItemFlag.UNGROUNDED in gone.flags
    assert [(e.quote, e.char_start) for e in gone.quotes] == [(SOC2, None)]  # kept, without offsets
    assert ("status", "no longer in the source after it changed") in _extractor_notes(gone)
    # the sentence comes back: so does the item, with the status it had
    assert _record(store, doc, [make_item(doc, HANDOVER, due=WED), make_item(doc, SOC2)]) == [handover, soc2]
    back = store.get_commitment(soc2, as_of=AS_OF)
    assert back.status == CommitmentStatus.OPEN and ItemFlag.STALE not in back.flags
    assert_grounded(store)


def test_an_item_a_person_touched_is_kept_moved_or_sent_to_review(store: Store) -> None:  # noqa: F811
    doc = make_doc("notes.md#sync", NOTES, source="meeting", thread_id=None)
    handover, soc2 = _record(store, doc, [make_item(doc, HANDOVER, due=WED), make_item(doc, SOC2)])
    store.correct(handover, actor="cli:alice", due=date(2026, 3, 18))
    store.correct(soc2, actor="cli:alice", owner="dana@acme.com")
    # the hand-over sentence moves (still said, but the extractor misses it); the SOC 2 one is gone
    text = "Dana asked about SSO. Marco: " + HANDOVER + ". Thanks all."
    edited = make_doc("notes.md#sync", text, source="meeting")
    assert store.add_document(edited)[1]
    assert _record(store, edited, []) == []
    kept = store.get_commitment(handover, as_of=AS_OF)
    assert kept.status == CommitmentStatus.OPEN and ItemFlag.STALE in kept.flags
    (ev,) = kept.quotes
    assert (ev.char_start, ev.quote) == (text.index(HANDOVER), HANDOVER)
    review = store.get_commitment(soc2, as_of=AS_OF)
    assert review.status == CommitmentStatus.REVIEW and ItemFlag.UNGROUNDED in review.flags
    assert review.owner == "dana@acme.com"
    assert [v.id for v in _open(store)] == [handover]
    assert_grounded(store)
    # the SOC 2 promise is said again, in other words: it is back from review, still Dana's
    again = text + " Marco: I will send over the SOC 2 report by Friday."
    edited = make_doc("notes.md#sync", again, source="meeting")
    store.add_document(edited)
    reworded = make_item(edited, "I will send over the SOC 2 report by Friday")
    assert soc2 in _record(store, edited, [reworded])
    back = store.get_commitment(soc2, as_of=AS_OF)
    assert back.status == CommitmentStatus.OPEN and back.owner == "dana@acme.com"
    assert ("status", "found again in the source") in _extractor_notes(back)
    assert_grounded(store)


def test_items_of_another_extractor_are_reconciled_when_the_text_changed(store: Store) -> None:  # noqa: F811
    doc = make_doc("notes.md#sync", NOTES, source="meeting", thread_id=None)
    (cid,) = _record(store, doc, [make_item(doc, HANDOVER, due=WED)], key="llm:gpt:v1")
    edited = make_doc("notes.md#sync", NOTES.replace("by Wednesday", "by Thursday"), source="meeting")
    store.add_document(edited)
    moved = HANDOVER.replace("Wednesday", "Thursday")
    assert _record(store, edited, [make_item(edited, moved, due=THU)], key="offline:m:2") == [cid]
    assert [v.id for v in _open(store)] == [cid]
    assert_grounded(store)


def test_an_unchanged_document_under_another_key_still_keeps_both_extractions(
    store: Store,  # noqa: F811
) -> None:
    doc = make_doc("notes.md#sync", NOTES, source="meeting", thread_id=None)
    (first,) = _record(store, doc, [make_item(doc, HANDOVER, due=WED)], key="llm:gpt:v1")
    (second,) = _record(store, doc, [make_item(doc, SOC2)], key="offline:m:2")
    assert {v.id for v in _open(store)} == {first, second}  # nothing stale: nothing retired
    assert_grounded(store)


def test_a_merged_source_that_changed_keeps_the_merge_and_its_offsets(store: Store) -> None:  # noqa: F811
    meeting = make_doc("call.md#call", NOTES, source="meeting", thread_id=None)
    said = "I'll get the rollout plan over to Marcus by Wednesday"
    mail = make_doc("<f@northwind.io>", f"Hi Dana, as discussed {said}. Best, Marco", thread_id="t-f")
    (a,) = _record(store, meeting, [make_item(meeting, HANDOVER, action="Hand the rollout plan to Marcus")])
    (b,) = _record(store, mail, [make_item(mail, said, action="Get the rollout plan over to Marcus")])
    assert store.merge_duplicates() == 1
    (kept,) = [v.id for v in _open(store)]
    changed_text = f"Hi Dana, sorry for the delay: as discussed {said}. Best, Marco"
    edited = make_doc("<f@northwind.io>", changed_text, thread_id="t-f")
    assert store.add_document(edited)[1]
    _record(store, edited, [make_item(edited, said, action="Get the rollout plan over to Marcus")])
    assert_grounded(store)
    store.merge_duplicates()
    view = store.get_commitment(kept, as_of=AS_OF)
    assert [v.id for v in _open(store)] == [kept] and view.sources == 2
    gone = store.get_commitment(({a, b} - {kept}).pop(), as_of=AS_OF)
    assert gone.status == CommitmentStatus.MERGED
    assert_grounded(store)


# ------------------------------------------------------------------------ CLI

EML = """\
From: Marco Rossi <marco@northwind.io>
To: Dana Lee <dana@acme.com>
Subject: Rollout
Date: Tue, 10 Mar 2026 09:30:00 -0500
Message-ID: <rollout-1@northwind.io>

Hi Dana,

{body}

Best,
Marco
"""


def _cli(db: Path, *args: Any) -> Any:
    return followthrough("--as-of", "2026-03-10", "--company-domains", "northwind.io", *args, db=db)


def _items(db: Path) -> list[dict[str, Any]]:
    listed = _cli(db, "commitments", "list", "--status", "all", "--json")
    assert listed.returncode == 0, listed.stderr
    return [i for i in json.loads(listed.stdout) if i["type"] == "commitment"]


def test_cli_a_re_exported_message_with_another_due_date_is_one_item(tmp_path: Path) -> None:
    db, mail = tmp_path / "t.db", tmp_path / "rollout.eml"
    mail.write_text(EML.format(body="I'll hand the rollout plan over to Marcus by Wednesday."))
    assert _cli(db, "run", mail, "--extractor", "offline").returncode == 0
    (before,) = _items(db)
    mail.write_text(EML.format(body="I'll hand the rollout plan over to Marcus by Thursday."))
    assert _cli(db, "run", mail, "--extractor", "offline").returncode == 0
    (after,) = _items(db)
    assert (after["id"], after["status"], after["due"]) == (before["id"], "open", "2026-03-12")


def test_cli_a_corrected_item_reworded_in_the_source_is_listed_once(tmp_path: Path) -> None:
    db, mail = tmp_path / "t.db", tmp_path / "rollout.eml"
    mail.write_text(EML.format(body="I'll hand the rollout plan over to Marcus by Wednesday."))
    assert _cli(db, "run", mail, "--extractor", "offline").returncode == 0
    (item,) = _items(db)
    assert _cli(db, "commitments", "edit", str(item["id"]), "--due", "2026-03-20").returncode == 0
    mail.write_text(EML.format(body="I will get the rollout plan to Marcus by Thursday."))
    assert _cli(db, "run", mail, "--extractor", "offline").returncode == 0
    (after,) = [i for i in _items(db) if i["status"] == "open"]
    assert (after["id"], after["due"]) == (item["id"], "2026-03-20")
    shown = json.loads(_cli(db, "commitments", "show", str(item["id"]), "--json").stdout)
    (ev,) = shown["quotes"]
    assert "I will get the rollout plan to Marcus by Thursday" in ev["quote"]
