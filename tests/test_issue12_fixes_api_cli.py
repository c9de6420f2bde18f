"""Issue 12, what a new user found in the API and the CLI:

* a meeting sent to ``POST /v1/documents`` has its ``Name: text`` turns read as the meeting connectors
  read them (the speaker resolved to a participant), so it gives the same items as the same notes read
  from a file: our promise open and ours, the customer's waiting and theirs;
* ``accounts --silent`` and ``GET /v1/accounts?silent=true`` rank silent accounts as the run report does
  (what is at stake), across pages too;
* ``deals`` and ``accounts`` at 80 and 120 columns with Salesforce-style ids and long names: the ids
  whole, the names wrapped in a column of a sensible width, optional columns left out first;
* small ones: each tiered setting's error shows its own example; an empty ``--owner`` is a usage error;
  ``answered`` is for requests; a corrected owner decides whether a commitment is ours (open) or the
  customer's (waiting).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from followthrough.api import create_app
from followthrough.cli.tables import NAME_MIN_WIDTH
from followthrough.config import Settings, response_hours, silent_days
from followthrough.errors import ConfigError
from followthrough.types import Account, CrmData, Deal, ItemFlag
from store import AccountFilter, InvalidStatus, Store
from store.api_tokens import ApiTokens
from tests.api_support import BACKENDS, LiveServer, database
from tests.clirunner import followthrough

AS_OF = date(2026, 3, 16)
OURS = {"northwind.io"}
ALICE = ("Alice Ng", "alice@northwind.io")
FRAN = ("Fran Ortiz", "fran@acme.com")
TURNS = (
    "Alice: I will send you the rollout checklist by Wednesday.\n"
    "Fran: I will send you the signed NDA by Tuesday.\n"
)


def _items(rows: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    return {(r["type"], r["owner"], r["status"], r["action"], r["due"]) for r in rows}


# ---------------------------------------------------------------- meetings through the API


@pytest.fixture(params=BACKENDS)
def writer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, httpx.Client]]:
    """The database URL and a client with a writing token, against the offline extractor."""
    with database(request.param, "issue12_fixes", tmp_path) as url:
        with Store(url) as s:
            _, token = ApiTokens(s.engine).create("t")
        settings = Settings(database_url=url, as_of=AS_OF, company_domains=OURS)
        with LiveServer(create_app(url, as_of=AS_OF, settings=settings)) as server:
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
                yield url, client


def test_an_api_meeting_attributes_each_turn_to_its_speaker(writer: tuple[str, httpx.Client]) -> None:
    _, client = writer
    body = {
        "source": "meeting",
        "occurred_at": "2026-03-10T15:00:00+00:00",
        "title": "Acme rollout sync",
        "text": TURNS,
        "participants": [
            {"name": ALICE[0], "email": ALICE[1], "role": "attendee"},
            {"name": FRAN[0], "email": FRAN[1], "role": "attendee"},
        ],
    }
    r = client.post("/v1/documents", json=body)
    assert r.status_code in (200, 201), r.text
    items = {i["evidence"]: i for i in r.json()["items"]}
    ours = items["I will send you the rollout checklist by Wednesday."]
    theirs = items["I will send you the signed NDA by Tuesday."]
    assert (ours["owner"], ours["status"]) == (ALICE[1], "open")
    assert (theirs["owner"], theirs["status"]) == (FRAN[1], "waiting")
    assert ItemFlag.CUSTOMER_PROMISE in theirs["flags"]
    listed = client.get("/v1/commitments", params={"status": "all"}).json()["items"]
    assert _items(listed) == _items(list(items.values()))


def test_an_api_meeting_gives_the_items_the_same_notes_give_from_a_file(
    writer: tuple[str, httpx.Client], tmp_path: Path
) -> None:
    _, client = writer
    text = "Pricing is fine.\n\n" + TURNS + "\n## Action items\n- Fran: share the data export by Friday\n"
    participants = [
        {"name": ALICE[0], "email": ALICE[1], "role": "attendee"},
        {"name": FRAN[0], "email": FRAN[1], "role": "attendee"},
    ]
    body = {"source": "meeting", "occurred_at": "2026-03-10T12:00:00+00:00", "text": text}
    r = client.post("/v1/documents", json={**body, "title": "Acme sync", "participants": participants})
    assert r.status_code in (200, 201), r.text
    by_api = _items(r.json()["items"])

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "acme-sync.md").write_text(
        "# Acme sync\nDate: 2026-03-10\n"
        f"Attendees: {ALICE[0]} <{ALICE[1]}>, {FRAN[0]} <{FRAN[1]}>\n\n" + text,
        encoding="utf-8",
    )
    db = tmp_path / "notes.db"
    run = followthrough(
        "--as-of", AS_OF.isoformat(), "--company-domains", "northwind.io", "run", notes, db=db
    )
    assert run.returncode == 0, run.stderr
    listed = followthrough(
        "--as-of", AS_OF.isoformat(), "commitments", "list", "--status", "all", "--json", db=db
    )
    by_file = _items(json.loads(listed.stdout))
    assert by_api == by_file
    assert {(owner, status) for _, owner, status, _, _ in by_api} == {
        (ALICE[1], "open"),
        (FRAN[1], "waiting"),
    }


# ---------------------------------------------------------------- silent accounts ranked by stake


RANKED_CRM = CrmData(
    accounts=[  # ids in this order: the smallest deal first
        Account(name="Small Co", domains=["small.example"], tier="3", crm_id="A-1"),
        Account(name="Big Co", domains=["big.example"], tier="2", crm_id="A-2"),
        Account(name="Mid Co", domains=["mid.example"], tier="1", crm_id="A-3"),
        Account(name="Mid Too", domains=["midtoo.example"], tier="3", crm_id="A-4"),
    ],
    deals=[
        Deal(
            crm_id="D-1",
            name="Small",
            account_name="Small Co",
            stage="Proposal",
            amount=10_000.0,
            owner_email="marco@northwind.io",
        ),
        Deal(
            crm_id="D-2",
            name="Big",
            account_name="Big Co",
            stage="Proposal",
            amount=500_000.0,
            owner_email="marco@northwind.io",
        ),
        Deal(
            crm_id="D-3",
            name="Mid",
            account_name="Mid Co",
            stage="Proposal",
            amount=100_000.0,
            owner_email="marco@northwind.io",
        ),
        Deal(
            crm_id="D-4",
            name="Mid too",
            account_name="Mid Too",
            stage="Proposal",
            amount=100_000.0,
            owner_email="marco@northwind.io",
        ),
    ],
)
STAKE_ORDER = ["Big Co", "Mid Co", "Mid Too", "Small Co"]
"""The largest open amount first; at the same amount, the better tier."""


@pytest.mark.parametrize("backend", BACKENDS)
def test_silent_accounts_are_ranked_by_stake_in_the_cli_the_api_and_the_report(
    backend: str, tmp_path: Path
) -> None:
    with database(backend, "issue12_silent_rank", tmp_path) as url:
        with Store(url) as s:
            s.upsert_crm(RANKED_CRM)
            _, token = ApiTokens(s.engine).create("t")
            report = [a.name for a in s.silent_accounts(AS_OF, silent_days(), OURS)]
            first = s.list_accounts(AccountFilter(silent=True, as_of=AS_OF), silent_days(), OURS)
            everyone = s.list_accounts(AccountFilter(as_of=AS_OF), silent_days(), OURS)
        assert report == [a.name for a in first.items] == STAKE_ORDER
        assert [a.name for a in everyone.items] == ["Small Co", "Big Co", "Mid Co", "Mid Too"]  # by id

        cli = followthrough("--as-of", AS_OF.isoformat(), "accounts", "--silent", "--json", db=url)
        assert [a["name"] for a in json.loads(cli.stdout)] == STAKE_ORDER

        settings = Settings(database_url=url, as_of=AS_OF, company_domains=OURS)
        with LiveServer(create_app(url, as_of=AS_OF, settings=settings)) as server:
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=server.url, headers=headers) as c:
                names: list[str] = []
                params: dict[str, Any] = {"silent": "true", "limit": 1}
                for _ in range(10):  # one a page: the cursor resumes in the ranked order
                    page = c.get("/v1/accounts", params=params).json()
                    names += [a["name"] for a in page["items"]]
                    if page["next_cursor"] is None:
                        break
                    params["cursor"] = page["next_cursor"]
                assert names == STAKE_ORDER


# ---------------------------------------------------------------- listings at 80 and 120 columns


LONG_DEALS = (
    "deal_id,deal_name,account_name,account_domain,stage,amount,close_date,owner_email,owner_name,tier\n"
    "0065g00000AbCdEfGH,Contoso Enterprise Platform Renewal and Expansion FY27,"
    "Contoso International Holdings,contoso.example,Negotiation/Review,1250000,2026-04-30,"
    "marco@northwind.example,Marco Rossi,Enterprise\n"
    "0065g00000XyZwVuTS,Globex Pilot,Globex,globex.example,Proposal,20000,2026-05-30,"
    "priya@northwind.example,Priya Nair,Mid-Market\n"
)
LONG_IDS = {"0065g00000AbCdEfGH", "0065g00000XyZwVuTS"}


def header_cells(text: str, after: int = 0) -> dict[str, int]:
    """The first table header from line ``after`` on: each column's header and its width (no padding)."""
    header = next(line for line in text.splitlines()[after:] if line.startswith("┃"))
    return {cell.strip(): len(cell) - 2 for cell in header.strip("┃").split("┃")}


