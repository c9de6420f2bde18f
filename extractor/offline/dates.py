"""Due-date phrases, found with fast regular expressions and resolved against
the message time.

``find_due(sentence, now)`` returns a :class:`DueDate` (the resolved date, the
phrase as written and its offsets in the sentence) or ``None``.

Resolution rules (``now`` is the message's ``occurred_at``; weeks start on
Monday):

======================================  =========================================
phrase                                  resolves to
======================================  =========================================
today, tonight, EOD, COB, end of day    the message's date
tomorrow (EOD)                          the next day
"by/on/before/this Friday", "Friday"    the next Friday after the message date;
                                        said on a Friday, "Friday" means the one
                                        a week later (use "today" for today)
"next Friday"                           Friday of next calendar week
this week, end of (the) week, EOW       Friday of this week (next Friday if the
                                        message is sent on a weekend)
next week, end of next week             Friday of next week
early next week, beginning of next week Monday of next week
end of (the) month, EOM, this month     last day of this month
next month, end of next month           last day of next month
end of (the) quarter, EOQ, this quarter last day of this calendar quarter
end of (the) year, EOY                  31 December
Q3, end of Q3 (2026)                    last day of that quarter (next year's
                                        if this year's has passed)
in/within N days|weeks|business days    now + N (business days skip weekends)
in a couple of days / a few days        now + 2 / 3 days
March 13, 13 March, Mar 13th, the 13th  that date; without a year, this year's
3/13, 3/13/2026, 2026-03-13, 13.03.2026 date unless it is more than 14 days past,
                                        then next year's; "the 13th" is this
                                        month's 13th, or next month's if past.
                                        Slashes are US month/day unless the
                                        first number is over 12, another slash
                                        date of the sentence (or ``dayfirst``)
                                        shows day/month, or month/day would land
                                        over ~6 months ahead while day/month is
                                        near ("by 2/5" on 10 Apr: 2 May)
COB Thursday, Friday EOD, EOD tomorrow, that day ("next" as above); a phrase
first thing Monday, Monday morning      inside a longer one is part of it
Friday week, a week on/from Friday      a week after "Friday" (a week from today:
                                        now + 7)
Friday of next/this week                that weekday of that calendar week
mid-April, the middle of next month     the 15th (year as for "April 15");
mid-month, midweek, mid next week       this/next month's 15th; Wednesday
end of April                            April 30 (next year's if past)
before our call on Monday, ahead of     the date; the whole phrase is the text
the demo next Tuesday
======================================  =========================================

``asap`` and ``as soon as possible`` are returned with ``due=None`` and
``text`` set. ``dateparser`` is used only as a last resort on a short phrase
after "by/before/until/due" that looks like a date but matched no rule.
"""

from __future__ import annotations

import calendar
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date, datetime, timedelta
from functools import lru_cache

WEEKDAYS = {
    "monday": 0,
    "mon": 0,
    "tuesday": 1,
    "tue": 1,
    "tues": 1,
    "wednesday": 2,
    "wed": 2,
    "thursday": 3,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "friday": 4,
    "fri": 4,
    "saturday": 5,
    "sat": 5,
    "sunday": 6,
    "sun": 6,
}
MONTHS = {
    "january": 1,
    "jan": 1,
    "february": 2,
    "feb": 2,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "june": 6,
    "jun": 6,
    "july": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sep": 9,
    "sept": 9,
    "october": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}

_WD = r"(?P<wd>monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues?|wed|thu(?:rs?)?|fri)"
_WD_ANY = _WD.replace("(?P<wd>", "(?:", 1)
"""A weekday, not captured (for phrases where the weekday only repeats what the date says)."""
_MON = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\.?"
)
_ORD = r"(?:st|nd|rd|th)?"
_NUMWORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}

