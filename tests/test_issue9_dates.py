"""Compound due phrases and consistent day/month slash dates (issue 9).

Dates are as of the message dates in /work/shared/regressions/{email-due-phrases,date-dmy-consistency}.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from extractor.offline import OfflineExtractor
from extractor.offline.dates import find_due, numeric_date_order
from followthrough.types import Participant, SourceDocument

WED = datetime(2026, 3, 18, 17, 30, tzinfo=timezone(timedelta(hours=-4)))  # email-due-phrases
TUE = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # its "more phrases of the same kinds"
FRI = datetime(2026, 4, 10, 9, 30, tzinfo=timezone(timedelta(hours=1)))  # date-dmy-consistency

CASES = [
    (WED, "I'll send the signed NDA back by COB Thursday.", date(2026, 3, 19), "by COB Thursday"),
    (WED, "I'll get you the updated SOW early next week.", date(2026, 3, 23), "early next week"),
    (
        WED,
        "I'll share the reference architecture by the end of the month.",
        date(2026, 3, 31),
        "by the end of the month",
    ),
    (WED, "I'll send the invoice correction tomorrow morning.", date(2026, 3, 19), "tomorrow morning"),
    (WED, "I'll confirm the training dates within 48 hours.", date(2026, 3, 20), "within 48 hours"),
    (WED, "I'll get the renewal paperwork to Alex by the 5th.", date(2026, 4, 5), "by the 5th"),
    (WED, "We will deliver the pilot report by end of next week.", date(2026, 3, 27), "by end of next week"),
    (
        WED,
        "I'll send the final pricing before our call on Monday.",
        date(2026, 3, 23),
        "before our call on Monday",
    ),
    (WED, "I'll have the onboarding checklist ready by 3/25.", date(2026, 3, 25), "by 3/25"),
    (TUE, "I'll send the deck by EOD tomorrow.", date(2026, 3, 11), "by EOD tomorrow"),
    (
        TUE,
        "I'll send the deck by the end of the day tomorrow.",
        date(2026, 3, 11),
        "by the end of the day tomorrow",
    ),
    (TUE, "I'll send the deck by mid-April.", date(2026, 4, 15), "by mid-April"),
    (TUE, "I'll send the deck Friday week.", date(2026, 3, 20), "Friday week"),
    (FRI, "I'll send the draft contract by 24/4.", date(2026, 4, 24), "by 24/4"),
    (FRI, "I will return the signed copy by 2/5.", date(2026, 5, 2), "by 2/5"),
    # more of the same kinds
    (TUE, "I'll send the deck EOD Friday.", date(2026, 3, 13), "EOD Friday"),
    (TUE, "I'll send the deck Friday EOD.", date(2026, 3, 13), "Friday EOD"),
    (
        TUE,
        "I'll send the deck by close of business on Thursday.",
        date(2026, 3, 12),
        "by close of business on Thursday",
    ),
    (TUE, "I'll send the deck by COB next Thursday.", date(2026, 3, 19), "by COB next Thursday"),
    (TUE, "I'll send the deck today by COB.", date(2026, 3, 10), "today by COB"),
    (TUE, "I'll send the deck first thing Monday morning.", date(2026, 3, 16), "first thing Monday morning"),
    (TUE, "I'll send the deck by Friday week.", date(2026, 3, 20), "by Friday week"),
    (TUE, "I'll send the deck a week on Friday.", date(2026, 3, 20), "a week on Friday"),
    (TUE, "I'll send the deck a week from today.", date(2026, 3, 17), "a week from today"),
    (TUE, "I'll send the deck by Wednesday of next week.", date(2026, 3, 18), "by Wednesday of next week"),
    (TUE, "I'll send the deck by mid-January.", date(2027, 1, 15), "by mid-January"),
    (
        TUE,
        "I'll send the deck by the middle of next month.",
        date(2026, 4, 15),
        "by the middle of next month",
    ),
    (TUE, "I'll send the deck by the end of April.", date(2026, 4, 30), "by the end of April"),
    (
        TUE,
        "I'll send the deck ahead of the demo next Tuesday.",
        date(2026, 3, 17),
        "ahead of the demo next Tuesday",
    ),
    (
        TUE,
        "I'll send the deck before the board meeting on Friday.",
        date(2026, 3, 13),
        "before the board meeting on Friday",
    ),
]


@pytest.mark.parametrize(("now", "sentence", "due", "text"), CASES, ids=[c[3] for c in CASES])
def test_compound_phrase(now: datetime, sentence: str, due: date, text: str) -> None:
    found = find_due(sentence, now)
    assert found is not None, sentence
    assert (found.due, found.text) == (due, text)
    assert sentence[found.start : found.end] == found.text


@pytest.mark.parametrize(
    "sentence", ["I'll send the security addendum ASAP.", "Send it as soon as possible."]
)
def test_asap_is_urgent_without_a_date(sentence: str) -> None:
    found = find_due(sentence, WED)
    assert found is not None and found.due is None  # kept as due text: flagged, not dropped
    assert found.text.lower() in ("asap", "as soon as possible")


@pytest.mark.parametrize(
    "sentence",
    ["We met last Friday morning.", "Can you hold the price until Friday EOD?", "I may have more later."],
)
def test_still_not_a_due_date(sentence: str) -> None:
    assert find_due(sentence, TUE) is None


def test_plain_weekday_still_wins_ties_by_position() -> None:
    found = find_due("I can leave on Friday and arrive on Sunday morning.", TUE)
    assert found is not None and found.text == "on Friday"


@pytest.mark.parametrize(
    ("now", "sentence", "due"),
    [
        (FRI, "I'll send the draft by 24/4 and the signed copy by 2/5.", date(2026, 4, 24)),
        (FRI, "The signed copy comes by 2/5, after the draft on 24/4.", date(2026, 5, 2)),
        (FRI, "by 2/5", date(2026, 5, 2)),  # M/D (5 Feb) would be pushed to 2027
        (FRI, "by 4/2", date(2026, 4, 2)),  # M/D is 8 days past: kept, not day/month
        (FRI, "by 11/12", date(2026, 11, 12)),  # neither reading near: US order
        (FRI, "by 5/2", date(2026, 5, 2)),
        (date(2026, 12, 28), "by 1/5", date(2027, 1, 5)),  # next year's, but only days ahead: US order
        (TUE, "by 3/4", date(2026, 3, 4)),
        (WED, "by 3/25 and 4/5", date(2026, 3, 25)),
    ],
)
def test_slash_dates(now: datetime | date, sentence: str, due: date) -> None:
    found = find_due(sentence, now)
    assert found is not None and found.due == due


def test_message_order_hint() -> None:
    message = "I'll send the draft contract by 24/4.\n\nI will return the signed copy by 4/5."
    assert numeric_date_order(message) is True
    assert numeric_date_order("by 3/25, then 4/5") is False
    assert numeric_date_order("by 3/25 or 24/4") is None
    found = find_due("I will return the signed copy by 4/5.", FRI, dayfirst=numeric_date_order(message))
    assert found is not None and found.due == date(2026, 5, 4)
    found = find_due("I will return the signed copy by 4/5.", FRI)
    assert found is not None and found.due == date(2026, 4, 5)


MARCO = Participant(name="Marco Rossi", email="marco@northwind.io", role="sender")
JORDAN = Participant(name="Jordan Blake", email="jordan.blake@contoso.com", role="recipient")
BODY = """Hi Jordan,

