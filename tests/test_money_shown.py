"""Amounts in narrow listings read as money: $500, $1.5k, $120k, $1.2M (never "$0k" for $500)."""

from __future__ import annotations

from pathlib import Path

import pytest

from followthrough.types import Account, CrmData, Deal
from store import Store, money
from tests.clirunner import followthrough


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (500, "$500"),
        (999, "$999"),
        (999.6, "$1k"),
        (1500, "$1.5k"),
        (12_500, "$13k"),  # halves up, as $12.5M does not round down either
        (120_000, "$120k"),
        (999_499, "$999k"),
        (999_500, "$1M"),  # never $1000k
        (1_250_000, "$1.3M"),
        (999_999_999, "$1B"),
        (-500, "-$500"),
    ],
)
def test_money(amount: float, shown: str) -> None:
    assert money(amount) == shown


def test_narrow_deals_and_accounts_listings_show_small_amounts(tmp_path: Path) -> None:
    db = tmp_path / "ft.db"
    with Store(f"sqlite:///{db}") as s:
        s.upsert_crm(
            CrmData(
                accounts=[Account(name="Tiny Co")],
                deals=[
                    Deal(crm_id="D-1", name="Starter pack", account_name="Tiny Co", stage="Demo", amount=500)
                ],
            )
        )
    for command in ("deals", "accounts"):
        out = followthrough(command, db=db, env={"COLUMNS": "80"})
        assert out.returncode == 0, out.stderr
        line = next(line for line in out.stdout.splitlines() if "Tiny Co" in line or "Starter" in line)
        assert "$500" in line and "$0k" not in line, out.stdout