_EOD = (
    r"(?:EOD|COB|EOB|EOP|close\s+of\s+(?:business|play)|(?:the\s+)?end\s+of\s+business(?:\s+day)?"
    r"|(?:the\s+)?end\s+of\s+(?:the\s+)?(?:business\s+|working\s+)?day)"
)
_PART = r"(?:morning|afternoon|evening|night|lunch(?:time)?|noon|midday)"
_REL = r"(?P<rel>today|tonight|tomorrow|tmrw|tmr)"
_MONTH_NAME = (
    r"(?P<mon>january|february|march|april|may|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)(?!\w)"
)

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    # "COB Thursday", "by the end of the day tomorrow", "first thing Monday", "EOD next Friday"
    (
        "eod_day",
        re.compile(
            rf"\b(?:first\s+thing\s+|{_EOD}(?:\s*+,\s++|\s++)(?:on\s+|of\s+)?)"
            rf"(?:{_REL}|(?P<nx>next\s+|this\s+)?{_WD})"
            rf"(?:\s+(?:at\s+)?(?:{_PART}|{_EOD}))?\b",
            re.I,
        ),
    ),
    # "Thursday EOD", "Monday morning", "today by COB", "next Friday end of day"
    (
        "day_part",
        re.compile(
            rf"\b(?:(?:by|on|before|until|till|due|for)\s+)?(?:first\s+thing\s+)?"
            rf"(?:{_REL}\s+(?:at\s+|by\s+|in\s+the\s+)?|(?P<nx>next\s+|this\s+)?{_WD}\s+(?:at\s+|in\s+the\s+)?)"
            rf"(?:{_PART}|{_EOD})\b",
            re.I,
        ),
    ),
    # "Friday week", "a week on Friday", "a week from Monday", "a week from today"
    (
        "wd_week",
        re.compile(
            rf"\b(?:(?:by|on|before|until|till|due|for)\s+)?(?:(?P<aw>a\s+week\s+(?:on|from)\s+(?:this\s+)?)?"
            rf"{_WD}(?P<wk>\s+week)?"
            rf"|a\s+week\s+(?:from\s+)?(?P<rel>today|tomorrow))\b",
            re.I,
        ),
    ),
    # "Friday of next week", "Monday of this week"
    (
        "wd_of_week",
        re.compile(
            rf"\b(?:(?:by|on|before|until|till|due|for)\s+)?{_WD}\s+of\s+(?P<nx>next|this)\s+week\b", re.I
        ),
    ),
    # "mid-April", "the middle of May 2027", "mid-month", "by midweek", "mid next week"
    (
        "mid",
        re.compile(
            rf"\b(?:mid-?\s*|(?:the\s+)?middle\s+of\s+)(?:(?:the\s+)?{_MONTH_NAME}(?:,?\s+(?P<y>20\d\d))?"
            r"|(?P<mo>(?:the\s+|this\s+)?month|next\s+month)|(?P<wk>(?:the\s+|this\s+)?week|next\s+week))(?!\w)",
            re.I,
        ),
    ),
    # "end of April", "the end of May 2027"
    (
        "end_of_month_name",
        re.compile(rf"\b(?:the\s+)?end\s+of\s+{_MONTH_NAME}(?:,?\s+(?P<y>20\d\d))?", re.I),
    ),
    ("iso", re.compile(r"\b(?P<y>20\d\d)-(?P<m>[01]?\d)-(?P<d>[0-3]?\d)\b")),
    (
        "mdy",
        re.compile(r"(?<![\d/.])(?P<a>[0-3]?\d)/(?P<b>[0-3]?\d)(?:/(?P<y>(?:20)?\d\d))?(?![\d/])"),
    ),
    ("dmy_dot", re.compile(r"(?<![\d.])(?P<d>[0-3]?\d)\.(?P<m>[01]?\d)\.(?P<y>20\d\d)\b")),
    (
        "month_day",
        re.compile(
            rf"\b(?:{_WD},?\s+)?(?P<mon>{_MON})\s+(?P<d>[0-3]?\d){_ORD}\b(?:,?\s+(?P<y>20\d\d))?",
            re.I,
        ),
    ),
    (
        "day_month",
        re.compile(
            rf"\b(?:{_WD},?\s+)?(?:the\s+)?(?P<d>[0-3]?\d){_ORD}\s+(?:of\s+)?(?P<mon>{_MON})(?:,?\s+(?P<y"
            rf">20\d\d))?\b",
            re.I,
        ),
    ),
    ("quarter", re.compile(r"\b(?:(?:the\s+)?end\s+of\s+)?Q(?P<q>[1-4])(?:\s+(?P<y>20\d\d))?\b")),
    ("eoq", re.compile(r"\b(?:(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?quarter|EOQ|this\s+quarter)\b", re.I)),
    ("eoy", re.compile(r"\b(?:(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?year|EOY)\b", re.I)),
    ("next_month", re.compile(r"\b(?:(?:the\s+)?end\s+of\s+next\s+month|next\s+month)\b", re.I)),
    ("eom", re.compile(r"\b(?:(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?month|EOM|this\s+month)\b", re.I)),
    (
        "early_next_week",
        re.compile(r"\b(?:early|(?:the\s+)?(?:beginning|start)\s+of)\s+next\s+week\b", re.I),
    ),
    ("next_week", re.compile(r"\b(?:(?:the\s+)?end\s+of\s+next\s+week|next\s+week)\b", re.I)),
    (
        "eow",
        re.compile(r"\b(?:(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?week|EOW|this\s+week)\b", re.I),
    ),
    ("next_wd", re.compile(rf"\bnext\s+{_WD}\b", re.I)),
    ("wd", re.compile(rf"\b(?:(?:by|on|before|until|till|this|from|due|for)\s+)?{_WD}\b", re.I)),
    (
        "tomorrow",
        re.compile(r"\b(?:tomorrow|tmrw|tmr)(?:\s+(?:morning|afternoon|evening|night|EOD|COB))?\b", re.I),
    ),
    (
        "today",
        re.compile(
            r"\b(?:today|tonight|this\s+(?:morning|afternoon|evening)|EOD|COB|EOB"
            r"|(?:the\s+)?end\s+of\s+(?:the\s+)?(?:business\s+)?day|close\s+of\s+business)\b",
            re.I,
        ),
    ),
    (
        "in_n",
        re.compile(
            r"\b(?:in|within)\s+(?:the\s+next\s+)?(?P<n>\d{1,3}|a|an|one|two|three|four|five|six|seven)"
            r"\s+(?P<biz>business\s+|working\s+)?(?P<unit>days?|weeks?|hours?)\b",
            re.I,
        ),
    ),
    ("in_few", re.compile(r"\b(?:in|within)\s+a\s+(?P<q>couple|few)\s+(?:of\s+)?days\b", re.I)),
    # "by the 20th", and with its weekday, "by Friday the 20th", "on Fri 20th": the day of the month wins
    (
        "the_nth",
        re.compile(
            rf"\b(?:(?:by|on|before|until)\s+(?:{_WD_ANY},?\s+(?:the\s+)?|the\s+)|{_WD_ANY},?\s+the\s+)"
            r"(?P<d>[0-3]?\d)(?:st|nd|rd|th)\b",
            re.I,
        ),
    ),
    ("asap", re.compile(r"\b(?:asap|a\.s\.a\.p\.?|as\s+soon\s+as\s+(?:possible|you\s+can))\b", re.I)),
]