Here is where we landed:

I'll send the signed NDA back by COB Thursday.
I'll get you the updated SOW early next week.
I'll share the reference architecture by the end of the month.
I'll send the invoice correction tomorrow morning.
I'll confirm the training dates within 48 hours.
I'll send the security addendum ASAP.
I'll get the renewal paperwork to Alex by the 5th.
We will deliver the pilot report by end of next week.
I'll send the final pricing before our call on Monday.
I'll have the onboarding checklist ready by 3/25.

Marco
"""


def test_extracted_items_keep_whole_phrase_out_of_the_action() -> None:
    doc = SourceDocument(
        source="email", external_id="<dates-test-0001@northwind.io>", occurred_at=WED,
        participants=[MARCO, JORDAN], text=BODY,
    )  # fmt: skip
    items = OfflineExtractor().extract(doc)
    got = {it.due_text: (it.due, it.action) for it in items}
    expected = {
        "by COB Thursday": date(2026, 3, 19),
        "early next week": date(2026, 3, 23),
        "by the end of the month": date(2026, 3, 31),
        "tomorrow morning": date(2026, 3, 19),
        "within 48 hours": date(2026, 3, 20),
        "ASAP": None,
        "by the 5th": date(2026, 4, 5),
        "by end of next week": date(2026, 3, 27),
        "before our call on Monday": date(2026, 3, 23),
        "by 3/25": date(2026, 3, 25),
    }
    assert {k: v[0] for k, v in got.items()} == expected
    for phrase, (_, action) in got.items():
        words = {w.lower() for w in (phrase or "").split()} - {"the", "of"}
        assert not words & {w.lower().strip(".,") for w in action.split()}, (phrase, action)


def test_numeric_dates_are_read_in_one_order_per_message() -> None:
    """'24/4' in one sentence makes '4/5' in another the 4th of May, not the 5th of April."""
    from datetime import datetime, timedelta, timezone

    from extractor.offline import OfflineExtractor
    from followthrough.types import Participant, SourceDocument

    text = "I'll send the draft by 24/4.\nI will return the signed copy by 4/5."
    doc = SourceDocument(
        source="email",
        external_id="<dmy@test>",
        occurred_at=datetime(2026, 4, 10, 9, tzinfo=timezone(timedelta(hours=1))),
        participants=[Participant(name="Olga", email="olga@northwind.example", role="sender")],
        text=text,
    )
    dues = [i.due.isoformat() for i in OfflineExtractor().extract(doc) if i.due]
    assert dues == ["2026-04-24", "2026-05-04"]


def test_asap_is_no_date_but_flagged_urgent() -> None:
    from datetime import UTC, datetime

    from extractor.offline import OfflineExtractor

    e = OfflineExtractor().explain(
        "I'll send the security addendum ASAP.", now=datetime(2026, 3, 18, tzinfo=UTC)
    )
    (item,) = e.items
    assert item.due is None and item.due_text == "ASAP" and "urgent" in item.flags