def cells(text: str) -> list[str]:
    return [
        c.strip() for line in text.splitlines() if line.startswith("│") for c in line.strip("│").split("│")
    ]


@pytest.fixture(scope="module")
def long_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("long")
    (root / "crm").mkdir()
    (root / "crm" / "deals.csv").write_text(LONG_DEALS, encoding="utf-8")
    db = root / "ft.db"
    run = followthrough("--as-of", AS_OF.isoformat(), "run", root / "crm", db=db)
    assert run.returncode == 0, run.stderr
    return db


@pytest.mark.parametrize("width", [80, 120])
def test_deals_and_accounts_keep_ids_whole_and_give_names_room(long_db: Path, width: int) -> None:
    env = {"COLUMNS": str(width)}
    deals = followthrough("--as-of", AS_OF.isoformat(), "deals", db=long_db, env=env).stdout
    accounts = followthrough("--as-of", AS_OF.isoformat(), "accounts", db=long_db, env=env).stdout
    one = followthrough("--as-of", AS_OF.isoformat(), "accounts", "contoso", db=long_db, env=env).stdout
    for text in (deals, accounts, one):
        assert text and all(len(line) <= width for line in text.splitlines()), text
        assert "…" not in "".join(c for c in cells(text) if "Contoso" in c or "Holdings" in c)
    assert LONG_IDS <= set(cells(deals)) and "0065g00000AbCdEfGH" in cells(one)
    assert (
        header_cells(deals)["Name"] >= NAME_MIN_WIDTH and header_cells(accounts)["Account"] >= NAME_MIN_WIDTH
    )
    deal_rows = [line for line in deals.splitlines() if line.startswith("│")]
    assert len(deal_rows) <= 6  # the long name wraps over a few lines, not one word a line
    shown = " ".join(cells(deals) + cells(accounts))
    for word in ("Contoso", "Enterprise", "Platform", "Renewal", "Expansion", "FY27", "Holdings"):
        assert word in shown  # every word of the long names, none cut
    assert {"1", "2"} <= set(cells(accounts))  # the ids typed next
    heads = header_cells(accounts)
    assert "Since" in heads and ("Tier" in heads) is (width >= 120)
    if width == 80:  # optional columns go first
        assert "Stage" not in header_cells(deals) and "Them" not in heads


