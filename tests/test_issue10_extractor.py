"""Issue 10 (offline side): every text pattern of the extractor is linear, and no date overflows.

* Each compiled pattern found in the extractor's modules (module globals, and the tuples, dicts, cue
  tables and closures they hold) is timed on hostile inputs of 2,000 and 32,000 characters: runs of word
  characters, spaces, dots, "@", "a." pairs, newlines, mixtures, and each pattern's own words followed by
  long runs. Growth must be near linear (16x the text may take at most ~40x the time).
* The whole offline extractor reads a 200,000-character hostile document in bounded time.
* Due dates near ``date.min``/``date.max`` never raise: a date that would fall outside the calendar is no
  date (the phrase is kept).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import time
import types
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import extractor
from extractor.due_dates import normalize_due
from extractor.offline.dates import _PATTERNS, MONTHS, WEEKDAYS, find_due
from followthrough.types import Participant, Segment, SourceDocument

# --------------------------------------------------------------------------- every pattern is linear

SMALL = 1_000
LARGE = 8_000
GROWTH = 24.0  # allowed time ratio for 8x the text (linear: 8x; quadratic: 64x)
SLACK_S = 0.01  # absolute slack for timer noise on a busy 2-core runner


def _extractor_modules() -> list[types.ModuleType]:
    mods = [extractor]
    for info in pkgutil.walk_packages(extractor.__path__, "extractor."):
        mods.append(importlib.import_module(info.name))
    return mods


def _patterns() -> dict[str, re.Pattern[str]]:
    """Every compiled pattern reachable from the extractor's module globals, by where it was found."""
    found: dict[int, tuple[str, re.Pattern[str]]] = {}
    seen: set[int] = set()

    def visit(obj: object, where: str, depth: int) -> None:
        if depth > 6 or id(obj) in seen:
            return
        if isinstance(obj, re.Pattern):
            if isinstance(obj.pattern, str):
                found.setdefault(id(obj), (where, obj))
            return
        if isinstance(obj, str | bytes | int | float | bool | type(None) | types.ModuleType | type):
            return
        seen.add(id(obj))
        if isinstance(obj, dict):
            for k, v in obj.items():
                visit(v, f"{where}[{k!r}]", depth + 1)
        elif isinstance(obj, tuple | list | set | frozenset):
            for i, v in enumerate(obj):
                visit(v, f"{where}[{i}]", depth + 1)
        elif isinstance(obj, types.FunctionType):
            if obj.__module__.startswith("extractor"):
                for i, cell in enumerate(obj.__closure__ or ()):
                    try:
                        visit(cell.cell_contents, f"{where}<closure {i}>", depth + 1)
                    except ValueError:  # an empty cell
                        pass
        elif type(obj).__module__.startswith("extractor"):
            for k, v in getattr(obj, "__dict__", {}).items():
                visit(v, f"{where}.{k}", depth + 1)
            for k in getattr(type(obj), "__slots__", ()):  # a slotted object (a prefiltered pattern)
                if hasattr(obj, k):
                    visit(getattr(obj, k), f"{where}.{k}", depth + 1)
            for cls in type(obj).__mro__:
                for k in getattr(cls, "__slots__", ()):
                    if hasattr(obj, k):
                        visit(getattr(obj, k), f"{where}.{k}", depth + 1)

    for mod in _extractor_modules():
        for name, value in vars(mod).items():
            visit(value, f"{mod.__name__}.{name}", 0)
    return dict(found.values())


PATTERNS = _patterns()

# Runs that make a careless pattern retry from every character (or split a run every possible way).
_UNITS = (
    "a",
    " ",
    "\t ",
    "\n",
    ".",
    "@",
    "a.",
    "a@a.",
    "a-",
    "?",
    "?!",
    "-",
    "=",
    ", ",
    "'a",
    "1/",
    "(",
    "[",
    "#",
    "*",
    "`",
    "。",
    "…",
    "ab ",
    "Ab Cd ",
    "uh ",
    "uh-huh ",
    "yeahmm ",
    "http://a",
    "a@b.c a.",
    "a . ? \n",
)


