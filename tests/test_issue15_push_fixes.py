"""Issue 15, a new user's findings on ``crm push``: a moved commitment moves its task, an interrupted push
never creates a second task, a customer's own promise is never pushed, an undated task is dated by
``--as-of``, and two pushes to one source never run at once.

Against the fake HubSpot portal (:mod:`tests.fake_hubspot`, through hubspot-api-client) and the fake
Salesforce org (:mod:`tests.fake_salesforce`, through simple-salesforce); the store is real (SQLite,
and PostgreSQL when configured).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import ClassVar

import pytest

from followthrough.crm_push.base import CrmTask, carries_item
from followthrough.crm_push.hubspot import HubSpotTaskWriter
from followthrough.crm_push.runner import push
from followthrough.crm_push.salesforce import SalesforceTaskWriter
from followthrough.sync.base import SourceConfig
from followthrough.types import Account, CrmData, Deal, RunStatus
from store import Store
from tests.fake_hubspot import FakeHubSpot
from tests.fake_salesforce import FakeSalesforce
from tests.store_fixtures import make_doc, make_item, store, store_url  # noqa: F401

PUBLIC = "https://ft.example.com"
TEXT = "Thanks Dana. I'll send the revised pricing to you by Friday. We will review the contract terms."
PRICING = "I'll send the revised pricing to you by Friday"
CONTRACT = "We will review the contract terms"


class Interrupted(BaseException):
    """What Ctrl-C (or a crash) would be: raised after the CRM created the task, before the commit."""


def _items(db: Store, deal: str, *, owner_email: str = "marco@northwind.io", due: date | None = None) -> int:
    doc = make_doc(text=TEXT, title="Re: pricing")
    doc_id, _ = db.add_document(doc)
    run = db.start_run(extractor="offline", model="m", prompt_version="v1")
    item = make_item(doc, PRICING, owner="Marco Rossi", owner_email=owner_email, due=due)
    (cid,) = db.record_extraction(run, doc_id, "k-pricing", [item])
    db.finish_run(run, RunStatus.OK)
    db.set_deal(cid, deal)
    return cid


@pytest.fixture
def hubspot(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHubSpot]:
    fake = FakeHubSpot().start()
    monkeypatch.setenv("HS_TOKEN", fake.token)
    try:
        yield fake
    finally:
        fake.stop()


def _hs(fake: FakeHubSpot) -> SourceConfig:
    return SourceConfig("hs", "hubspot", fake.url, {"name": "hs", "kind": "hubspot", "token_env": "HS_TOKEN"})


def _hs_deals(fake: FakeHubSpot, store: Store, *ids: str) -> None:  # noqa: F811
    for oid in ids:
        fake.put("deals", oid, dealname=f"Deal {oid}", pipeline="default", dealstage="qualified")
    store.upsert_crm(
        CrmData(deals=[Deal(crm_id=oid, name=f"Deal {oid}", account_name="Acme Corp") for oid in ids])
    )


def test_hubspot_task_follows_its_commitment_to_another_deal(hubspot: FakeHubSpot, store: Store) -> None:  # noqa: F811
    _hs_deals(hubspot, store, "4711", "4712")
    cid = _items(store, "4711")
    assert push(store, [_hs(hubspot)], public_url=PUBLIC).created == 1
    (task_id,) = hubspot.objects["tasks"]
    assert hubspot.deals_of_task(task_id) == ["4711"]

    store.set_deal(cid, "4712")
    report = push(store, [_hs(hubspot)], public_url=PUBLIC)
    assert (report.created, report.updated) == (0, 1)
    assert list(hubspot.objects["tasks"]) == [task_id]  # the same task, moved
    assert hubspot.deals_of_task(task_id) == ["4712"]  # added to the new deal, removed from the old
    assert ("PUT", f"/crm/v4/objects/tasks/{task_id}/associations/deals/4712") in hubspot.requests
    assert ("DELETE", f"/crm/v4/objects/tasks/{task_id}/associations/deals/4711") in hubspot.requests
    assert push(store, [_hs(hubspot)], public_url=PUBLIC).unchanged == 1


class _CrashingHubSpot(HubSpotTaskWriter):
    crashes: ClassVar[int] = 1

    def upsert(self, task: CrmTask, existing_id: str | None) -> str:
        task_id = super().upsert(task, existing_id)
        if type(self).crashes:
            type(self).crashes -= 1
            raise Interrupted
        return task_id


def test_hubspot_push_interrupted_after_the_create_never_duplicates(
    hubspot: FakeHubSpot,
    store: Store,  # noqa: F811
) -> None:
    _hs_deals(hubspot, store, "4711")
    _hs_deals(hubspot, store, "4712")
    cid = _items(store, "4711")
    hubspot.last_id = 199  # a task on the deal for another item whose id starts the same: not ours
    hubspot._create_task(
        query={},
        body={
            "properties": {"hs_task_body": f"Open in followthrough: {PUBLIC}/items/{cid}0"},
            "associations": [{"to": {"id": "4711"}, "types": [{"associationTypeId": 216}]}],
        },
    )
    _CrashingHubSpot.crashes = 1
    with pytest.raises(Interrupted):
        push(store, [_hs(hubspot)], public_url=PUBLIC, writers={"hubspot": _CrashingHubSpot})
    assert len(hubspot.objects["tasks"]) == 2  # ours reached HubSpot, the local commit did not happen

    report = push(store, [_hs(hubspot)], public_url=PUBLIC)
    assert (report.created, report.adopted, report.updated, report.failed) == (0, 1, 1, 0)  # adopted
    assert len(hubspot.objects["tasks"]) == 2
    ours = [
        t for t in hubspot.objects["tasks"].values() if carries_item(t["properties"]["hs_task_body"], cid)
    ]
    assert len(ours) == 1 and report.outcomes[0].task_id == ours[0]["id"]
    assert push(store, [_hs(hubspot)], public_url=PUBLIC).unchanged == 1


def test_pending_row_without_a_task_in_the_crm_is_created_once(hubspot: FakeHubSpot, store: Store) -> None:  # noqa: F811
    """Interrupted before the create reached HubSpot: the next push finds nothing and creates it."""
    _hs_deals(hubspot, store, "4711")
    cid = _items(store, "4711")
    store.record_pending_crm_task(cid, "hs", kind="hubspot", deal_crm_id="4711")
    report = push(store, [_hs(hubspot)], public_url=PUBLIC)
    assert report.created == 1 and len(hubspot.objects["tasks"]) == 1
    assert store.crm_tasks_pushed("hs") == 1


class _CrashingSalesforce(SalesforceTaskWriter):
    crashes: ClassVar[int] = 1

    def upsert(self, task: CrmTask, existing_id: str | None) -> str:
        task_id = super().upsert(task, existing_id)
        if type(self).crashes:
            type(self).crashes -= 1
            raise Interrupted
        return task_id


def test_salesforce_push_interrupted_after_the_create_never_duplicates(
    tmp_path: Path,
    store: Store,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with FakeSalesforce(tmp_path) as org:
        monkeypatch.setenv("SF_TOKEN", "00D-good-token")
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(org.ca_file))
        acme = org.add("Account", Name="Acme Corp")
        opp = org.add("Opportunity", Name="Acme Platform Expansion", AccountId=acme)
        store.upsert_crm(
            CrmData(deals=[Deal(crm_id=opp, name="Acme Platform Expansion", account_name="Acme Corp")])
        )
        _items(store, opp, due=date(2026, 3, 13))
        sf = SourceConfig(
            "sf", "salesforce", org.url, {"name": "sf", "kind": "salesforce", "token_env": "SF_TOKEN"}
        )
        _CrashingSalesforce.crashes = 1
        with pytest.raises(Interrupted):
            push(store, [sf], public_url=PUBLIC, writers={"salesforce": _CrashingSalesforce})
        assert len(org.tasks) == 1
        report = push(store, [sf], public_url=PUBLIC)
        assert (report.created, report.adopted, report.failed) == (0, 1, 0)
        assert len(org.tasks) == 1  # adopted by its link, never a second Task
        assert push(store, [sf], public_url=PUBLIC).unchanged == 1


def test_a_customers_own_promise_is_never_pushed(hubspot: FakeHubSpot, store: Store) -> None:  # noqa: F811
    """Extracted before the CRM said acme.com is a customer, the item kept "ours": the push leaves it out."""
    store.upsert_crm(CrmData(accounts=[Account(name="Acme Corp", domains=["acme.com"])]))
    _hs_deals(hubspot, store, "4711")
    _items(store, "4711", owner_email="dana@acme.com")
    report = push(store, [_hs(hubspot)], public_url=PUBLIC)
    assert (report.created, report.left_out) == (0, 1)
    assert hubspot.objects["tasks"] == {}
    assert "left out 1 (owner at a customer's domain)" in report.summary()


def test_hubspot_undated_task_is_dated_by_as_of(hubspot: FakeHubSpot, store: Store) -> None:  # noqa: F811
    _hs_deals(hubspot, store, "4711")
    _items(store, "4711", due=None)
    push(store, [_hs(hubspot)], public_url=PUBLIC, as_of=date(2026, 3, 16))
    (task,) = hubspot.objects["tasks"].values()
    assert task["properties"]["hs_timestamp"] == "2026-03-16T12:00:00.000Z"


def test_a_source_another_process_is_pushing_to_is_skipped(hubspot: FakeHubSpot, store: Store) -> None:  # noqa: F811
    _hs_deals(hubspot, store, "4711")
    _items(store, "4711")
    assert store.take_source_lease("hs", "hubspot", "push", "other-host:1:abcd") is None
    report = push(store, [_hs(hubspot)], public_url=PUBLIC)
    assert report.created == 0 and hubspot.objects["tasks"] == {}
    (line,) = report.busy
    assert line.startswith("source 'hs' is being pushed to by another process since ") and line.endswith(
        "; skipped"
    )
    store.release_source_lease("hs", "push", "other-host:1:abcd")
    assert push(store, [_hs(hubspot)], public_url=PUBLIC).created == 1
