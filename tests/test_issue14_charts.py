"""The dashboard's charts: trends rebuilt from the history in SQL (SQLite and PostgreSQL), drawn as SVG.

Hand-made stores: items recorded through the store, their history written with
the days a person would have acted on (the store stamps history with the clock;
these tests need the past).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from followthrough.types import CommitmentStatus, Participant, TieredValue
from followthrough.web.charts import PALETTE, owner_trend_svg, response_time_svg
from store import OwnerDay, ResponseSample, Store, owner_trend, response_times
from store.models import CommitmentHistoryRow, CommitmentRow
from tests.store_fixtures import make_doc, make_item, store, store_url  # noqa: F401

AS_OF = date(2026, 3, 10)
SVG = "{http://www.w3.org/2000/svg}"
ANA = [
    Participant(name="Ana Ruiz", email="ana@northwind.io", role="sender", internal=True),
    Participant(name="Dana Lee", email="dana@acme.com", role="recipient", internal=False),
]
DANA = [
    Participant(name="Dana Lee", email="dana@acme.com", role="sender", internal=False),
    Participant(name="Marco Rossi", email="marco@northwind.io", role="recipient", internal=True),
]


def _at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


def _record(db: Store, doc_id: str, text: str, quote: str, *, day: int, hour: int = 9, **item: object) -> int:
    participants = item.pop("participants", None)
    thread = item.pop("thread", doc_id)
    doc = make_doc(doc_id, text, occurred_at=_at(day, hour), participants=participants, thread_id=thread)  # type: ignore[arg-type]
    run = db.start_run(extractor="test", model="m", prompt_version="v1")
    stored, _ = db.add_document(doc)
    (cid,) = db.record_extraction(run, stored, "k", [make_item(doc, quote, **item)])  # type: ignore[arg-type]
    with Session(db.engine) as s, s.begin():  # stored when its message came, as a running deployment would
        h = CommitmentHistoryRow
        s.execute(update(h).where(h.commitment_id == cid).values(at=_at(day, hour)))
    return cid


def _history(
    db: Store, cid: int, field: str, old: str | None, new: str | None, at: datetime, **kw: str
) -> None:
    """A history entry at a chosen time, with the commitment's field set to ``new`` (as an edit does)."""
    with Session(db.engine) as s, s.begin():
        s.add(
            CommitmentHistoryRow(
                commitment_id=cid,
                at=at,
                field=field,
                old=old,
                new=new,
                actor=kw.get("actor", "web"),
                note=kw.get("note"),
            )
        )
        column = {"status": "status", "due": "due", "owner": "owner_email", "snoozed_until": "snoozed_until"}[
            field
        ]
        value: object = new
        if field in ("due", "snoozed_until") and new is not None:
            value = date.fromisoformat(new)
        s.execute(update(CommitmentRow).where(CommitmentRow.id == cid).values({column: value}))


def _by(points: list[OwnerDay]) -> dict[tuple[int, str], tuple[int, int]]:
    return {(p.day.day, p.owner): (p.open, p.overdue) for p in points}


def test_open_and_overdue_per_owner_per_day_follow_the_history(store: Store) -> None:  # noqa: F811
    pricing = _record(
        store,
        "<p@x>",
        "I'll send the pricing by Thursday.",
        "I'll send the pricing",
        day=1,
        due=date(2026, 3, 5),
    )
    deck = _record(
        store,
        "<d@x>",
        "I'll share the deck.",
        "I'll share the deck",
        day=3,
        due=None,
        owner="Ana Ruiz",
        owner_email="ana@northwind.io",
        participants=ANA,
    )
    _history(store, pricing, "status", "open", "done", _at(8))  # done on the 8th
    trend = _by(owner_trend(store, as_of=AS_OF, days=10))
    marco, ana = "marco@northwind.io", "ana@northwind.io"
    assert [trend.get((d, marco)) for d in range(1, 11)] == [(1, 0)] * 5 + [(1, 1)] * 2 + [None] * 3
    assert [trend.get((d, ana)) for d in range(1, 11)] == [None, None] + [(1, 0)] * 8
    assert owner_trend(store, as_of=AS_OF, days=10, owner="ANA@northwind.io") == [
        p for p in owner_trend(store, as_of=AS_OF, days=10) if p.owner == ana
    ]
    assert deck


def test_a_corrected_due_date_and_owner_count_from_the_day_they_were_corrected(store: Store) -> None:  # noqa: F811
    cid = _record(
        store, "<p@x>", "I'll send the pricing soon.", "I'll send the pricing", day=1, due=date(2026, 3, 20)
    )
    _history(store, cid, "due", "2026-03-20", "2026-03-04", _at(6))  # someone fixed the due date on the 6th
    _history(store, cid, "owner", "marco@northwind.io", "ana@northwind.io", _at(8))
    trend = _by(owner_trend(store, as_of=AS_OF, days=10))
    assert trend[(5, "marco@northwind.io")] == (1, 0)  # due the 20th then: not overdue
    assert trend[(6, "marco@northwind.io")] == (1, 1)  # due the 4th from the 6th on
    assert (8, "marco@northwind.io") not in trend
    assert trend[(8, "ana@northwind.io")] == (1, 1)


