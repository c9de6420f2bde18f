"""Deal stages, account tiers and the priority score that says why an item matters.

Pure functions, no database. The score adds up what is at stake:

- the deal's amount, scaled by how far along its stage is
  (``10 * log10(1 + amount / 10k) * stage_weight``; $120k in Negotiation → ~11);
- lateness: ``5 + 2 * days overdue`` (capped at 40); due within 3 days: +4;
- an inbound request still unanswered past its response target, as late as
  an overdue item: ``5 + 2 * days past the target`` (capped at 40);
- the account tier: tier 1 (or Enterprise/Strategic) +8, tier 2 (or Mid-Market) +4;
- an inbound request (someone asked us): +3; a low-confidence item: -2.

Each part that contributes also adds a human reason
("$120k deal in Negotiation", "3 days overdue", "unanswered 30h (target 24h)", "tier 1 account").
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import NamedTuple

from followthrough.types import tier_rank

# Keyword → rank: later stages rank higher. Covers common custom names and the
# internal ids of HubSpot's default pipeline and Salesforce's default stages.
_STAGE_RANKS: list[tuple[str, int]] = [
    ("closedwon", 9),
    ("closed won", 9),
    ("closedlost", 9),
    ("closed lost", 9),
    ("contractsent", 6),
    ("contract", 6),
    ("negotiat", 6),
    ("commit", 6),
    ("legal", 6),
    ("procurement", 6),
    ("decisionmakerboughtin", 5),
    ("decision", 5),
    ("proposal", 5),
    ("quote", 5),
    ("pricing", 5),
    ("perception analysis", 4),
    ("id. decision makers", 4),
    ("presentationscheduled", 4),
    ("evaluat", 4),
    ("validation", 4),
    ("technical", 4),
    ("poc", 4),
    ("pilot", 4),
    ("trial", 4),
    ("demo", 3),
    ("value proposition", 3),
    ("needs analysis", 3),
    ("qualifiedtobuy", 2),
    ("qualif", 2),
    ("discovery", 2),
    ("appointmentscheduled", 1),
    ("prospect", 1),
    ("lead", 1),
]

_STAGE_WEIGHT = {0: 0.5, 1: 0.3, 2: 0.4, 3: 0.5, 4: 0.6, 5: 0.8, 6: 1.0}


def is_closed(stage: str | None) -> bool:
    """Closed Won / Closed Lost (any spelling: ``closedwon``, ``Closed - Lost``)."""
    if not stage:
        return False
    s = re.sub(r"[\s_\-]+", "", stage.lower())
    return s.startswith("closed") or s in {"won", "lost"}


@lru_cache(maxsize=1024)
def stage_rank(stage: str | None) -> int:
    """How far along a stage is: 0 unknown, 1 (lead) … 6 (negotiation/contract)."""
    if not stage:
        return 0
    s = stage.lower()
    if is_closed(stage):
        return 0
    for key, rank in _STAGE_RANKS:
        if key in s:
            return rank
    return 0


def stage_weight(stage: str | None) -> float:
    return _STAGE_WEIGHT.get(stage_rank(stage), 0.5)


def money(amount: float) -> str:
    """$950, $1.5k, $13k, $120k, $1.2M, $3B, -$500: rounded half up to what is shown, in the
    smallest unit that shows it under 1000 ($999,500 reads $1M, never $1000k)."""
    if amount < 0:
        return "-" + money(-amount)
    if _half_up(amount, 0) < 1000:
        return f"${_half_up(amount, 0):.0f}"
    for unit, size in (("k", 1e3), ("M", 1e6)):
        places = 1 if amount / size < 9.9995 else 0 if unit == "k" else 1
        shown = _half_up(amount / size, places)
        if shown < 1000:
            return f"${shown:.{places}f}".removesuffix(".0") + unit
    return f"${_half_up(amount / 1e9, 1):.1f}".removesuffix(".0") + "B"


def _half_up(value: float, places: int) -> float:
    """``value`` rounded to ``places`` decimals, halves away from zero (``round`` rounds them to even)."""
    scale = 10.0**places
    return math.floor(value * scale + 0.5) / scale


class Stake(NamedTuple):
    """What the score looks at for one commitment (a named tuple: one is built per item a report
    ranks, and a frozen dataclass costs several times as much to build)."""

    type: str
    due: date | None
    is_open: bool
    confidence: float = 0.5
    amount: float | None = None
    stage: str | None = None
    tier: str | None = None
    age_hours: float | None = None
    """An open request's age (:func:`age_hours`); ``None`` for anything else."""
    response_hours: float | None = None
    """The hours within which a request should be answered, for its account's tier; ``None``: no target."""


