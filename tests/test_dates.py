"""Due-date phrases resolved against a fixed Tuesday (2026-03-10)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from extractor.offline.dates import find_due

TUESDAY = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("sentence", "due", "text"),
    [
        ("I'll send it by Friday.", date(2026, 3, 13), "by Friday"),
        ("We can meet on Monday.", date(2026, 3, 16), "on Monday"),
        ("I'll do it this Thursday", date(2026, 3, 12), "this Thursday"),
        ("Let's talk Tuesday", date(2026, 3, 17), "Tuesday"),  # said on a Tuesday: the next one
        ("next Friday works", date(2026, 3, 20), "next Friday"),  # Friday of next calendar week
        ("next Tuesday works", date(2026, 3, 17), "next Tuesday"),
        ("I'll have it done today", date(2026, 3, 10), "today"),
        ("I'll get it to you tonight", date(2026, 3, 10), "tonight"),
        ("will confirm by EOD", date(2026, 3, 10), "by EOD"),
        ("by COB", date(2026, 3, 10), "by COB"),
        ("tomorrow EOD please", date(2026, 3, 11), "tomorrow EOD"),
        ("I'll send it tomorrow", date(2026, 3, 11), "tomorrow"),
        ("by end of week", date(2026, 3, 13), "by end of week"),
        ("before EOW", date(2026, 3, 13), "before EOW"),
        ("sometime next week", date(2026, 3, 20), "next week"),  # end of next week
        ("early next week", date(2026, 3, 16), "early next week"),
        ("by the end of the month", date(2026, 3, 31), "by the end of the month"),
        ("EOM at the latest", date(2026, 3, 31), "EOM"),
        ("by end of quarter", date(2026, 3, 31), "by end of quarter"),
        ("by Q3", date(2026, 9, 30), "by Q3"),
        ("by March 13", date(2026, 3, 13), "by March 13"),
        ("on 13 March", date(2026, 3, 13), "on 13 March"),
        ("by Mar 20th", date(2026, 3, 20), "by Mar 20th"),
        ("by 3/13", date(2026, 3, 13), "by 3/13"),
        ("due 2026-04-02", date(2026, 4, 2), "due 2026-04-02"),
        ("deadline 13.04.2026", date(2026, 4, 13), "13.04.2026"),
        ("by the 20th", date(2026, 3, 20), "by the 20th"),
        ("by the 5th", date(2026, 4, 5), "by the 5th"),  # the 5th has passed: next month's
        ("in 3 business days", date(2026, 3, 13), "in 3 business days"),
        ("within 2 weeks", date(2026, 3, 24), "within 2 weeks"),
        ("in a couple of days", date(2026, 3, 12), "in a couple of days"),
        ("by January 15", date(2027, 1, 15), "by January 15"),  # long past this year: next year's
        ("Friday, March 20 works", date(2026, 3, 20), "Friday, March 20"),
    ],
)
def test_due_table(sentence: str, due: date, text: str) -> None:
    found = find_due(sentence, TUESDAY)
    assert found is not None, sentence
    assert found.due == due
    assert found.text == text
    assert sentence[found.start : found.end] == found.text


@pytest.mark.parametrize(
    "sentence",
    [
        "We met last Friday.",
        "The score was 3/4.",
        "The cat sat on the mat.",
        "I may have more later.",
        "Can you hold the price until Friday?",  # a period, not a deadline
        "could we get the sandbox extended through the end of the month?",
    ],
)
def test_not_a_due_date(sentence: str) -> None:
    assert find_due(sentence, TUESDAY) is None


def test_deadline_beats_other_dates() -> None:
    found = find_due("I'll extend the sandbox through March 31 this afternoon", TUESDAY)
    assert found is not None and found.due == date(2026, 3, 10) and found.text == "this afternoon"
    found = find_due("The launch is on April 2 but I'll send the deck by Thursday", TUESDAY)
    assert found is not None and found.due == date(2026, 3, 12)


def test_asap_has_text_but_no_date() -> None:
    found = find_due("Please respond as soon as possible", TUESDAY)
    assert found is not None and found.due is None and found.text == "as soon as possible"


def test_weekend_end_of_week_is_next_friday() -> None:
    saturday = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)
    found = find_due("by end of week", saturday)
    assert found is not None and found.due == date(2026, 3, 20)


def test_scope_start_ignores_preamble() -> None:
    s = "Quick ask ahead of our committee on March 24: could you share a reference?"
    assert find_due(s, TUESDAY, scope_start=s.index(":") + 1) is None
    assert find_due(s, TUESDAY) is not None


@pytest.mark.parametrize(
    ("phrase", "due"),
    [
        ("I'll send it by Friday the 20th.", date(2026, 3, 20)),
        ("We can meet on Fri 20th.", date(2026, 3, 20)),
        ("I will send it Friday the 20th.", date(2026, 3, 20)),
        ("I'll have it by Thursday, the 19th.", date(2026, 3, 19)),
        ("I'll send it by Friday.", date(2026, 3, 13)),  # a weekday alone is still the coming one
        ("The Monday 2nd round is booked.", date(2026, 3, 16)),  # no "the" before the number: the weekday
    ],
)
def test_a_weekday_with_its_day_of_the_month_is_that_day(phrase: str, due: date) -> None:
    """When a weekday and the day of the month are both written, the day of the month is the date (a
    Wednesday's "by Friday the 20th" is the 20th, not the Friday of that week)."""
    found = find_due(phrase, date(2026, 3, 11))
    assert found is not None and found.due == due
