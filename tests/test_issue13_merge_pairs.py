"""The merge pass judges only pairs that share a word stem (issue 13): it finds the pairs judging every
pair in the window finds, and judges fewer."""

from __future__ import annotations

import random
from datetime import date, timedelta

from store import merge_rules, merges
from store.merge_rules import Said

VERBS = ["send", "share", "review", "confirm", "schedule", "check", "update", "prepare"]
THINGS = [
    "pricing",
    "proposal",
    "contract",
    "security questionnaire",
    "SOC 2 report",
    "roadmap",
    "invoice",
    "sandbox access",
    "API limits",
    "onboarding plan",
    "case study",
    "renewal terms",
    "data export",
]


def _items(n: int, seed: int = 3) -> list[Said]:
    rng = random.Random(seed)
    start = date(2026, 9, 1)
    out = []
    for i in range(n):
        action = f"{rng.choice(VERBS)} the {rng.choice(THINGS)}"
        if rng.random() < 0.3:
            action += f" for {rng.choice(['Acme', 'Globex', 'Initech'])}"
        out.append(
            Said(
                id=i + 1,
                type="commitment",
                owner="Marco Rossi",
                owner_email="marco@northwind.io",
                counterparty="Dana Lee",
                counterparty_email="dana@acme.com",
                account=rng.choice(["1", "2", None]),
                action=action,
                due=None,
                said_on=start + timedelta(days=rng.randint(0, 40)),
                document=i + 1,
                thread=f"email:t{i}",
            )
        )
    return sorted(out, key=lambda x: (x.said_on, x.id))


def _full_scan(items: list[Said]) -> set[tuple[int, int]]:
    found = set()
    for i, a in enumerate(items):
        for b in items[i + 1 :]:
            if (b.said_on - a.said_on).days > merge_rules.WINDOW_DAYS:
                break
            if merge_rules.judge(a, b).same:
                found.add((a.id, b.id))
    return found


def test_blocking_finds_every_pair_the_full_scan_finds() -> None:
    items = _items(400)
    pairs = list(merges._pairs(items))
    blocked = {(a.id, b.id) for a, b in pairs if merge_rules.judge(a, b).same}
    full = _full_scan(items)
    assert len(full) > 50
    assert blocked == full
    every = sum(
        1
        for i, a in enumerate(items)
        for b in items[i + 1 :]
        if (b.said_on - a.said_on).days <= merge_rules.WINDOW_DAYS
    )
    assert len(pairs) < every / 2  # fewer judged: pairs that share no word are not
