"""Issue 15: ``followthrough crm push`` writes open linked commitments to the CRM as tasks, idempotently.

Against a fake Salesforce org on loopback HTTPS (:mod:`tests.fake_salesforce`), driven through
simple-salesforce; the store is real (SQLite, and PostgreSQL when configured).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import pytest

from followthrough.crm_push.base import CrmTask, TaskRejected, TaskWriter
from followthrough.crm_push.runner import push
from followthrough.crm_push.salesforce import SalesforceTaskWriter
from followthrough.sync.base import SourceConfig, SourceError
from followthrough.types import CommitmentStatus, CrmData, Deal, RunStatus
from store import Store
from tests.clirunner import followthrough
from tests.fake_hubspot import FakeHubSpot
from tests.fake_salesforce import FakeSalesforce
from tests.store_fixtures import make_doc, make_item, store, store_url  # noqa: F401

TOKEN = "00D-good-token"
PUBLIC = "https://ft.example.com"
TEXT = (
    "Thanks Dana. I'll send the revised pricing to you by Friday. "
    "I will set up the SSO call with your team. "
    "We will share the security questionnaire. "
    "I'll check the renewal terms. "
    "Our intern will draft the onboarding plan."
)


@dataclass
class World:
    org: FakeSalesforce
    db: str
    env: dict[str, str]
    opp1: str
    opp2: str
    ids: dict[str, int]

    def push(self, *args: str) -> Any:
        return followthrough("crm", "push", *args, db=self.db, env=self.env)

    def task_of(self, cid: int) -> dict[str, Any]:
        (task,) = [t for t in self.org.tasks if f"/items/{cid}" in t["Description"]]
        return task

    def writes(self) -> int:
        return sum(1 for method, path in self.org.requests if method in ("POST", "PATCH") and "Task" in path)


def _config(tmp_path: Path, org: FakeSalesforce) -> Path:
    path = tmp_path / "followthrough.toml"
    path.write_text(
        f'[[source]]\nname = "sf"\nkind = "salesforce"\nurl = "{org.url}"\ntoken_env = "SF_TOKEN"\n'
    )
    return path


@pytest.fixture
def world(tmp_path: Path, store: Store, store_url: str) -> Iterator[World]:  # noqa: F811
    with FakeSalesforce(tmp_path) as org:
        acme = org.add("Account", Name="Acme Corp")
        org.add("User", Email="marco@northwind.io", IsActive=True)
        opp1 = org.add("Opportunity", Name="Acme Platform Expansion", AccountId=acme)
        opp2 = org.add("Opportunity", Name="Acme Analytics Pilot", AccountId=acme)
        store.upsert_crm(
            CrmData(
                deals=[
                    Deal(crm_id=opp1, name="Acme Platform Expansion", account_name="Acme Corp"),
                    Deal(crm_id=opp2, name="Acme Analytics Pilot", account_name="Acme Corp"),
                ]
            )
        )
        doc = make_doc(text=TEXT, title="Re: pricing")
        doc_id, _ = store.add_document(doc)
        run = store.start_run(extractor="offline", model="m", prompt_version="v1")
        quotes = {
            "pricing": "I'll send the revised pricing to you by Friday",
            "sso": "I will set up the SSO call with your team",
            "questionnaire": "We will share the security questionnaire",
            "renewal": "I'll check the renewal terms",
            "intern": "Our intern will draft the onboarding plan",
        }
        ids: dict[str, int] = {}
        for key, quote in quotes.items():
            owner = ("Ivy", "ivy@northwind.io") if key == "intern" else ("Marco Rossi", "marco@northwind.io")
            item = make_item(doc, quote, owner=owner[0], owner_email=owner[1], due=date(2026, 3, 13))
            (ids[key],) = store.record_extraction(run, doc_id, f"k-{key}", [item])
        store.finish_run(run, RunStatus.OK)
        store.set_deal(ids["pricing"], opp1)
        store.set_deal(ids["sso"], opp2)
        store.set_deal(ids["renewal"], opp1)
        store.set_deal(ids["intern"], opp2)
        store.set_deal(ids["questionnaire"], None)  # unlinked: nothing to push it to
        store.set_status(ids["renewal"], CommitmentStatus.DONE)  # closed before any push: never pushed
        env = {
            "FOLLOWTHROUGH_CONFIG": str(_config(tmp_path, org)),
            "SF_TOKEN": TOKEN,
            "REQUESTS_CA_BUNDLE": str(org.ca_file),
            "FOLLOWTHROUGH_PUBLIC_URL": PUBLIC,
        }
        yield World(org, store_url, env, opp1, opp2, ids)


def test_push_creates_one_task_per_open_linked_commitment_then_none(world: World) -> None:
    first = world.push("--as-of", "2026-03-16")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "created 3, updated 0, unchanged 0, failed 0"
    assert len(world.org.tasks) == 3
    pricing = world.task_of(world.ids["pricing"])
    assert pricing["Subject"] == "I'll send the revised pricing to you by Friday"
    assert pricing["WhatId"] == world.opp1
    assert pricing["ActivityDate"] == "2026-03-13"
    assert pricing["Status"] == "Not Started"
    assert pricing["OwnerId"] == next(iter(world.org.records["User"]))
    body = pricing["Description"]
    assert "“I'll send the revised pricing to you by Friday”" in body  # the verbatim quote
    assert "Marco Rossi <marco@northwind.io>" in body and "Re: pricing" in body and "2026-03-10" in body
    assert f"{PUBLIC}/items/{world.ids['pricing']}" in body
    assert world.task_of(world.ids["sso"])["WhatId"] == world.opp2
    intern = world.task_of(world.ids["intern"])
    assert "OwnerId" not in intern  # no Salesforce user with that email: left to the integration user
    writes = world.writes()

    second = world.push("--as-of", "2026-03-16")
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "created 0, updated 0, unchanged 3, failed 0"
    assert len(world.org.tasks) == 3 and world.writes() == writes  # nothing sent at all


def test_changed_due_date_updates_closed_commitment_completes(world: World, store: Store) -> None:  # noqa: F811
    assert world.push().returncode == 0
    store.correct(world.ids["pricing"], actor="test", due=date(2026, 3, 20))
    store.set_status(world.ids["sso"], CommitmentStatus.DISMISSED)
    dry = world.push("--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.strip() == "would create 0, would update 2 (1 completed), unchanged 1, failed 0"
    assert world.task_of(world.ids["pricing"])["ActivityDate"] == "2026-03-13"  # a dry run changes nothing

    result = world.push("--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["created"], report["updated"], report["completed"], report["unchanged"]) == (0, 2, 1, 1)
    assert {t["commitment_id"]: t["action"] for t in report["tasks"]} == {
        world.ids["pricing"]: "updated",
        world.ids["sso"]: "completed",
    }
    assert len(world.org.tasks) == 3  # updated in place, never duplicated
    assert world.task_of(world.ids["pricing"])["ActivityDate"] == "2026-03-20"
    assert world.task_of(world.ids["sso"])["Status"] == "Completed"
    assert world.push().stdout.strip() == "created 0, updated 0, unchanged 3, failed 0"

    store.set_status(world.ids["sso"], CommitmentStatus.OPEN)  # reopened: the task is open again
    assert world.push().stdout.strip() == "created 0, updated 1, unchanged 2, failed 0"
    assert world.task_of(world.ids["sso"])["Status"] == "Not Started"


def test_revoked_token_is_one_line_and_exit_1(world: World) -> None:
    world.org.revoke(TOKEN)
    result = world.push()
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "source 'sf'" in lines[0] and "INVALID_SESSION_ID" in lines[0] and "revoked" in lines[0]
    assert TOKEN not in result.stderr
    assert result.stdout.strip() == "created 0, updated 0, unchanged 0, failed 3"
    assert world.org.tasks == []
    world.org.tokens.add(TOKEN)  # a new token: the next push creates them all
    assert world.push().stdout.strip() == "created 3, updated 0, unchanged 0, failed 0"


def test_a_refused_task_fails_alone(world: World) -> None:
    del world.org.records["Opportunity"][world.opp2]  # deleted in Salesforce since the import
    result = world.push()
    assert result.returncode == 3, result.stderr  # partial: the rest was pushed
    assert result.stdout.strip() == "created 1, updated 0, unchanged 0, failed 2"
    assert "FIELD_INTEGRITY_EXCEPTION" in result.stderr and len(result.stderr.strip().splitlines()) == 2


def test_config_errors(world: World, tmp_path: Path) -> None:
    missing = followthrough(
        "crm", "push", db=world.db, env={**world.env, "FOLLOWTHROUGH_CONFIG": str(tmp_path / "no.toml")}
    )
    assert missing.returncode == 2 and "no config file" in missing.stderr
    unknown = world.push("--source", "hubspot-eu")
    assert unknown.returncode == 2 and "no source named 'hubspot-eu'" in unknown.stderr
    assert world.org.tasks == []


@dataclass
class _Memory(TaskWriter):
    """A CRM in memory that owns numeric deal ids (as HubSpot's are)."""

    kind: ClassVar[str] = "memory"
    sent: ClassVar[list[tuple[str, CrmTask, str | None]]] = []

    def __init__(self, config: SourceConfig) -> None:
        super().__init__(config)

    @classmethod
    def claims(cls, deal_crm_id: str) -> bool:
        return deal_crm_id.isdigit()

    def upsert(self, task: CrmTask, existing_id: str | None) -> str:
        if task.subject.startswith("Our intern"):
            raise TaskRejected("source 'mem': refused")
        if task.subject.startswith("We will"):
            raise SourceError("source 'mem': token revoked")
        self.sent.append((self.config.name, task, existing_id))
        return existing_id or f"T{len(self.sent)}"


def test_several_crms_each_get_their_own_deals(store: Store) -> None:  # noqa: F811
    store.upsert_crm(
        CrmData(
            deals=[
                Deal(crm_id="006000000000123AAA", name="SF deal", account_name="Acme Corp"),
                Deal(crm_id="4711", name="HubSpot deal", account_name="Acme Corp"),
            ]
        )
    )
    doc = make_doc(text=TEXT)
    doc_id, _ = store.add_document(doc)
    run = store.start_run(extractor="offline", model="m", prompt_version="v1")
    cid = {}
    for key, quote in [
        ("pricing", "I'll send the revised pricing to you by Friday"),
        ("sso", "I will set up the SSO call with your team"),
        ("intern", "Our intern will draft the onboarding plan"),
        ("questionnaire", "We will share the security questionnaire"),
    ]:
        (cid[key],) = store.record_extraction(run, doc_id, key, [make_item(doc, quote)])
    store.set_deal(cid["sso"], "006000000000123AAA")
    for key in ("pricing", "intern", "questionnaire"):
        store.set_deal(cid[key], "4711")
    sf, mem, mem2 = (
        SourceConfig(n, k, None, {}) for n, k in [("sf", "salesforce"), ("mem", "memory"), ("mem2", "memory")]
    )
    writers: dict[str, type[TaskWriter]] = {"memory": _Memory, "salesforce": SalesforceTaskWriter}
    _Memory.sent.clear()
    # "4711" is not an Opportunity Id: it goes to the first source that claims it ("mem"), never to "mem2".
    assert push(store, [sf, mem, mem2], only="mem2", public_url=PUBLIC, writers=writers).created == 0
    report = push(store, [sf, mem, mem2], only="mem", public_url=PUBLIC, writers=writers)
    assert [(name, task.deal_crm_id, task.commitment_id) for name, task, _ in _Memory.sent] == [
        ("mem", "4711", cid["pricing"])
    ]
    # A refused task fails alone; any other error stops the push to that source.
    assert (report.created, report.failed, report.stopped) == (1, 2, ["mem"])
    assert report.errors == [f"source 'mem': refused (item {cid['intern']})", "source 'mem': token revoked"]
    dry = push(store, [sf, mem, mem2], only="sf", public_url=PUBLIC, writers=writers, dry_run=True)
    assert [(o.commitment_id, o.action) for o in dry.outcomes] == [(cid["sso"], "created")]


def test_salesforce_and_hubspot_side_by_side(world: World, store: Store, tmp_path: Path) -> None:  # noqa: F811
    """Both CRMs configured (HubSpot first in the file): Opportunity ids go to Salesforce, the rest to
    HubSpot, through the real HubSpot client against the fake HubSpot portal."""
    hubspot = FakeHubSpot().start()
    try:
        hubspot.put("deals", "4711", dealname="Acme Add-on", pipeline="default", dealstage="qualified")
        store.upsert_crm(CrmData(deals=[Deal(crm_id="4711", name="Acme Add-on", account_name="Acme Corp")]))
        store.set_deal(world.ids["questionnaire"], "4711")
        config = tmp_path / "both.toml"
        config.write_text(
            f'[[source]]\nname = "hs"\nkind = "hubspot"\nurl = "{hubspot.url}"\ntoken_env = "HS_TOKEN"\n\n'
            + _config(tmp_path, world.org).read_text()
        )
        env = {**world.env, "FOLLOWTHROUGH_CONFIG": str(config), "HS_TOKEN": hubspot.token}
        first = followthrough("crm", "push", db=world.db, env=env)
        assert first.returncode == 0, first.stderr
        assert first.stdout.strip() == "created 4, updated 0, unchanged 0, failed 0"
        assert len(world.org.tasks) == 3
        (task,) = hubspot.objects["tasks"].values()
        assert task["properties"]["hs_task_subject"] == "We will share the security questionnaire"
        assert f"{PUBLIC}/items/{world.ids['questionnaire']}" in task["properties"]["hs_task_body"]
        again = followthrough("crm", "push", db=world.db, env=env)
        assert again.stdout.strip() == "created 0, updated 0, unchanged 4, failed 0"
        store.set_status(world.ids["questionnaire"], CommitmentStatus.DONE)
        only_hs = followthrough("crm", "push", "--source", "hs", db=world.db, env=env)
        assert only_hs.stdout.strip() == "created 0, updated 1 (1 completed), unchanged 0, failed 0"
        assert task["properties"]["hs_task_status"] == "COMPLETED" and len(hubspot.objects["tasks"]) == 1
    finally:
        hubspot.stop()
