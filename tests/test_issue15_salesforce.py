"""Issue 15: Salesforce as a live source, through simple-salesforce against a fake org on loopback HTTPS.

The fake (:mod:`tests.fake_salesforce`) answers in Salesforce's documented REST and SOAP shapes:
SOQL pages with ``nextRecordsUrl``, ``[{"message", "errorCode"}]`` error bodies, the SOAP login.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from followthrough.sync.base import Pulled, SourceConfig, SourceError
from followthrough.sync.config import parse
from followthrough.sync.registry import SOURCES
from followthrough.sync.salesforce import SalesforceSource
from followthrough.types import CrmData
from store import Store
from tests.clirunner import followthrough
from tests.fake_salesforce import FakeSalesforce

TOKEN = "00D-good-token"


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSalesforce]:
    with FakeSalesforce(tmp_path, page_size=2) as fake:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fake.ca_file))
        monkeypatch.setenv("SF_TOKEN", TOKEN)
        acme = fake.add("Account", Name="Acme Corp", Website="https://www.acme.com/", Type="Enterprise")
        globex = fake.add("Account", Name="Globex", Website="globex.com")
        fake.add("Account", Name="Initech")
        marco = fake.add("User", Email="marco@northwind.io", IsActive=True, Name="Marco Rossi")
        fake.add("Contact", Email="Dana@Acme.com", Name="Dana Lee", Title="VP Engineering", AccountId=acme)
        fake.add("Contact", Email="hank@globex.com", Name="Hank Scorpio", AccountId=globex)
        fake.add("Contact", Name="No Email")
        fake.add(
            "Opportunity",
            Name="Acme Platform Expansion",
            StageName="Negotiation",
            Amount=120000.0,
            CloseDate="2026-03-31",
            AccountId=acme,
            OwnerId=marco,
        )
        fake.add("Opportunity", Name="Globex Pilot", StageName="Discovery", AccountId=globex, OwnerId=marco)
        fake.add("Opportunity", Name="Orphan", StageName="Discovery")
        yield fake


def _source(org: FakeSalesforce, **options: Any) -> SalesforceSource:
    table: dict[str, Any] = {"name": "sf", "kind": "salesforce", "url": org.url, "token_env": "SF_TOKEN"}
    table.update(options)
    table = {k: v for k, v in table.items() if v is not None}
    return SalesforceSource(SourceConfig("sf", "salesforce", table.get("url"), table))


def _crm(batches: list[Pulled]) -> CrmData:
    out = CrmData()
    for b in batches:
        assert b.crm is not None and not b.documents
        out.accounts += b.crm.accounts
        out.contacts += b.crm.contacts
        out.deals += b.crm.deals
    return out


def test_registered_and_config_checked(tmp_path: Path) -> None:
    assert SOURCES["salesforce"] is SalesforceSource
    path = tmp_path / "followthrough.toml"
    ok = parse(
        {
            "source": [
                {"name": "sf", "kind": "salesforce", "url": "https://x.my.salesforce.com", "token_env": "T"}
            ]
        },
        path,
    )
    assert ok.sources[0].kind == "salesforce"
    with pytest.raises(Exception, match="token_env .*or username with password_env"):
        parse({"source": [{"name": "sf", "kind": "salesforce"}]}, path)


def test_first_pull_pages_everything_into_crm_data(org: FakeSalesforce) -> None:
    source = _source(org, tier_field="Type")
    batches = list(source.pull({}))
    source.close()
    crm = _crm(batches)
    assert {a.name: (a.domains, a.tier) for a in crm.accounts} == {
        "Acme Corp": (["acme.com"], "Enterprise"),
        "Globex": (["globex.com"], None),
        "Initech": ([], None),
    }
    assert {c.email: (c.name, c.account_name, c.role) for c in crm.contacts} == {
        "dana@acme.com": ("Dana Lee", "Acme Corp", "VP Engineering"),
        "hank@globex.com": ("Hank Scorpio", "Globex", None),
    }
    deals = {d.name: d for d in crm.deals}
    assert set(deals) == {"Acme Platform Expansion", "Globex Pilot"}  # the orphan has no account
    acme = deals["Acme Platform Expansion"]
    assert (acme.account_name, acme.stage, acme.amount, acme.close_date, acme.owner_email) == (
        "Acme Corp",
        "Negotiation",
        120000.0,
        date(2026, 3, 31),
        "marco@northwind.io",
    )
    assert acme.crm_id.startswith("006")
    # Two records a page: several batches, nextRecordsUrl followed, cursors only move forward.
    assert len(batches) >= 5
    assert any(path.startswith("/services/data/v59.0/query/01g") for _, path in org.requests)
    final = batches[-1].cursor
    assert set(final) == {"Account.modstamp", "Contact.modstamp", "Opportunity.modstamp"}


def test_second_pull_fetches_only_what_changed(org: FakeSalesforce) -> None:
    source = _source(org)
    cursor = list(source.pull({}))[-1].cursor
    assert list(source.pull(cursor)) == []  # nothing changed: nothing fetched
    deal = next(r for r in org.records["Opportunity"].values() if r["Name"] == "Globex Pilot")
    org.touch(deal["Id"], StageName="Proposal", Amount=60000.0)
    org.add("Contact", Email="new@acme.com", Name="New Person")
    crm = _crm(list(source.pull(cursor)))
    assert [c.email for c in crm.contacts] == ["new@acme.com"]
    assert [(d.name, d.stage, d.amount) for d in crm.deals] == [("Globex Pilot", "Proposal", 60000.0)]
    assert crm.accounts == []


def test_killed_between_pages_resumes_without_skipping(org: FakeSalesforce) -> None:
    """A sync that stopped after any batch and resumes from that batch's cursor gets the rest:
    together, every record (a record sharing the boundary's timestamp may come twice, never zero)."""
    everything = _crm(list(_source(org).pull({})))
    for stop in range(1, 6):
        batches = list(_source(org).pull({}))
        first = _crm(batches[:stop])
        rest = _crm(list(_source(org).pull(batches[stop - 1].cursor)))
        assert {a.name for a in first.accounts + rest.accounts} == {a.name for a in everything.accounts}
        assert {c.email for c in first.contacts + rest.contacts} == {c.email for c in everything.contacts}
        assert {d.crm_id for d in first.deals + rest.deals} == {d.crm_id for d in everything.deals}


def test_pulled_crm_lands_in_the_store(org: FakeSalesforce, tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'ft.db'}") as store:
        for batch in _source(org).pull({}):
            assert batch.crm is not None
            store.upsert_crm(batch.crm)
        deals = {d.crm_id for d in store.list_deals(as_of=date(2026, 3, 16))}
    assert len(deals) == 2 and all(d.startswith("006") for d in deals)


def test_username_password_login_against_the_login_url(
    org: FakeSalesforce, monkeypatch: pytest.MonkeyPatch
) -> None:
    org.logins["ops@acme.com"] = "hunter2" + "TOKEN123"
    monkeypatch.setenv("SF_PASSWORD", "hunter2")
    monkeypatch.setenv("SF_SECURITY_TOKEN", "TOKEN123")
    source = _source(
        org,
        url=None,
        token_env=None,
        username="ops@acme.com",
        password_env="SF_PASSWORD",
        security_token_env="SF_SECURITY_TOKEN",
        login_url=org.url,
    )
    assert len(_crm(list(source.pull({}))).deals) == 2
    assert ("POST", "/services/Soap/u/59.0") in org.requests
    monkeypatch.setenv("SF_PASSWORD", "wrong")
    with pytest.raises(SourceError) as err:
        list(
            _source(
                org,
                url=None,
                token_env=None,
                username="ops@acme.com",
                password_env="SF_PASSWORD",
                security_token_env="SF_SECURITY_TOKEN",
                login_url=org.url,
            ).pull({})
        )
    line = str(err.value)
    assert "\n" not in line and "'sf'" in line and "INVALID_LOGIN" in line and "password" in line
    assert "wrong" not in line and "TOKEN123" not in line


def test_revoked_token_and_api_limit_are_one_line(org: FakeSalesforce) -> None:
    org.revoke(TOKEN)
    with pytest.raises(SourceError) as err:
        list(_source(org).pull({}))
    line = str(err.value)
    assert "\n" not in line and "'sf'" in line and "INVALID_SESSION_ID" in line and "revoked" in line
    assert TOKEN not in line
    org.tokens.add(TOKEN)
    org.limit_exceeded = True
    with pytest.raises(SourceError, match=r"REQUEST_LIMIT_EXCEEDED.*limit"):
        list(_source(org).pull({}))


def test_missing_secret_names_the_variable(org: FakeSalesforce, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SF_TOKEN")
    with pytest.raises(SourceError, match="SF_TOKEN"):
        list(_source(org).pull({}))


def test_sync_command_pulls_incrementally_into_the_store(org: FakeSalesforce, tmp_path: Path) -> None:
    config = tmp_path / "followthrough.toml"
    config.write_text(
        f'[[source]]\nname = "sf"\nkind = "salesforce"\nurl = "{org.url}"\ntoken_env = "SF_TOKEN"\n'
    )
    env = {"FOLLOWTHROUGH_CONFIG": str(config), "SF_TOKEN": TOKEN, "REQUESTS_CA_BUNDLE": str(org.ca_file)}
    db = tmp_path / "ft.db"
    first = followthrough("--quiet", "sync", db=db, env=env)
    assert first.returncode == 0, first.stderr
    with Store(f"sqlite:///{db}") as store:
        assert {d.name: d.stage for d in store.list_deals(as_of=date(2026, 3, 16))} == {
            "Acme Platform Expansion": "Negotiation",
            "Globex Pilot": "Discovery",
        }
    deal = next(r for r in org.records["Opportunity"].values() if r["Name"] == "Globex Pilot")
    org.touch(deal["Id"], StageName="Closed Won")
    before = len(org.requests)
    second = followthrough("--quiet", "sync", db=db, env=env)
    assert second.returncode == 0, second.stderr
    # One query per object, each answered in one page: nothing fetched again but the changed deal.
    assert [p for _, p in org.requests[before:]] == ["/services/data/v59.0/query/"] * 3
    with Store(f"sqlite:///{db}") as store:
        stages = {d.name: d.stage for d in store.list_deals(as_of=date(2026, 3, 16))}
    assert stages["Globex Pilot"] == "Closed Won"
    org.revoke(TOKEN)
    revoked = followthrough("--quiet", "sync", db=db, env=env)
    assert revoked.returncode == 1
    (line,) = [x for x in revoked.stderr.splitlines() if x.startswith("error:")]
    assert "source 'sf'" in line and "INVALID_SESSION_ID" in line and TOKEN not in revoked.stderr
