"""Issue 15: HubSpot as a live source and as the target of ``crm push``, through the real
``hubspot-api-client`` against a local HubSpot API (tests/fake_hubspot.py).

First pull (companies, contacts and deals with their associations, stages, owners), incremental pull
by last-modified time with a tie-break on the same millisecond, a 429 answered once, a wrong token and
a missing scope as one line; a task created on the deal, then updated, never duplicated.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from followthrough.crm_push.base import CrmTask
from followthrough.crm_push.hubspot import HubSpotTaskWriter
from followthrough.crm_push.registry import WRITERS
from followthrough.sync.base import Pulled, SourceConfig, SourceError
from followthrough.sync.hubspot import HubSpotSource
from followthrough.sync.registry import SOURCES
from followthrough.types import CrmData
from tests.fake_hubspot import FakeHubSpot

TOKEN_ENV = "FT_TEST_HUBSPOT_TOKEN"


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHubSpot]:
    fake = FakeHubSpot()
    fake.owners = [
        {
            "id": "501",
            "email": "dana@northwind.io",
            "firstName": "Dana",
            "lastName": "Reyes",
            "archived": False,
        },
        {"id": "502", "email": "Lee@Northwind.io", "firstName": "Lee", "lastName": "Park", "archived": False},
        {"id": "503", "email": "kim@northwind.io", "firstName": "Kim", "lastName": "Ito", "archived": False},
    ]
    fake.pipelines = [
        {
            "id": "default",
            "label": "Sales Pipeline",
            "stages": [
                {"id": "appointmentscheduled", "label": "Appointment Scheduled", "displayOrder": 0},
                {"id": "contractsent", "label": "Contract Sent", "displayOrder": 4},
            ],
        }
    ]
    monkeypatch.setenv(TOKEN_ENV, fake.token)
    fake.start()
    yield fake
    fake.stop()


def _config(fake: FakeHubSpot) -> SourceConfig:
    table = {"name": "crm", "kind": "hubspot", "url": fake.url, "token_env": TOKEN_ENV}
    return SourceConfig(name="crm", kind="hubspot", url=fake.url, options=table)


def _pull(fake: FakeHubSpot, cursor: dict[str, str]) -> tuple[CrmData, dict[str, str], list[Pulled]]:
    batches = list(HubSpotSource(_config(fake)).pull(cursor))
    crm = CrmData()
    for b in batches:
        assert b.documents == [] and b.crm is not None
        crm = crm.merge(b.crm)
    return crm, dict(batches[-1].cursor) if batches else cursor, batches


def _seed(fake: FakeHubSpot) -> None:
    fake.put("companies", "11", name="Acme Corp", domain="acme.com", hs_ideal_customer_profile="tier_1")
    fake.put("companies", "12", name="Globex", website="https://www.globex.io/", domain=None)
    fake.put("companies", "13", name="Initech", domain="initech.com")
    fake.put("contacts", "21", email="Sam@Acme.com", firstname="Sam", lastname="Okafor", jobtitle="CTO")
    fake.put("contacts", "22", email="hank@globex.io", firstname="Hank", lastname=None, company="Globex Inc")
    fake.put("contacts", "23", email=None, firstname="No", lastname="Email")
    fake.associate("contacts", "21", "companies", "11", 1)
    fake.put(
        "deals", "31", dealname="Acme renewal", dealstage="contractsent", amount="120000.50",
        closedate="2026-03-31T00:00:00Z", hubspot_owner_id="502",
    )  # fmt: skip
    fake.put("deals", "32", dealname="Globex pilot", dealstage="appointmentscheduled", hubspot_owner_id="999")
    fake.put("deals", "33", dealname="Orphan deal")
    fake.associate("deals", "31", "companies", "13", 341)  # another company, not primary
    fake.associate("deals", "31", "companies", "11", 5)  # the primary company
    fake.associate("deals", "32", "companies", "12", 5)


def test_registered() -> None:
    assert SOURCES["hubspot"] is HubSpotSource
    assert WRITERS["hubspot"] is HubSpotTaskWriter


def test_first_pull_maps_the_crm_tables(hub: FakeHubSpot) -> None:
    _seed(hub)
    crm, cursor, batches = _pull(hub, {})
    assert len(batches) == 6  # page_cap 2: companies 2+1, contacts 2+1, deals 2+1
    accounts = {a.name: a for a in crm.accounts}
    assert accounts["Acme Corp"].domains == ["acme.com"] and accounts["Acme Corp"].tier == "Tier 1"
    assert accounts["Acme Corp"].crm_id == "11"
    assert accounts["Globex"].domains == ["globex.io"]
    contacts = {c.email: c for c in crm.contacts}
    assert set(contacts) == {"sam@acme.com", "hank@globex.io"}  # no email: left out
    assert contacts["sam@acme.com"].account_name == "Acme Corp" and contacts["sam@acme.com"].role == "CTO"
    assert contacts["sam@acme.com"].name == "Sam Okafor"
    assert contacts["hank@globex.io"].account_name == "Globex Inc"  # no association: the company text
    deals = {d.crm_id: d for d in crm.deals}
    assert set(deals) == {"31", "32"}  # no company: left out
    acme = deals["31"]
    assert (acme.name, acme.account_name, acme.stage) == ("Acme renewal", "Acme Corp", "Contract Sent")
    assert acme.amount == 120000.5 and acme.close_date == date(2026, 3, 31)
    assert acme.owner_email == "lee@northwind.io"  # owners API, paged, lower-cased
    assert deals["32"].owner_email is None and deals["32"].stage == "Appointment Scheduled"
    assert set(cursor) == {
        f"{t}.{k}" for t in ("companies", "contacts", "deals") for k in ("modified", "ids")
    }
    assert cursor["deals.ids"] == "33"


def test_incremental_pull_reads_only_what_changed(hub: FakeHubSpot) -> None:
    _seed(hub)
    _, cursor, _ = _pull(hub, {})
    again, cursor2, batches = _pull(hub, cursor)
    assert batches == [] and cursor2 == cursor
    hub.put("deals", "32", dealstage="contractsent", amount="5000")
    hub.put("contacts", "24", email="new@acme.com", firstname="New")
    hub.associate("contacts", "24", "companies", "11", 1)
    crm, cursor3, _ = _pull(hub, cursor)
    assert [c.email for c in crm.contacts] == ["new@acme.com"] and crm.accounts == []
    assert [(d.crm_id, d.stage, d.amount) for d in crm.deals] == [("32", "Contract Sent", 5000.0)]
    # the company names came from one batch read (Acme was not in this pull's companies)
    assert ("POST", "/crm/v3/objects/companies/batch/read") in hub.requests
    assert int(cursor3["deals.modified"]) > int(cursor["deals.modified"])


def test_same_millisecond_tie_break_and_resume(hub: FakeHubSpot) -> None:
    for n in range(5):
        hub.put("companies", str(40 + n), modified_ms=1_790_000_000_000, name=f"Co {n}")
    source = HubSpotSource(_config(hub))
    batches = list(source.pull({}))
    assert [len(b.crm.accounts) for b in batches if b.crm] == [2, 2, 1]
    # killed after the first batch: the rerun reads the other three, none twice
    rest, _, _ = _pull(hub, dict(batches[0].cursor))
    assert sorted(a.name for a in rest.accounts) == ["Co 2", "Co 3", "Co 4"]
    # a record saved later at that same millisecond is still read
    _, cursor, _ = _pull(hub, dict(batches[-1].cursor))
    hub.put("companies", "49", modified_ms=1_790_000_000_000, name="Late Co")
    late, _, _ = _pull(hub, dict(batches[-1].cursor))
    assert [a.name for a in late.accounts] == ["Late Co"]


def test_rate_limited_search_is_retried(hub: FakeHubSpot) -> None:
    _seed(hub)
    hub.rate_limit_once = {"/crm/v3/objects/deals/search"}
    crm, _, _ = _pull(hub, {})
    assert {d.crm_id for d in crm.deals} == {"31", "32"}
    assert hub.requests.count(("POST", "/crm/v3/objects/deals/search")) == 3  # 429, then 2 pages


def test_wrong_token_is_one_line(hub: FakeHubSpot, monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(hub)
    monkeypatch.setenv(TOKEN_ENV, "pat-na1-revoked")
    with pytest.raises(SourceError) as e:
        list(HubSpotSource(_config(hub)).pull({}))
    line = str(e.value)
    assert "\n" not in line and "'crm'" in line and "INVALID_AUTHENTICATION" in line and "token" in line
    assert "pat-na1" not in line


def test_missing_scope_names_the_scope(hub: FakeHubSpot) -> None:
    _seed(hub)
    hub.scopes.discard("crm.objects.owners.read")
    with pytest.raises(SourceError) as e:
        list(HubSpotSource(_config(hub)).pull({}))
    assert "scope crm.objects.owners.read" in str(e.value) and "\n" not in str(e.value)


def _task(**changes: Any) -> CrmTask:
    base: dict[str, Any] = {
        "commitment_id": 7,
        "deal_crm_id": "31",
        "subject": "Send the renewal quote",
        "due": date(2026, 4, 3),
        "owner_email": "LEE@northwind.io",
        "body": '"I will send the renewal quote by Friday." https://ft.example/items/7',
    }
    return CrmTask(**{**base, **changes})


def test_task_is_created_on_the_deal_then_updated_never_duplicated(hub: FakeHubSpot) -> None:
    _seed(hub)
    writer = HubSpotTaskWriter(_config(hub))
    task_id = writer.upsert(_task(), None)
    tasks = hub.objects["tasks"]
    assert list(tasks) == [task_id]
    props = tasks[task_id]["properties"]
    assert props["hs_task_subject"] == "Send the renewal quote"
    assert props["hs_task_status"] == "NOT_STARTED" and props["hubspot_owner_id"] == "502"
    assert props["hs_timestamp"].startswith("2026-04-03T")
    assert "renewal quote by Friday" in props["hs_task_body"]
    assert hub.associations[("tasks", task_id, "deals")] == [("31", 216)]
    # pushed again (changed due date, then closed): the same task, updated
    assert writer.upsert(_task(due=date(2026, 4, 10)), task_id) == task_id
    assert writer.upsert(_task(completed=True), task_id) == task_id
    assert list(tasks) == [task_id]
    assert tasks[task_id]["properties"]["hs_task_status"] == "COMPLETED"
    assert hub.requests.count(("POST", "/crm/v3/objects/tasks")) == 1


def test_task_owner_unknown_is_unassigned_with_a_warning(
    hub: FakeHubSpot, caplog: pytest.LogCaptureFixture
) -> None:
    _seed(hub)
    with caplog.at_level(logging.WARNING):
        task_id = HubSpotTaskWriter(_config(hub)).upsert(_task(owner_email="nobody@northwind.io"), None)
    assert "hubspot_owner_id" not in hub.objects["tasks"][task_id]["properties"]
    assert "nobody@northwind.io" in caplog.text


def test_task_deleted_in_hubspot_is_created_again(hub: FakeHubSpot) -> None:
    _seed(hub)
    writer = HubSpotTaskWriter(_config(hub))
    first = writer.upsert(_task(), None)
    del hub.objects["tasks"][first]
    second = writer.upsert(_task(), first)
    assert second != first and list(hub.objects["tasks"]) == [second]


def test_task_push_without_scope_is_one_line(hub: FakeHubSpot) -> None:
    _seed(hub)
    hub.scopes.discard("crm.objects.contacts.write")
    with pytest.raises(SourceError, match=r"scope crm\.objects\.contacts\.write"):
        HubSpotTaskWriter(_config(hub)).upsert(_task(owner_email=None), None)
