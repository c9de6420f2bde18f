# ruff: noqa: E501  (CSV fixtures keep each export row on one line)
"""CRM CSV exports: our columns, HubSpot and Salesforce headers, encodings, bad rows."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

import connectors.crm as crm_module
from connectors.crm import COLUMNS, is_crm_csv, parse_amount, parse_date, read_crm_csv
from followthrough.errors import InputError
from tests.conftest import DEMO

OURS = """deal_id,deal_name,account_name,account_domain,stage,amount,close_date,owner_email,owner_name,tier
D-1,Acme - Expansion,Acme Corp,acme.com,Negotiation,120000,2026-03-31,marco@northwind.io,Marco Rossi,1
D-2,Globex - Pilot,Globex,https://www.globex.com/,Discovery,"$12,500.00",3/31/2026,priya@northwind.io,,2
"""

HUBSPOT_DEALS = """Record ID,Deal Name,Deal Stage,Amount,Close Date,Deal owner,Associated Company,Company Domain Name
9876543,Acme Corp - Expansion,contractsent,"$120,000.00",2026-03-31 00:00,Marco Rossi,Acme Corp (1234567),acme.com
9876544,Globex - Pilot,appointmentscheduled,15000,2026-04-15 00:00,priya@northwind.io,Globex,globex.com
"""

SALESFORCE_DEALS = """Opportunity ID,Opportunity Name,Account Name,Website,Stage,Amount,Close Date,Opportunity Owner Email
0065g00000AbCdE,Acme Expansion,Acme Corp,www.acme.com,Negotiation/Review,"120,000.00",3/31/2026,marco@northwind.io
0065g00000AbCdF,Initech Onboarding,Initech,http://initech.com/home,Closed Won,9000,12/1/2025,priya@northwind.io
"""

HUBSPOT_CONTACTS = """First Name,Last Name,Email,Company Name,Job Title
Dana,Lee,Dana@Acme.com,Acme Corp,VP Engineering
Hank,Scorpio,hank@globex.com,Globex,
"""

SALESFORCE_CONTACTS = """First Name,Last Name,Title,Account Name,Email
Dana,Lee,VP Engineering,Acme Corp,dana@acme.com
"""


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_our_columns(tmp_path: Path) -> None:
    data = read_crm_csv(write(tmp_path, "deals.csv", OURS))
    d1, d2 = data.deals
    assert (d1.crm_id, d1.name, d1.account_name, d1.stage, d1.amount, d1.close_date, d1.owner_email) == (
        "D-1",
        "Acme - Expansion",
        "Acme Corp",
        "Negotiation",
        120000.0,
        date(2026, 3, 31),
        "marco@northwind.io",
    )
    assert (d2.amount, d2.close_date) == (12500.0, date(2026, 3, 31))
    accounts = {a.name: a for a in data.accounts}
    assert accounts["Acme Corp"].domains == ["acme.com"] and accounts["Acme Corp"].tier == "1"
    assert accounts["Globex"].domains == ["globex.com"]
    # the owner with a name is a contact with no account; the one without a name is not
    assert [(c.email, c.name, c.account_name) for c in data.contacts] == [
        ("marco@northwind.io", "Marco Rossi", None)
    ]


def test_hubspot_deals(tmp_path: Path) -> None:
    path = write(tmp_path, "hubspot-deals.csv", HUBSPOT_DEALS)
    assert is_crm_csv(path)
    data = read_crm_csv(path)
    d1, d2 = data.deals
    assert (d1.crm_id, d1.account_name, d1.amount, d1.close_date, d1.stage) == (
        "9876543",
        "Acme Corp",
        120000.0,
        date(2026, 3, 31),
        "contractsent",
    )
    assert d1.owner_email is None  # "Deal owner" held a name only
    assert d2.owner_email == "priya@northwind.io"
    assert {a.name: a.domains for a in data.accounts} == {"Acme Corp": ["acme.com"], "Globex": ["globex.com"]}


def test_salesforce_deals(tmp_path: Path) -> None:
    data = read_crm_csv(write(tmp_path, "opportunities.csv", SALESFORCE_DEALS))
    assert [d.crm_id for d in data.deals] == ["0065g00000AbCdE", "0065g00000AbCdF"]
    assert [d.close_date for d in data.deals] == [date(2026, 3, 31), date(2025, 12, 1)]
    assert {a.name: a.domains for a in data.accounts} == {
        "Acme Corp": ["acme.com"],
        "Initech": ["initech.com"],
    }
    assert data.deals[0].owner_email == "marco@northwind.io"


@pytest.mark.parametrize("text", [HUBSPOT_CONTACTS, SALESFORCE_CONTACTS])
def test_contact_exports(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "contacts.csv", text)
    assert is_crm_csv(path)
    data = read_crm_csv(path)
    dana = data.contacts[0]
    assert (dana.email, dana.name, dana.account_name, dana.role) == (
        "dana@acme.com",
        "Dana Lee",
        "Acme Corp",
        "VP Engineering",
    )
    assert data.deals == []
    assert "Acme Corp" in {a.name for a in data.accounts}


def test_bom_utf16_latin1_and_semicolons(tmp_path: Path) -> None:
    bom = write(tmp_path, "bom.csv", "\ufeff" + OURS)
    assert is_crm_csv(bom) and [d.crm_id for d in read_crm_csv(bom).deals] == ["D-1", "D-2"]
    tabbed = "deal_id\tdeal_name\taccount_name\nD-1\tÜber deal\tAcme\nD-2\tPilot\tGlobex\n"
    utf16 = write(tmp_path, "utf16.csv", tabbed, encoding="utf-16")
    assert is_crm_csv(utf16) and len(read_crm_csv(utf16).deals) == 2
    latin = write(
        tmp_path,
        "latin.csv",
        "email;name;account_name\njose@acme.com;José Müller;Acme Corp\n",
        encoding="latin-1",
    )
    assert is_crm_csv(latin)
    assert read_crm_csv(latin).contacts[0].name == "José Müller"


def test_bad_rows_go_to_on_error_and_the_rest_is_read(tmp_path: Path) -> None:
    text = (
        "deal_id,deal_name,account_name,amount,close_date\n"
        "D-1,Good,Acme,100,2026-03-31\n"
        ",No id,Acme,100,2026-03-31\n"
        "D-3,Bad amount,Acme,lots,2026-03-31\n"
        "D-4,Bad date,Acme,100,someday\n"
        "D-1,Duplicate,Acme,100,2026-03-31\n"
        "D-6,Also good,Acme,,\n"
    )
    path = write(tmp_path, "deals.csv", text)
    errors: list[InputError] = []
    data = read_crm_csv(path, on_error=errors.append)
    assert [d.crm_id for d in data.deals] == ["D-1", "D-6"]
    assert [e.path for e in errors] == [f"{path}:{n}" for n in (3, 4, 5, 6)]
    assert "missing deal_id" in errors[0].problem
    assert "amount" in errors[1].problem and "date" in errors[2].problem and "twice" in errors[3].problem
    # without a sink, the first bad row stops the read
    with pytest.raises(InputError, match=r"deals.csv:3: missing deal_id"):
        read_crm_csv(path)


def test_bad_contact_email(tmp_path: Path) -> None:
    path = write(tmp_path, "contacts.csv", "email,name\nnot-an-email,Nobody\nok@acme.com,Ok\n")
    errors: list[InputError] = []
    assert [c.email for c in read_crm_csv(path, on_error=errors.append).contacts] == ["ok@acme.com"]
    assert errors[0].path.endswith("contacts.csv:2") and "email" in errors[0].problem


def test_not_a_crm_export(tmp_path: Path) -> None:
    other = write(tmp_path, "metrics.csv", "date,visits\n2026-03-01,10\n")
    assert not is_crm_csv(other)
    with pytest.raises(
        InputError, match="not a CRM export: missing columns deal_id, deal_name, account_name"
    ):
        read_crm_csv(other)
    partial = write(tmp_path, "partial.csv", "deal_id,deal_name,amount\nD-1,X,10\n")
    assert is_crm_csv(partial)  # so that reading it explains what is missing
    with pytest.raises(InputError, match="missing columns account_name"):
        read_crm_csv(partial)
    empty = write(tmp_path, "empty.csv", "")
    assert not is_crm_csv(empty)
    with pytest.raises(InputError, match="empty"):
        read_crm_csv(empty)
    assert not is_crm_csv(write(tmp_path, "notes.md", OURS))


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("120000", 120000.0),
        ("$12,500.00", 12500.0),
        ("12.500,00 €", 12500.0),
        ("USD 1,200", 1200.0),
        ("12.5k", 12500.0),
        ("1.2M", 1200000.0),
        ("99.95", 99.95),
        ("", None),
    ],
)
def test_amounts(raw: str, value: float | None) -> None:
    assert parse_amount(raw) == value


@pytest.mark.parametrize(
    "raw",
    [
        "2026-03-31",
        "2026-03-31 00:00",
        "2026-03-31T00:00:00Z",
        "3/31/2026",
        "03/31/26",
        "31.03.2026",
        "Mar 31, 2026",
    ],
)
def test_dates(raw: str) -> None:
    assert parse_date(raw) == date(2026, 3, 31)


def test_the_demo_crm_reads_cleanly() -> None:
    deals, contacts = DEMO / "crm" / "deals.csv", DEMO / "crm" / "contacts.csv"
    errors: list[InputError] = []
    data = read_crm_csv(deals, on_error=errors.append).merge(read_crm_csv(contacts, on_error=errors.append))
    assert errors == []
    assert data.deals and data.contacts and all(d.owner_email for d in data.deals)


def test_the_docstring_lists_every_column_name() -> None:
    doc = (crm_module.__doc__ or "").lower().replace("_", " ").replace("-", " ")
    doc = " ".join(doc.split())
    for field, names in COLUMNS.items():
        for name in names:
            assert re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", doc), (field, name)


def test_a_deals_export_with_one_contact_per_row(tmp_path: Path) -> None:
    text = (
        "Opportunity ID,Opportunity Name,Account Name,First Name,Last Name,Email,Title\n"
        "006A,Acme Expansion,Acme Corp,Dana,Lee,dana@acme.com,VP Engineering\n"
        "006B,Acme Pilot,Acme Corp,Raj,Patel,Raj Patel <raj@acme.com>,\n"
    )
    data = read_crm_csv(write(tmp_path, "opps.csv", text))
    assert [d.crm_id for d in data.deals] == ["006A", "006B"]
    assert [(c.email, c.name, c.account_name, c.role) for c in data.contacts] == [
        ("dana@acme.com", "Dana Lee", "Acme Corp", "VP Engineering"),
        ("raj@acme.com", "Raj Patel", "Acme Corp", None),
    ]


def test_extra_fields_and_impossible_dates_are_said_with_their_values(tmp_path: Path) -> None:
    """A row wider than the header is one line and skipped (its values may sit under the wrong
    columns; a trailing empty field is no news); a date no calendar has names the value."""
    text = (
        "deal_id,deal_name,account_name,amount,close_date\n"
        "D-1,Renewal,Acme,100,2026-03-31,a note past the last column\n"
        "D-2,Trailing comma,Acme,100,2026-03-31,\n"
        "D-3,Bad day,Acme,100,31/31/2099\n"
    )
    path = write(tmp_path, "deals.csv", text)
    errors: list[InputError] = []
    data = read_crm_csv(path, on_error=errors.append)
    assert [d.crm_id for d in data.deals] == ["D-2"]
    assert [str(e) for e in errors] == [
        f"{path}:2: 6 fields where the header names 5; row skipped (a comma inside a value needs quotes)",
        f"{path}:4: cannot read the date '31/31/2099': month must be in 1..12",
    ]