def test_at_60_columns_the_account_id_is_still_whole(long_db: Path) -> None:
    text = followthrough("accounts", db=long_db, env={"COLUMNS": "60"}).stdout
    assert all(len(line) <= 60 for line in text.splitlines())
    assert "ID" in header_cells(text) and {"1", "2"} <= set(cells(text))


# ---------------------------------------------------------------- small ones


def test_each_tiered_setting_shows_its_own_example(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOLLOWTHROUGH_RESPONSE_HOURS", "soon")
    with pytest.raises(ConfigError) as hours:
        response_hours()
    assert "FOLLOWTHROUGH_RESPONSE_HOURS" in str(hours.value) and "24, tier 1=8" in str(hours.value)
    monkeypatch.setenv("FOLLOWTHROUGH_SILENT_DAYS", "soon")
    with pytest.raises(ConfigError) as days:
        silent_days()
    assert "30, tier 1=14" in str(days.value)


def test_the_readme_lists_the_response_target() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert re.search(r"^\|[^\n]*`FOLLOWTHROUGH_RESPONSE_HOURS`[^\n]*\|", readme, re.M)


@pytest.mark.parametrize(
    "args",
    [
        ("commitments", "list", "--owner", ""),
        ("commitments", "list", "--owner", "  "),
        ("commitments", "list", "--deal", ""),
        ("commitments", "list", "--account", ""),
        ("deals", "--owner", ""),
        ("digest", "--owner", ""),
        ("accounts", "--owner", ""),
        ("accounts", ""),
    ],
)
def test_an_empty_owner_deal_or_account_is_a_usage_error(long_db: Path, args: tuple[str, ...]) -> None:
    result = followthrough(*args, db=long_db)
    assert result.returncode == 2 and "must not be blank" in result.stderr and result.stdout == ""


# ---------------------------------------------------------------- statuses and whose promise it is


CRM_CSV = (
    "deal_id,deal_name,account_name,account_domain,stage,amount,close_date,owner_email,owner_name,tier\n"
    "D-1,Contoso Renewal,Contoso,contoso.example,Negotiation,50000,2026-04-30,"
    "marco@northwind.example,Marco Rossi,1\n"
)
CONTACTS_CSV = "email,name,account_name,role\nraj@contoso.example,Raj Patel,Contoso,Procurement\n"
MBOX = """From raj@contoso.example Mon Mar 02 10:00:00 2026
From: Raj Patel <raj@contoso.example>
To: Marco Rossi <marco@northwind.example>
Subject: Re: Contoso order form
Date: Mon, 02 Mar 2026 10:00:00 -0500
Message-ID: <po-1@contoso.example>

Hi Marco,

I'll get the PO number to you by Friday.
Can you send us the updated security questionnaire?

Raj

From marco@northwind.example Mon Mar 02 12:00:00 2026
From: Marco Rossi <marco@northwind.example>
To: Raj Patel <raj@contoso.example>
Subject: Re: Contoso order form
Date: Mon, 02 Mar 2026 12:00:00 -0500
Message-ID: <po-2@northwind.example>

Hi Raj,

I'll send the revised order form by Thursday.

Marco
"""


@pytest.fixture
def side_db(tmp_path: Path) -> Path:
    root = tmp_path / "inputs"
    (root / "crm").mkdir(parents=True)
    (root / "crm" / "deals.csv").write_text(CRM_CSV, encoding="utf-8")
    (root / "crm" / "contacts.csv").write_text(CONTACTS_CSV, encoding="utf-8")
    (root / "mail.mbox").write_text(MBOX, encoding="utf-8")
    db = tmp_path / "side.db"
    run = followthrough("--as-of", AS_OF.isoformat(), "run", root, db=db)
    assert run.returncode == 0, run.stderr
    return db


def _all(db: Path) -> dict[str, dict[str, Any]]:
    listed = followthrough(
        "--as-of", AS_OF.isoformat(), "commitments", "list", "--status", "all", "--json", db=db
    )
    return {i["evidence"]: i for i in json.loads(listed.stdout)}


def test_a_corrected_owner_decides_whose_promise_it_is(side_db: Path) -> None:
    items = _all(side_db)
    po = items["I'll get the PO number to you by Friday."]
    form = items["I'll send the revised order form by Thursday."]
    assert (po["status"], form["status"]) == ("waiting", "open")

    ours = followthrough("commitments", "edit", str(po["id"]), "--owner", "marco", "--json", db=side_db)
    assert ours.returncode == 0, ours.stderr
    view = json.loads(ours.stdout)
    assert (view["owner"], view["status"]) == ("marco@northwind.example", "open")
    assert ItemFlag.CUSTOMER_PROMISE not in view["flags"]
    assert [(h["field"], h["old"], h["new"]) for h in view["history"][-2:]] == [
        ("owner", "raj@contoso.example", "marco@northwind.example"),
        ("status", "waiting", "open"),
    ]

    theirs = followthrough(
        "commitments", "edit", str(form["id"]), "--owner", "Raj Patel", "--json", db=side_db
    )
    view = json.loads(theirs.stdout)
    assert (view["owner"], view["status"]) == ("raj@contoso.example", "waiting")
    assert ItemFlag.CUSTOMER_PROMISE in view["flags"]
    assert ("status", "open", "waiting") in [(h["field"], h["old"], h["new"]) for h in view["history"]]

    # a re-run keeps both where the person put them
    again = _all(side_db)
    po_now = again["I'll get the PO number to you by Friday."]
    form_now = again["I'll send the revised order form by Thursday."]
    assert (po_now["status"], form_now["status"]) == ("open", "waiting")


def test_a_status_the_item_cannot_take_is_refused_by_the_store(side_db: Path) -> None:
    items = _all(side_db)
    form = items["I'll send the revised order form by Thursday."]
    with Store(f"sqlite:///{side_db}") as store:
        with pytest.raises(InvalidStatus, match="answered is for requests"):
            store.set_status(form["id"], "answered")
        with pytest.raises(InvalidStatus, match="merged"):
            store.set_status(form["id"], "merged")
        with pytest.raises(InvalidStatus, match="waiting is for a customer's promise"):
            store.set_status(form["id"], "waiting")
        assert store.get_commitment(form["id"]).status == "open"


@pytest.mark.parametrize("backend", BACKENDS)
def test_patch_answered_is_for_requests_and_a_refused_patch_changes_nothing(
    backend: str, tmp_path: Path
) -> None:
    root = tmp_path / "inputs"
    (root / "crm").mkdir(parents=True)
    (root / "crm" / "deals.csv").write_text(CRM_CSV, encoding="utf-8")
    (root / "mail.mbox").write_text(MBOX, encoding="utf-8")
    with database(backend, "issue12_answered", tmp_path) as url:
        assert followthrough("--as-of", AS_OF.isoformat(), "run", root, db=url).returncode == 0
        with Store(url) as s:
            _, token = ApiTokens(s.engine).create("t")
        settings = Settings(database_url=url, as_of=AS_OF, company_domains={"northwind.example"})
        with LiveServer(create_app(url, as_of=AS_OF, settings=settings)) as server:
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=server.url, headers=headers) as c:
                rows = c.get("/v1/commitments", params={"status": "all"}).json()["items"]
                by_type = {r["type"]: r for r in rows if r["owner"] != "raj@contoso.example"}
                commitment, request = by_type["commitment"], by_type["request"]
                url_c = f"/v1/commitments/{commitment['id']}"
                r = c.patch(url_c, json={"status": "answered", "due": "2026-04-01"})
                assert r.status_code == 422 and "answered is for requests" in r.json()["detail"]
                assert c.get(url_c).json()["due"] == commitment["due"]  # nothing changed
                assert c.patch(url_c, json={"status": "merged"}).status_code == 422
                # waiting is for a customer's promise: ours set waiting would leave every open list
                r = c.patch(url_c, json={"status": "waiting"})
                assert r.status_code == 422 and "waiting is for a customer's promise" in r.json()["detail"]
                assert c.get(url_c).json()["status"] == commitment["status"]
                r = c.patch(f"/v1/commitments/{request['id']}", json={"status": "answered"})
                assert r.status_code == 200 and r.json()["status"] == "answered", r.text
                # a request made a commitment while answered: the status does not fit, 422
                r = c.patch(f"/v1/commitments/{request['id']}", json={"type": "commitment"})
                assert r.status_code == 422 and "answered is for requests" in r.json()["detail"]
                # the owner changed through the API: a customer makes our open commitment theirs
                r = c.patch(url_c, json={"owner": "raj@contoso.example"})
                assert r.status_code == 200 and r.json()["status"] == "waiting", r.text


def test_a_one_character_lookup_says_why_it_matched_nothing() -> None:
    from store.lookup import PART_MIN_CHARS, _short

    assert PART_MIN_CHARS == 2
    assert "2 characters or more" in _short("a") and _short("ac") == ""


def test_a_kept_item_past_its_due_date_is_not_shown_late() -> None:
    from datetime import date as _date

    from followthrough.cli.report import _due_label

    class _Kept:
        due = _date(2026, 3, 6)
        overdue_days = None  # the store's answer for done, answered, dismissed and merged items

    class _Open:
        due = _date(2026, 3, 6)
        overdue_days = 10

    as_of = _date(2026, 3, 16)
    assert _due_label(_Kept(), as_of) == "2026-03-06"  # type: ignore[arg-type]
    assert _due_label(_Open(), as_of) == "2026-03-06 (10d late)"  # type: ignore[arg-type]