def _fill(unit: str, n: int) -> str:
    return (unit * (n // len(unit) + 1))[:n]


# --- pumped witnesses: a string the pattern starts to match, with one of its repeats pumped long ---------

_PROBES = tuple("aA !1.@-\n?',:/_(#*`x")
_CATEGORY = {
    "CATEGORY_DIGIT": r"\d",
    "CATEGORY_NOT_DIGIT": r"\D",
    "CATEGORY_SPACE": r"\s",
    "CATEGORY_NOT_SPACE": r"\S",
    "CATEGORY_WORD": r"\w",
    "CATEGORY_NOT_WORD": r"\W",
    "CATEGORY_LINEBREAK": r"\n",
    "CATEGORY_NOT_LINEBREAK": r"[^\n]",
}
_REPEATS = frozenset({"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"})


def _in_set(ch: str, items: Any) -> bool:
    hit, negate = False, False
    for op, av in items:
        name = str(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            hit |= ord(ch) == av
        elif name == "RANGE":
            hit |= av[0] <= ord(ch) <= av[1]
        elif name == "CATEGORY":
            hit |= re.match(_CATEGORY.get(str(av), r"(?!)"), ch) is not None
    return hit != negate


def _witness(seq: Any) -> str:
    """A short string that the parsed sequence ``seq`` matches (lookarounds and anchors left out)."""
    out: list[str] = []
    for op, av in seq:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(av))
        elif name == "NOT_LITERAL":
            out.append("a" if av != ord("a") else "b")
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            out.append(next((c for c in _PROBES if _in_set(c, av)), "a"))
        elif name in _REPEATS:
            out.append(_witness(av[2]) * av[0])
        elif name == "SUBPATTERN":
            out.append(_witness(av[-1]))
        elif name == "ATOMIC_GROUP":
            out.append(_witness(av))
        elif name == "BRANCH":
            out.append(_witness(av[1][0]))
    return "".join(out)


def _rounds(seq: Any) -> list[str]:
    """One round of a repeat of ``seq``: its witness, and for one character, up to three of them."""
    first = _witness(seq)
    if len(seq) == 1 and str(seq[0][0]) == "IN":
        return [c for c in _PROBES if _in_set(c, seq[0][1])][:3]
    return [first] if first else []


def _pumps(seq: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(prefix, unit) for each long repeat of ``seq``: the text that leads to it, one round of it."""
    for k, (op, av) in enumerate(seq):
        name = str(op)
        if name in _REPEATS:
            if av[1] > 16:
                for unit in _rounds(av[2]):
                    yield prefix, unit
            yield from _pumps(av[2], prefix)
        elif name == "SUBPATTERN":
            yield from _pumps(av[-1], prefix)
        elif name == "ATOMIC_GROUP":
            yield from _pumps(av, prefix)
        elif name == "BRANCH":
            for alt in av[1]:
                yield from _pumps(alt, prefix)
        prefix += _witness(seq[k : k + 1])


def _pumped(rx: re.Pattern[str], limit: int = 24) -> list[tuple[str, str]]:
    """Up to ``limit`` pumps of ``rx``, spread over its alternatives (a classic ReDoS probe each)."""
    from re import _parser  # type: ignore[attr-defined]

    found = list(dict.fromkeys(_pumps(_parser.parse(rx.pattern, rx.flags))))
    step = max(1, -(-len(found) // limit))
    return found[::step]


def _inputs(rx: re.Pattern[str], n: int) -> Iterator[tuple[str, str]]:
    for unit in _UNITS:
        text = _fill(unit, n)
        yield unit, text
        yield unit + "|x", text[: n - 1] + "x"  # the run ends in something no pattern expects
    for prefix, unit in _pumped(rx):
        body = prefix + _fill(unit, n)
        for end in ("\x01", " \x01", "x"):  # then something the pattern does not expect
            yield f"{prefix!r} + {unit!r}... + {end!r}", body[: n - len(end)] + end
        if prefix:  # a start at every round: each one reads on to the end
            yield f"({prefix + unit!r})...", _fill(prefix + unit, n - 2) + " \x01"


def _run(rx: re.Pattern[str], text: str) -> Callable[[], object]:
    def go() -> object:
        rx.search(text)
        rx.match(text)
        return sum(1 for _ in rx.finditer(text))

    return go


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _grows_too_fast(rx: re.Pattern[str], small: str, big: str, allowed: float) -> tuple[bool, float, float]:
    """Whether ``big`` takes more than ``allowed`` times ``small`` (plus slack), timed robustly.

    A first measure decides when it passes; a failure is measured again, small and big interleaved
    several times, the best of each kept: a busy machine slows both alike and spikes are filtered out.
    """
    t_small = min(_time(_run(rx, small)) for _ in range(2))
    t_big = _time(_run(rx, big))
    if t_big <= allowed * t_small + SLACK_S:
        return False, t_small, t_big
    for _ in range(3):
        t_small = min(t_small, _time(_run(rx, small)))
        t_big = min(t_big, _time(_run(rx, big)))
    return t_big > allowed * t_small + SLACK_S, t_small, t_big


def _is_linear(rx: re.Pattern[str]) -> list[str]:
    """The inputs on which ``rx`` grows faster than linearly (empty when it is linear)."""
    slow: list[str] = []
    small = dict(_inputs(rx, SMALL))
    mid = dict(_inputs(rx, LARGE // 4))
    large = dict(_inputs(rx, LARGE))
    for name in small:
        # 4x first: a super-linear pattern is caught here before the 32k text could take minutes.
        too_fast, t_small, t_mid = _grows_too_fast(rx, small[name], mid[name], 10.0)
        if too_fast:
            slow.append(f"{name}: {t_small * 1e3:.2f} ms at {SMALL}, {t_mid * 1e3:.1f} ms at {LARGE // 4}")
            continue
        too_fast, t_small, t_big = _grows_too_fast(rx, small[name], large[name], GROWTH)
        if too_fast:
            slow.append(f"{name}: {t_small * 1e3:.2f} ms at {SMALL}, {t_big * 1e3:.1f} ms at {LARGE}")
    return slow


def test_the_walk_finds_the_patterns_it_must() -> None:
    names = set(PATTERNS)
    for expected in (
        "extractor.offline.units._URL",
        "extractor.offline.features._EMAIL",
        "extractor.offline.sentences._BOUNDARY",
        "extractor.wire._FENCE",
    ):
        assert expected in names
    # the cue table's patterns (closures and gated patterns) and the date table's
    # (a cue's patterns are found through its closure or through the prefilter gate holding them)
    assert any(
        n.startswith(("extractor.offline.cues.CUES[", "extractor.offline.cues._GATES[")) for n in names
    )
    assert sum(n.startswith("extractor.offline.dates._PATTERNS[") for n in names) == len(_PATTERNS)
    assert len(PATTERNS) > 120


@pytest.mark.timing
@pytest.mark.timeout(900)
@pytest.mark.parametrize("where", sorted(PATTERNS))
def test_pattern_is_linear(where: str) -> None:
    slow = _is_linear(PATTERNS[where])
    assert not slow, f"{where} ({PATTERNS[where].pattern[:80]!r}...) grows faster than linearly: {slow}"


# --------------------------------------------------------------------------- the whole extractor

_BLOCKS = (
    "I will" + " " * 4_000 + "x\n",
    "a" * 6_000 + "\n",
    "a." * 3_000 + "\n",
    "a@" * 3_000 + "\n",
    "dana.lee@acme.com " * 300 + "\n",
    "> quoted\nI'll send it.\n" * 250,
    "I will send the deck by Friday and I'll call you tomorrow and " * 100 + "\n",
    '"' + "I will send it " * 400 + "\n",
    "we, and we will, " * 400 + "\n",
    "Could you send a/b by 3/4? " * 250 + "\n",
    "I'll send it " + "Friday " * 900 + "\n",
    "because " + "?" * 5_000 + "x\n",
    "uh-huh " * 700 + "x\n",
    "yeahmm " * 700 + "x\n",
    "confidential " * 500 + "\n",
    "Action items:\n" + "- Dana to send it\n" * 300,
    "I'll send it" + ", " * 2_000 + "x\n",
    "- Send it" + " " * 4_000 + "(Dana Lee)\n",
    "uh, um, " * 600 + "\n",
    "I'll I'll " * 500 + "\n",
    "-" * 5_000 + "x\n",
    "=" * 5_000 + "x\n",
    "。!" * 2_500 + "x\n",
    "so I can " * 600 + "\n",
    "Action item" + " " * 4_000 + "x\n",
    "http://a.b/" + "c" * 5_000 + " and " + "www." * 1_000 + "\n",
)


def _hostile(n: int) -> str:
    out: list[str] = []
    size = 0
    while size < n:
        for block in _BLOCKS:
            out.append(block)
            size += len(block)
    return "".join(out)[:n]


@pytest.mark.timeout(120)
def test_offline_extractor_reads_200k_of_hostile_text_in_bounded_time() -> None:
    from extractor.offline import OfflineExtractor

    text = _hostile(200_000)
    who = [
        Participant(name="Dana Lee", email="dana@acme.com", role="sender"),
        Participant(name="Marco Rossi", email="marco@northwind.io", role="recipient"),
    ]
    now = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
    email = SourceDocument(
        source="email", external_id="<hostile@x>", occurred_at=now, participants=who, text=text
    )
    turns: list[Segment] = []
    pos = 0
    for k, line in enumerate(text.splitlines(keepends=True)):
        if line.strip():
            speaker = ("Dana Lee", "Marco Rossi", f"Guest {k % 300}")[k % 3]
            turns.append(Segment(speaker=speaker, char_start=pos, char_end=pos + len(line), text=line))
        pos += len(line)
    meeting = SourceDocument(
        source="meeting",
        external_id="hostile-meeting",
        occurred_at=now,
        participants=who,
        segments=turns,
        text=text,
    )
    ex = OfflineExtractor(company_domains={"northwind.io"})
    for doc in (email, meeting):
        started = time.perf_counter()
        ex.extract(doc)
        elapsed = time.perf_counter() - started
        print(f"offline extractor, 200,000 hostile characters ({doc.source}): {elapsed:.2f} s")
        assert elapsed < 20.0


# --------------------------------------------------------------------------- dates at the calendar's ends

EXTREMES = (
    datetime.max,
    datetime.min,
    datetime.max.replace(tzinfo=UTC),
    datetime.min.replace(tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-12))),
    datetime(9999, 12, 27),  # a Monday: "next week" is past the end
    datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=14))),
    date.max,
    date.min,
)

# The dates module's own vocabulary: every weekday and month word, every relative phrase it knows.
_PHRASES = sorted(
    {
        *WEEKDAYS,
        *(f"next {w}" for w in WEEKDAYS),
        *(f"{w} week" for w in WEEKDAYS),
        *(f"a week from {w}" for w in WEEKDAYS),
        *(f"{w} of next week" for w in WEEKDAYS),
        *(f"{w} of this week" for w in WEEKDAYS),
        *(f"{w} morning" for w in WEEKDAYS),
        *(f"COB {w}" for w in WEEKDAYS),
        *(f"{m} 13" for m in MONTHS),
        *(f"13 {m}" for m in MONTHS),
        *(f"end of {m}" for m in MONTHS),
        *(f"mid-{m}" for m in MONTHS),
        "today",
        "tonight",
        "tomorrow",
        "tomorrow EOD",
        "EOD",
        "end of day",
        "this week",
        "end of the week",
        "EOW",
        "next week",
        "end of next week",
        "early next week",
        "midweek",
        "mid next week",
        "this month",
        "end of the month",
        "EOM",
        "next month",
        "end of next month",
        "mid-month",
        "the middle of next month",
        "end of the quarter",
        "EOQ",
        "end of the year",
        "EOY",
        "Q1",
        "Q2",
        "Q3",
        "Q4",
        "end of Q4 2026",
        "in 3 days",
        "in 999 weeks",
        "within 48 hours",
        "in 5 business days",
        "in a couple of days",
        "in a few days",
        "a week from today",
        "a week from tomorrow",
        "the 31st",
        "the 1st",
        "3/13",
        "12/31",
        "1/1",
        "2/29",
        "24/4",
        "2026-03-13",
        "13.03.2026",
        "asap",
        "before our call on Monday",
        "no later than Friday",
        "first thing Monday",
        "by the end of business day tomorrow",
    }
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    phrase=st.sampled_from(_PHRASES),
    lead=st.sampled_from(["", "by ", "on ", "before ", "due ", "I'll send it ", "Could you reply "]),
    now=st.one_of(
        st.sampled_from(EXTREMES),
        st.datetimes(min_value=datetime(9999, 12, 1)),
        st.datetimes(max_value=datetime(1, 1, 31)),
        st.dates(min_value=date(9999, 11, 1)),
        st.dates(max_value=date(1, 2, 1)),
    ),
)
def test_due_phrases_never_overflow_at_the_calendars_ends(
    phrase: str, lead: str, now: datetime | date
) -> None:
    sentence = f"{lead}{phrase}."
    found = find_due(sentence, now)
    if found is not None:
        assert found.text and found.text in sentence  # the phrase as written
        if found.due is not None:
            assert date.min <= found.due <= date.max and not found.out_of_range
    today = now.date() if isinstance(now, datetime) else now
    due, text = normalize_due(phrase, today)
    assert text == phrase
    normalize_due(None, today, evidence=sentence)


@pytest.mark.parametrize("phrase", ["tomorrow", "next week", "in 2 weeks", "end of next month", "Monday"])
def test_a_day_past_the_calendar_is_no_date_but_keeps_the_phrase(phrase: str) -> None:
    found = find_due(f"I'll send it {phrase}.", datetime(9999, 12, 31, 18, 0))
    assert found is not None and found.due is None and found.out_of_range
    assert found.text == phrase
    assert normalize_due(phrase, date.max) == (None, phrase)
    assert normalize_due(None, date.max, evidence=f"I'll send it {phrase}.") == (None, phrase)


@pytest.mark.parametrize(
    "when",
    [
        datetime.max.replace(tzinfo=UTC),
        datetime(9999, 12, 31, 8, 0, tzinfo=timezone(timedelta(hours=-12))),
        datetime.min.replace(tzinfo=UTC),
    ],
)
def test_offline_extractor_on_a_message_dated_at_the_ends(when: datetime) -> None:
    from extractor.offline import OfflineExtractor

    doc = SourceDocument(
        source="email",
        external_id="<y10k@x>",
        occurred_at=when,
        participants=[Participant(name="Marco Rossi", email="marco@northwind.io", role="sender")],
        text="I'll send you the signed contract tomorrow. Could you confirm the address by next Friday?",
    )
    ex = OfflineExtractor()
    result = ex.run_safely(doc)
    assert not isinstance(result, Exception)
    promise = next(i for i in result.items if i.type == "commitment")
    assert promise.due_text == "tomorrow"
    assert "urgent" not in promise.flags  # no date is not "ASAP"
    if when.year == 9999:
        assert promise.due is None
    else:
        assert promise.due == date(1, 1, 2)