def test_a_snoozed_item_is_open_again_from_its_day_and_waiting_is_not_ours(store: Store) -> None:  # noqa: F811
    cid = _record(store, "<p@x>", "I'll send the pricing.", "I'll send the pricing", day=1, due=None)
    _history(store, cid, "status", "open", "snoozed", _at(2))
    _history(store, cid, "snoozed_until", None, "2026-03-05", _at(2))
    theirs = _record(store, "<t@x>", "I'll send the contract.", "I'll send the contract", day=1, due=None)
    _history(store, theirs, "status", "open", "waiting", _at(1, 10))
    trend = _by(owner_trend(store, as_of=AS_OF, days=10))
    # the 1st: the pricing only (the contract was the customer's by the end of that day); snoozed the 2nd to
    # the 4th; open again from the 5th
    assert [trend.get((d, "marco@northwind.io")) for d in range(1, 8)] == [
        (1, 0),
        None,
        None,
        None,
        (1, 0),
        (1, 0),
        (1, 0),
    ]
    assert theirs


def test_changes_recorded_after_a_pinned_as_of_count_on_that_day(store: Store) -> None:  # noqa: F811
    cid = _record(
        store, "<p@x>", "I'll send the pricing.", "I'll send the pricing", day=1, due=date(2026, 3, 5)
    )
    store.set_status(cid, CommitmentStatus.DONE, actor="web")  # stamped with today's clock, after AS_OF
    trend = _by(owner_trend(store, as_of=AS_OF, days=10))
    assert trend[(9, "marco@northwind.io")] == (1, 1)
    assert (10, "marco@northwind.io") not in trend  # the dashboard's "today" shows it done


def test_a_delivered_item_is_closed_from_the_message_that_delivered_it_and_merged_ones_never_count(
    store: Store,  # noqa: F811
) -> None:
    cid = _record(
        store, "<p@x>", "I'll send the pricing.", "I'll send the pricing", day=1, due=None, thread="t-p"
    )
    store.add_document(make_doc("<sent@x>", "Here is the pricing.", occurred_at=_at(4, 9), thread_id="t-p"))
    # found by a run long after (the history's clock), but the message was sent on the 4th
    _history(
        store,
        cid,
        "status",
        "open",
        "done",
        _at(9),
        actor="fulfilment",
        note="<sent@x>: Here is the pricing.",
    )
    twin = _record(
        store, "<m@x>", "I'll send the pricing deck.", "I'll send the pricing deck", day=2, due=None
    )
    with Session(store.engine) as s, s.begin():
        s.execute(
            update(CommitmentRow)
            .where(CommitmentRow.id == twin)
            .values(status=CommitmentStatus.MERGED, merged_into=cid)
        )
    trend = _by(owner_trend(store, as_of=AS_OF, days=10))
    assert [trend.get((d, "marco@northwind.io")) for d in range(1, 6)] == [(1, 0)] * 3 + [None] * 2


def test_items_closed_before_the_window_are_not_read_and_days_are_bounded(store: Store) -> None:  # noqa: F811
    cid = _record(store, "<p@x>", "I'll send the pricing.", "I'll send the pricing", day=1, due=None)
    _history(store, cid, "status", "open", "done", _at(2))
    assert owner_trend(store, as_of=AS_OF, days=5) == []
    with pytest.raises(ValueError, match="days"):
        owner_trend(store, as_of=AS_OF, days=0)


def test_response_times_run_from_the_request_to_the_message_that_answered_it(store: Store) -> None:  # noqa: F811
    asked = _record(
        store,
        "<q@acme.com>",
        "Can you confirm the SSO setup?",
        "Can you confirm the SSO setup?",
        day=2,
        hour=9,
        type="request",
        owner=None,
        owner_email=None,
        due=None,
        participants=DANA,
        thread="t-sso",
    )
    reply = make_doc("<r@northwind.io>", "Yes: SSO is on.", occurred_at=_at(3, 15), thread_id="t-sso")
    store.add_document(reply)
    _history(
        store,
        asked,
        "status",
        "open",
        "answered",
        _at(3, 16),
        actor="answered",
        note="<r@northwind.io>: Yes: SSO is on.",
    )
    taken = _record(
        store,
        "<q2@acme.com>",
        "Can you send the SOC 2 report?",
        "Can you send the SOC 2 report?",
        day=4,
        hour=8,
        type="request",
        owner=None,
        owner_email=None,
        due=None,
        participants=DANA,
        thread="t-soc",
    )
    promise = make_doc("<p2@northwind.io>", "I'll send it today.", occurred_at=_at(4, 10), thread_id="t-soc")
    store.add_document(promise)
    _history(
        store,
        taken,
        "status",
        "open",
        "answered",
        _at(4, 11),
        actor="answered",
        note="taken on by commitment 99: <p2@northwind.io>: I'll send it today.",
    )
    by_hand = _record(
        store,
        "<q3@acme.com>",
        "Can you call me?",
        "Can you call me?",
        day=5,
        type="request",
        owner=None,
        owner_email=None,
        due=None,
        participants=DANA,
        thread="t-call",
    )
    _history(store, by_hand, "status", "open", "answered", _at(6), actor="web")  # no message says when
    waiting = _record(
        store,
        "<q4@acme.com>",
        "Can you share the roadmap?",
        "Can you share the roadmap?",
        day=9,
        hour=0,
        type="request",
        owner=None,
        owner_email=None,
        due=None,
        participants=DANA,
        thread="t-road",
    )
    samples = response_times(store, as_of=AS_OF, days=10, target=TieredValue(24.0))
    assert [(s.commitment_id, s.hours, s.answered, s.late) for s in samples] == [
        (asked, 30.0, True, True),
        (taken, 2.0, True, False),
        (waiting, 48.0, False, True),  # to the end of AS_OF
    ]
    assert samples[0].answered_at == _at(3, 15)
    assert all(s.target_hours == 24.0 for s in samples)
    assert response_times(store, as_of=AS_OF, days=3, target=TieredValue(24.0))[0].commitment_id == waiting
    assert response_times(store, as_of=AS_OF, days=10)[0].target_hours is None  # a store with no target