# Substrings one of which any match of a pattern must contain (checked before the regex, for speed);
# None: the pattern needs a digit.
_KEYS: dict[str, tuple[str, ...] | None] = {
    "eod_day": ("eod", "cob", "eob", "eop", "close", "end", "first"),
    "day_part": (
        "morning",
        "afternoon",
        "evening",
        "night",
        "lunch",
        "noon",
        "midday",
        "eod",
        "cob",
        "eob",
        "eop",
        "close",
        "end",
    ),
    "wd_week": ("week",),
    "wd_of_week": ("week",),
    "mid": ("mid",),
    "end_of_month_name": ("end",),
    "iso": None,
    "mdy": None,
    "dmy_dot": None,
    "month_day": None,
    "day_month": None,
    "quarter": None,
    "the_nth": None,
    "eoq": ("quarter", "eoq"),
    "eoy": ("year", "eoy"),
    "next_month": ("month",),
    "eom": ("month", "eom"),
    "early_next_week": ("next",),
    "next_week": ("next",),
    "eow": ("week", "eow"),
    "next_wd": ("next",),
    "wd": ("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
    "tomorrow": ("tom", "tmr"),
    "today": ("today", "tonight", "this", "eod", "cob", "eob", "end", "close"),
    "in_n": ("day", "week", "hour"),
    "in_few": ("day",),
    "asap": ("asap", "a.s.a.p", "soon"),
}
_DIGIT = re.compile(r"\d")
_SLASH = _PATTERNS[[k for k, _ in _PATTERNS].index("mdy")][1]
_NEAR_MONTHS_DAYS = 183
# "before our call on Monday", "ahead of the QBR next Friday": the whole phrase is the due text.
_EVENT_PREFIX = re.compile(
    r"\b(?:by|before|ahead\s+of|prior\s+to|in\s+time\s+for)\s+(?:(?:our|the|my|your|their|this|that|a|an)\s+)?"
    r"(?:[\w-]+\s+){0,2}?(?:call|meeting|sync|demo|review|check-?in|session|presentation|kick-?off|workshop"
    r"|stand-?up|offsite|off-site|QBR|launch|interview|visit|catch-?up|one-on-one|1:1|board)s?\s+"
    r"(?:(?:on|this|at)\s+)?$",
    re.I,
)
_WD_KINDS = frozenset({"wd", "eod_day", "day_part", "wd_week", "wd_of_week"})
_SLASH_PREFIX = re.compile(r"\b(?:by|on|before|until|due)\s*$", re.I)

_PREFIX = re.compile(r"(?:\b(?:by|before|until|till|no\s+later\s+than|due|on)\s+)$", re.I)
_FALLBACK = re.compile(r"\b(?:by|before|until|due(?:\s+on)?)\s+(?P<p>[A-Za-z0-9][\w ,./-]{2,30})", re.I)


@dataclass(frozen=True)
class DueDate:
    """A due phrase found in a sentence, and the date it resolves to.

    ``due`` is ``None`` for a phrase with no date ("ASAP"), and for one whose date would fall outside
    the calendar (``date.min``..``date.max``, e.g. "tomorrow" said on 31 December 9999): then
    ``out_of_range`` is true and the phrase is kept as written.
    """

    due: date | None
    text: str
    start: int
    end: int
    out_of_range: bool = False


class _OutOfRange(ArithmeticError):
    """The phrase resolves to a day before ``date.min`` or after ``date.max``."""


# Every date computed here goes through these: arithmetic past the calendar's ends raises _OutOfRange
# (turned into "no date, phrase kept" by find_due), never OverflowError or a year-out-of-range ValueError.
def _plus(d: date, days: int) -> date:
    try:
        return d + timedelta(days=days)
    except OverflowError as e:
        raise _OutOfRange(f"{d} + {days} days") from e


def _date(y: int, m: int, d: int) -> date:
    """A day known to exist in month ``m`` of year ``y``, if ``y`` is on the calendar."""
    if not MINYEAR <= y <= MAXYEAR:
        raise _OutOfRange(f"year {y}")
    return date(y, m, d)


def _friday_of_week(d: date, weeks_ahead: int = 0) -> date:
    monday = _plus(d, -d.weekday())
    return _plus(monday, 4 + 7 * weeks_ahead)


def _last_day(year: int, month: int) -> date:
    if not MINYEAR <= year <= MAXYEAR:
        raise _OutOfRange(f"year {year}")
    return date(year, month, calendar.monthrange(year, month)[1])


def _add_business_days(d: date, n: int) -> date:
    while n > 0:
        d = _plus(d, 1)
        if d.weekday() < 5:
            n -= 1
    return d


def _safe_date(y: int, m: int, d: int) -> date | None:
    """The date, or ``None`` when month ``m`` of year ``y`` has no day ``d`` (raises off the calendar)."""
    if not MINYEAR <= y <= MAXYEAR:
        raise _OutOfRange(f"year {y}")
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _infer_year(today: date, m: int, d: int, y: int | None) -> date | None:
    if y is not None:
        if y < 100:
            y += 2000
        return _safe_date(y, m, d)
    cand = _safe_date(today.year, m, d)
    if cand is None:
        return None
    if (today - cand).days > 14:  # more than 14 days past (a difference of dates never overflows)
        return _safe_date(today.year + 1, m, d)
    return cand


def _weekday_date(today: date, wd: str, nxt: bool) -> date:
    """A bare weekday ("Friday": the next one, a week on if said that day) or "next Friday"."""
    if nxt:
        monday_next = _plus(today, 7 - today.weekday())
        return _plus(monday_next, WEEKDAYS[wd.lower()])
    delta = (WEEKDAYS[wd.lower()] - today.weekday()) % 7
    return _plus(today, delta or 7)


def _day_ref(g: dict[str, str | None], today: date) -> date | None:
    rel = (g.get("rel") or "").lower()
    if rel:
        return today if rel in ("today", "tonight") else _plus(today, 1)
    wd = g.get("wd")
    if not wd:
        return None
    return _weekday_date(today, wd, (g.get("nx") or "").strip().lower() == "next")


def _month_after(today: date) -> tuple[int, int]:
    return (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)


def _slash_date(today: date, a: int, b: int, y: int | None, dayfirst: bool | None) -> date | None:
    """``a/b[/y]``: month/day unless ``a`` > 12, the message shows day/month, or only day/month is near.

    With both numbers 12 or under and no hint, the US reading wins unless it lands more than
    ~6 months ahead (a past date pushed into next year) while day/month is a date in the coming
    months: "by 2/5" written on 10 April is 2 May, not 5 February next year.
    """
    if a > 12 or (b <= 12 and dayfirst is True):
        mon, day = b, a
    elif b > 12 or dayfirst is False:
        mon, day = a, b
    else:
        md = _infer_year(today, a, b, y)
        dm = _infer_year(today, b, a, y)
        if md is None or dm is None or a == b:
            return md or dm
        md_ahead, dm_ahead = (md - today).days, (dm - today).days
        md_far = md_ahead > _NEAR_MONTHS_DAYS or md_ahead < -14
        dm_near = -14 <= dm_ahead <= _NEAR_MONTHS_DAYS
        return dm if md_far and dm_near else md
    if mon > 12 or mon == 0 or day == 0:
        return None
    return _infer_year(today, mon, day, y)


def numeric_date_order(text: str) -> bool | None:
    """Whether ``text`` writes slash dates day/month (``True``), month/day (``False``), or can't tell.

    A date whose first number is over 12 ("24/4") proves day/month; one whose second is
    ("3/25") proves month/day; both, or neither, tells nothing. Pass the answer for a whole
    message as ``find_due(..., dayfirst=...)`` to read its other dates the same way.
    """
    dmy = mdy = False
    for m in _SLASH.finditer(text):
        a, b = int(m.group("a")), int(m.group("b"))
        if a > 12 >= b and b > 0:
            dmy = True
        elif b > 12 >= a and a > 0:
            mdy = True
    if dmy == mdy:
        return None
    return dmy


def _resolve(kind: str, m: re.Match[str], today: date, dayfirst: bool | None = None) -> date | None:
    """The day a phrase of ``kind`` names; ``None`` when it names none (raises :class:`_OutOfRange`)."""
    g = m.groupdict()
    if kind in ("eod_day", "day_part"):
        return _day_ref(g, today)
    if kind == "wd_week":
        base = _day_ref(g, today)
        return _plus(base, 7) if base is not None else None
    if kind == "wd_of_week":
        monday = _plus(today, -today.weekday())
        if g["nx"].lower() == "next":
            monday = _plus(monday, 7)
        return _plus(monday, WEEKDAYS[g["wd"].lower()])
    if kind == "mid":
        if g.get("mon"):
            return _infer_year(today, MONTHS[g["mon"].lower()], 15, int(g["y"]) if g.get("y") else None)
        if g.get("mo"):
            if g["mo"].lower().startswith("next") or today.day > 15:
                y, mo = _month_after(today)
                return _date(y, mo, 15)
            return _date(today.year, today.month, 15)
        monday = _plus(today, -today.weekday())
        if (g.get("wk") or "").lower().startswith("next") or today.weekday() > 2:
            monday = _plus(monday, 7)
        return _plus(monday, 2)
    if kind == "end_of_month_name":
        mon = MONTHS[g["mon"].lower()]
        if g.get("y"):
            return _last_day(int(g["y"]), mon)
        end = _last_day(today.year, mon)
        return end if end >= today else _last_day(today.year + 1, mon)
    if kind == "iso":
        return _safe_date(int(g["y"]), int(g["m"]), int(g["d"]))
    if kind == "mdy":
        return _slash_date(today, int(g["a"]), int(g["b"]), int(g["y"]) if g.get("y") else None, dayfirst)
    if kind == "dmy_dot":
        return _safe_date(int(g["y"]), int(g["m"]), int(g["d"]))
    if kind in ("month_day", "day_month"):
        mon = MONTHS[g["mon"].lower().rstrip(".")]
        return _infer_year(today, mon, int(g["d"]), int(g["y"]) if g.get("y") else None)
    if kind == "quarter":
        year = int(g["y"]) if g.get("y") else today.year
        end = _last_day(year, int(g["q"]) * 3)
        if not g.get("y") and end < today:
            end = _last_day(year + 1, int(g["q"]) * 3)
        return end
    if kind == "eoq":
        q_end = ((today.month - 1) // 3 + 1) * 3
        return _last_day(today.year, q_end)
    if kind == "eoy":
        return _date(today.year, 12, 31)
    if kind == "next_month":
        y, mo = _month_after(today)
        return _last_day(y, mo)
    if kind == "eom":
        return _last_day(today.year, today.month)
    if kind == "early_next_week":
        return _plus(today, 7 - today.weekday())
    if kind == "next_week":
        return _friday_of_week(today, 1)
    if kind == "eow":
        return _friday_of_week(today, 1 if today.weekday() >= 5 else 0)
    if kind == "next_wd":
        return _weekday_date(today, g["wd"], True)
    if kind == "wd":
        return _weekday_date(today, g["wd"], False)
    if kind == "tomorrow":
        return _plus(today, 1)
    if kind == "today":
        return today
    if kind == "in_n":
        raw = g["n"].lower()
        n = int(raw) if raw.isdigit() else _NUMWORDS[raw]
        unit = g["unit"].lower()
        if unit.startswith("hour"):
            return _plus(today, (n + 23) // 24 if n > 8 else 0)
        if unit.startswith("week"):
            return _plus(today, 7 * n)
        if g.get("biz"):
            return _add_business_days(today, n)
        return _plus(today, n)
    if kind == "in_few":
        return _plus(today, 2 if g["q"].lower() == "couple" else 3)
    if kind == "the_nth":
        day = int(g["d"])
        cand = _safe_date(today.year, today.month, day)
        if cand is not None and cand >= today:
            return cand
        y, mo = _month_after(today)
        return _safe_date(y, mo, day)
    return None


# Words that make a bare weekday a past reference or not a deadline at all.
_PAST_WD = re.compile(r"\b(?:last|past|previous|since)\s+$", re.I)


_DEADLINE_PREFIX = re.compile(r"\b(?:by|before|due|no later than|not later than|on or before)\s+$", re.I)
_NOT_DEADLINE_PREFIX = re.compile(
    r"\b(?:through|thru|since|from|after|last|past|between|starting|until|till|extended to)\s+(?:the\s+)?$",
    re.I,
)
_NEAR_TERM = frozenset({"today", "tomorrow", "in_n", "in_few"})
_LOOKBACK = 80
_DEADLINE_HEADS = ("by ", "before ", "due ")
_COMPOUND = frozenset({"eod_day", "day_part"})
_RANK = {kind: k for k, (kind, _) in enumerate(_PATTERNS)}


def _base_rank(kind: str, m: re.Match[str], rank: int) -> int:
    """Compound phrases tie-break like the plain phrase they build on ("Sunday morning" like "Sunday")."""
    if kind in _WD_KINDS and kind != "wd":
        return _RANK["wd"] if m.groupdict().get("wd") else _RANK["tomorrow"]
    if kind in ("mid", "end_of_month_name"):
        return _RANK["month_day"] if m.groupdict().get("mon") else rank
    return rank


def _candidates(
    sentence: str, today: date, scope_start: int, dayfirst: bool | None = None
) -> list[tuple[int, int, int, DueDate]]:
    out: list[tuple[int, int, int, DueDate]] = []
    skipped: list[tuple[int, int]] = []  # spans of past references and periods: nothing inside them counts
    low = sentence.lower()
    has_digit = _DIGIT.search(sentence, scope_start) is not None
    for rank, (kind, pat) in enumerate(_PATTERNS):
        keys = _KEYS[kind]
        if keys is None:
            if not has_digit:
                continue
        elif not any(k in low for k in keys):
            continue
        for m in pat.finditer(sentence, scope_start):
            at = m.start()  # what comes before the phrase is read only just before it (see _ends_with)
            if kind in _WD_KINDS and m.groupdict().get("wd"):
                if _ends_with(_PAST_WD, sentence, at):
                    skipped.append((m.start(), m.end()))
                    continue
                wd = m.group("wd")
                bare = kind == "wd" and m.start("wd") == m.start()
                if len(wd) <= 4 and (bare or not wd[0].isupper()):
                    continue  # "sat", "sun", "wed", "mon" alone are words, not days
            if kind == "wd_week" and not (m.group("aw") or m.group("wk") or m.group("rel")):
                continue  # a bare weekday: the "wd" rule's
            if (
                kind == "month_day"
                and m.group("mon").lower() in ("may", "mar")
                and not m.group("mon")[0].isupper()
            ):
                continue
            if kind == "mdy" and not m.group("y") and not _ends_with(_SLASH_PREFIX, sentence, at):
                continue  # "3/13" alone is ambiguous (a ratio, a score)
            head = m.group(0).lower()
            if _ends_with(_NOT_DEADLINE_PREFIX, sentence, at) or head.startswith(("until", "till", "from")):
                skipped.append((m.start(), m.end()))
                continue  # a period or a starting point, not a deadline
            if kind == "asap":
                found = DueDate(None, m.group(0), m.start(), m.end())
                cls = 3
            else:
                beyond = False
                try:
                    resolved = _resolve(kind, m, today, dayfirst)
                except _OutOfRange:  # a day past the calendar's ends: no date, the phrase stays
                    resolved, beyond = None, True
                if resolved is None and not beyond:
                    continue
                found = DueDate(resolved, m.group(0).strip(), m.start(), m.end(), beyond)
                event = _EVENT_PREFIX.search(sentence, max(scope_start, at - 80), at)
                if event is not None and event.start() >= scope_start:
                    found = DueDate(
                        resolved, sentence[event.start() : m.end()].strip(), event.start(), m.end(), beyond
                    )
                    cls = 0
                elif _ends_with(_DEADLINE_PREFIX, sentence, at) or head.startswith(_DEADLINE_HEADS):
                    cls = 0
                elif kind in _NEAR_TERM or (kind in _COMPOUND and m.group("rel")):
                    cls = 1
                else:
                    cls = 2
            out.append((cls, _base_rank(kind, m, rank), found.start, found))
    # A phrase inside a longer one ("COB" and "Thursday" in "COB Thursday") is part of it, not a rival;
    # nothing inside a skipped span counts.
    inside_skipped = _Covers(skipped)
    inside_longer = _Covers([(c[3].start, c[3].end) for c in out])
    return [
        c
        for c in out
        if not inside_skipped.covers(c[3].start, c[3].end, strictly=False)
        and not inside_longer.covers(c[3].start, c[3].end, strictly=True)
    ]


class _Covers:
    """Spans, asked whether one of them holds ``[start, end)`` (sorted once, each question O(log n)).

    ``strictly``: the holder must be a longer span (``[start, end)`` itself, or a copy, does not count).
    A sentence with thousands of date phrases asks once per phrase; comparing every pair is quadratic.
    """

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        spans = sorted(spans)
        self.starts = [a for a, _ in spans]
        self.reach: list[int] = []  # the farthest end of the spans up to each index
        for _, b in spans:
            self.reach.append(max(b, self.reach[-1]) if self.reach else b)
        self.widest: dict[int, int] = {}  # per start, the farthest end
        for a, b in spans:
            self.widest[a] = max(b, self.widest.get(a, b))

    def covers(self, start: int, end: int, *, strictly: bool) -> bool:
        if strictly:  # a span starting earlier that reaches as far, or one starting here that reaches farther
            k = bisect_left(self.starts, start)
            return (k > 0 and self.reach[k - 1] >= end) or self.widest.get(start, end) > end
        k = bisect_right(self.starts, start)
        return k > 0 and self.reach[k - 1] >= end


def _ends_with(rx: re.Pattern[str], sentence: str, end: int) -> bool:
    """``rx.search(sentence[:end])`` for a pattern anchored at the end (``$``) that matches a few words
    and the white space after them: only the last :data:`_LOOKBACK` characters before that white space
    are read, without copying the text (each of many phrases of a long sentence would read it all)."""
    j = end
    while j > 0 and sentence[j - 1].isspace():
        j -= 1
    return rx.search(sentence, max(0, j - _LOOKBACK), end) is not None


def find_due(
    sentence: str, now: datetime | date, scope_start: int = 0, dayfirst: bool | None = None
) -> DueDate | None:
    """The due phrase of ``sentence`` resolved against ``now``, or ``None``.

    Only phrases at or after ``scope_start`` count (the clause that holds the
    action). Preference: a phrase after "by/before/due" (a deadline), then a
    near-term phrase (today, tomorrow, in N days), then any other date; ties go
    to the more specific pattern, then to the earlier phrase. Dates after
    "through/since/from/until" are periods, not deadlines, and are skipped.
    A phrase inside a longer one ("COB" in "by COB Thursday") gives way to it.

    ``dayfirst`` says how the message writes slash dates (see
    :func:`numeric_date_order`); ``None`` reads it from the sentence itself.
    """
    today = now.date() if isinstance(now, datetime) else now
    if dayfirst is None:
        dayfirst = numeric_date_order(sentence)
    cands = _candidates(sentence, today, scope_start, dayfirst)
    if cands:
        cands.sort(key=lambda c: (c[0], c[1], c[2]))
        return _with_prefix(sentence, cands[0][3])
    return _fallback(sentence, today, scope_start)


def _with_prefix(sentence: str, found: DueDate) -> DueDate:
    """Include a preceding "by"/"before"/"until" in the phrase as written."""
    m = _PREFIX.search(sentence[: found.start])
    if m and not found.text.lower().startswith(("by ", "on ", "before ", "until ", "due ")):
        start = m.start()
        return DueDate(found.due, sentence[start : found.end].strip(), start, found.end, found.out_of_range)
    return found


def _fallback(sentence: str, today: date, scope_start: int = 0) -> DueDate | None:
    m = _FALLBACK.search(sentence, scope_start)
    if not m:
        return None
    phrase = m.group("p").strip(" ,.")
    low = phrase.lower()
    if not (any(ch.isdigit() for ch in phrase) or any(w in low.split() for w in MONTHS)):
        return None
    resolved = _dateparser(phrase, today.isoformat())
    if resolved is None:
        return None
    return DueDate(
        resolved, sentence[m.start() : m.start() + len(m.group(0).rstrip(" ,."))], m.start(), m.end()
    )


@lru_cache(maxsize=1024)
def _dateparser(phrase: str, base_iso: str) -> date | None:
    try:
        import dateparser
    except ImportError:  # pragma: no cover - dateparser is a dependency
        return None
    base = datetime.fromisoformat(base_iso)
    try:
        got = dateparser.parse(
            phrase,
            languages=["en"],
            settings={"RELATIVE_BASE": base, "PREFER_DATES_FROM": "future", "STRICT_PARSING": False},
        )
    except (OverflowError, ValueError):  # relative to a base at the calendar's ends: no date
        return None
    return got.date() if got else None
