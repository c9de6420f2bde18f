"""A transcript with names only: with our people known from the CRM, the other speakers are the customer."""

from __future__ import annotations

import json
from pathlib import Path

from tests.clirunner import followthrough
from tests.conftest import SHARED

VTT = SHARED / "regressions" / "teams-transcript-no-date" / "Contoso weekly sync.vtt"
DEALS = (
    "deal_id,deal_name,account_name,account_domain,stage,amount,close_date,owner_email,owner_name\n"
    "D-1,Contoso Renewal,Contoso,contoso.example,Negotiation,50000,2026-04-30,"
    "marco@northwind.example,Marco Rossi\n"
    "D-2,Contoso SSO,Contoso,contoso.example,Discovery,10000,2026-05-30,priya@northwind.example,Priya Shah\n"
)


def test_customer_speaker_promise_is_theirs_and_ours_keep_their_dates(tmp_path: Path) -> None:
    assert VTT.is_file(), f"regression case missing: {VTT}"
    crm = tmp_path / "deals.csv"
    crm.write_text(DEALS, encoding="utf-8")
    db = tmp_path / "m.db"
    run = followthrough("--as-of", "2026-03-20", "run", "--date", "2026-03-17", crm, VTT, db=db)
    assert run.returncode == 0, run.stderr
    rows = [
        json.loads(x) for x in followthrough("export", "--format", "jsonl", db=db).stdout.splitlines() if x
    ]
    by = {r["evidence"][:24]: r for r in rows}
    alex = by["I'll get the PO number t"]
    assert alex["status"] == "waiting" and "customer_promise" in alex["flags"] and alex["due"] == "2026-03-20"
    assert by["I'll send the updated DP"]["due"] == "2026-03-18"
    assert by["I'll send the updated DP"]["owner"] == "marco@northwind.example"
    assert by["And I'll set up the Azur"]["due"] == "2026-03-24"
    assert by["We will also send a draf"]["due"] == "2026-03-31"
    (ask,) = [r for r in rows if r["type"] == "request"]
    assert ask["owner"] == "marco@northwind.example"  # put to the room; Marco takes the floor