# --- the SVG ---------------------------------------------------------------------------------------


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img" and root.get("aria-label")
    assert root.find(f"{SVG}title") is not None and root.find(f"{SVG}desc") is not None
    assert "<script" not in svg and "javascript:" not in svg
    return root


def _points() -> list[OwnerDay]:
    return [
        OwnerDay(day=date(2026, 3, d), owner=o, open=n, overdue=late)
        for d in range(1, 11)
        for o, n, late in (("marco@northwind.io", 3, d // 4), ("ana@northwind.io", 1, 0))
    ]


def test_the_owner_trend_is_accessible_svg_with_a_legend() -> None:
    svg = owner_trend_svg(_points())
    root = _parse(svg)
    desc = root.findtext(f"{SVG}desc") or ""
    assert "marco@northwind.io: 3 open, 2 overdue" in desc and "ana@northwind.io: 1 open, 0 overdue" in desc
    legend = root.find(f"{SVG}g[@class='legend']")
    assert legend is not None
    texts = [t.text or "" for t in legend.iter(f"{SVG}text")]
    assert {"open", "overdue"} <= set(texts)
    assert any(t.startswith("marco@northwind.io") for t in texts)
    lines = root.findall(f"{SVG}polyline")
    assert len(lines) == 4  # open and overdue for each owner
    assert {line.get("stroke") for line in lines} == set(PALETTE[:2])
    assert sum(1 for line in lines if line.get("stroke-dasharray")) == 2  # overdue told by the dash too
    assert root.get("viewBox") and "max-width: 100%" in (root.get("style") or "")


def test_many_owners_are_summed_into_others_and_text_is_escaped() -> None:
    points = [
        OwnerDay(day=date(2026, 3, 1), owner=f'<b>"o{n}"</b>&', open=n + 1, overdue=0) for n in range(10)
    ]
    svg = owner_trend_svg(points)
    root = _parse(svg)  # well-formed: everything escaped
    assert "<b>" not in svg
    legend = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert any(t.startswith("others") for t in legend)
    assert len(root.findall(f"{SVG}polyline")) == 2 * 6


def test_empty_charts_say_so() -> None:
    assert "Nothing was open" in owner_trend_svg([])
    assert "No customer requests" in response_time_svg([], target_hours=24)
    _parse(owner_trend_svg([]))


def _sample(cid: int, hours: float, answered: bool, action: str = "confirm SSO") -> ResponseSample:
    asked = _at(cid)
    return ResponseSample(
        commitment_id=cid,
        action=action,
        owner="marco@northwind.io",
        asked_at=asked,
        answered_at=asked if answered else None,
        hours=hours,
        target_hours=24.0,
    )


def test_response_times_chart_shows_each_request_against_the_target() -> None:
    samples = [_sample(1, 6, True), _sample(2, 30, True), _sample(3, 50, False, action="<script>x</script>")]
    svg = response_time_svg(samples, target_hours=24)
    root = _parse(svg)
    desc = root.findtext(f"{SVG}desc") or ""
    assert "3 requests" in desc and "1 answered within target, 1 answered late" in desc
    assert "1 still waiting (1 past target)" in desc and "median first answer 18h" in desc
    bars = [r for r in root.findall(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert len(bars) == 3
    heights = [float(b.get("height") or 0) for b in bars]
    assert heights[0] < heights[1] < heights[2]
    assert heights[1] / heights[0] == pytest.approx(5, rel=0.02)  # 30h vs 6h: drawn to scale
    assert "&lt;script&gt;" in svg and "<script" not in svg
    assert re.search(r">target 24h<", svg)
    legend = [t.text for t in root.find(f"{SVG}g[@class='legend']").iter(f"{SVG}text")]  # type: ignore[union-attr]
    assert legend == ["answered within target", "answered late", "still waiting"]