def as_of_moment(as_of: date, now: datetime | None = None) -> datetime:
    """The instant ages are counted to: ``now`` (UTC) when ``as_of`` is today, else the end of that day."""
    now = now or datetime.now(UTC)
    return now if as_of == now.date() else datetime.combine(as_of, time.max, tzinfo=UTC)


def age_hours(asked_at: datetime, as_of: date, now: datetime | None = None) -> float:
    """Hours from ``asked_at`` (timezone-aware) to :func:`as_of_moment`, one decimal, never negative."""
    return max(0.0, round((as_of_moment(as_of, now) - asked_at).total_seconds() / 3600, 1))


def overdue_days(due: date | None, as_of: date, is_open: bool) -> int | None:
    if due is None or not is_open or due >= as_of:
        return None
    return (as_of - due).days


def score(stake: Stake, as_of: date) -> tuple[float, list[str]]:
    """The priority of one commitment on ``as_of`` and the reasons for it."""
    return _scored(stake, as_of, [])


def points(stake: Stake, as_of: date) -> float:
    """:func:`score`'s priority alone, without putting the reasons into words (a report ranks every
    open item and shows the reasons of a few)."""
    return _scored(stake, as_of, None)[0]


def _scored(stake: Stake, as_of: date, reasons: list[str] | None) -> tuple[float, list[str]]:
    """The priority, and into ``reasons`` (unless ``None``) why."""
    value = 1.0
    if stake.amount:
        value += 10 * math.log10(1 + stake.amount / 10_000) * stage_weight(stake.stage)
        if reasons is not None:
            where = f" in {stake.stage}" if stake.stage else ""
            reasons.append(f"{money(stake.amount)} deal{where}")
    late = overdue_days(stake.due, as_of, stake.is_open)
    if late is not None:
        value += min(40.0, 5 + 2 * late)
        if reasons is not None:
            reasons.append("1 day overdue" if late == 1 else f"{late} days overdue")
    elif stake.is_open and stake.due is not None and (stake.due - as_of).days <= 3:
        days = (stake.due - as_of).days
        value += 4
        if reasons is not None:
            reasons.append(
                "due today" if days == 0 else ("due tomorrow" if days == 1 else f"due in {days} days")
            )
    age, target = stake.age_hours, stake.response_hours
    if stake.is_open and age is not None and target is not None and age > target:
        value += min(40.0, 5 + 2 * (age - target) / 24)
        if reasons is not None:
            reasons.append(f"unanswered {age:.0f}h (target {target:g}h)")
    tier = tier_rank(stake.tier)
    if tier in (1, 2):
        value += 8 if tier == 1 else 4
        if reasons is not None:
            named = stake.tier and not re.search(r"\d", stake.tier)
            reasons.append(f"{stake.tier} account" if named else f"tier {tier} account")
    if stake.type == "request":
        value += 3
        if reasons is not None:
            reasons.append("customer request")
    if stake.confidence < 0.4:
        value -= 2
        if reasons is not None:
            reasons.append("low confidence")
    return round(max(value, 0.0), 2), reasons if reasons is not None else []
