"""Issue 11: closed sets are types, the CLI opens the store with ``with``, API tokens have their own names.

Statuses, flags, participant roles, extraction and run statuses are ``StrEnum`` types in
:mod:`followthrough.types`, used by the store's rows, views and filters, the API schema and the CLI
options; an unknown value is refused by its type. What is stored and exported stays the same strings.
"""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path

import pytest
import typer.core
import typer.main
from pydantic import ValidationError
from sqlalchemy import text
from typer.testing import CliRunner

import followthrough.cli
from followthrough.api import create_app
from followthrough.cli import app
from followthrough.config import Settings
from followthrough.types import (
    CommitmentStatus,
    ExtractionStatus,
    ItemFlag,
    Participant,
    ParticipantRole,
    RunStatus,
)
from store import CommitmentFilter, Store
from store.api_tokens import ApiTokens
from tests.store_fixtures import make_doc, make_item, store, store_url  # noqa: F401

AS_OF = date(2026, 3, 16)


def test_the_closed_sets_hold_every_value_the_code_writes() -> None:
    assert [*CommitmentStatus] == [
        "open",
        "review",
        "done",
        "dismissed",
        "snoozed",
        "waiting",
        "answered",
        "merged",
    ]
    assert set(ItemFlag) == {
        "ungrounded",
        "owner_not_participant",
        "customer_promise",
        "ticked",
        "unconfirmed",
        "instruction",
        "urgent",
        "stale",
        "fulfilled",
    }
    assert [*ParticipantRole] == ["sender", "recipient", "cc", "speaker", "attendee", "mentioned"]
    assert [*ExtractionStatus] == ["ok", "failed"]
    assert [*RunStatus] == ["running", "ok", "partial", "failed", "interrupted"]


def test_a_participant_role_is_typed_and_unknown_roles_are_refused() -> None:
    assert Participant(role="cc").role is ParticipantRole.CC
    with pytest.raises(ValidationError, match="role"):
        Participant(role="bcc")


@pytest.mark.parametrize(
    "field, value",
    [("status", "closed"), ("status", "OPEN"), ("flag", "bogus"), ("source", "fax"), ("type", "promise")],
)
def test_the_filter_refuses_an_unknown_value_by_its_type(field: str, value: str) -> None:
    with pytest.raises(ValidationError, match=field):
        CommitmentFilter(**{field: value})  # type: ignore[arg-type]


def test_views_hand_out_members_and_the_database_keeps_the_same_strings(store: Store) -> None:  # noqa: F811
    doc = make_doc()
    doc_id, _ = store.add_document(doc)
    run = store.start_run(extractor="offline", model="m", prompt_version="v1")
    assert store.get_run(run).status is RunStatus.RUNNING
    grounded = make_item(doc, "I'll send the revised pricing")
    ungrounded = make_item(doc, "We will give you a 50% discount", grounded=False)
    (cid,) = store.record_extraction(run, doc_id, "k", [grounded, ungrounded])
    store.finish_run(run, RunStatus.PARTIAL)
    view = store.get_commitment(cid, as_of=AS_OF)
    assert view.status is CommitmentStatus.OPEN and view.flags == []
    dismissed = store.list_commitments(CommitmentFilter(status=CommitmentStatus.DISMISSED, as_of=AS_OF))
    assert [v.flags for v in dismissed.items] == [[ItemFlag.UNGROUNDED]]
    assert all(type(f) is ItemFlag for f in dismissed.items[0].flags)
    assert store.get_run(run).status is RunStatus.PARTIAL
    by_flag = store.list_commitments(CommitmentFilter(status=None, flag=ItemFlag.UNGROUNDED, as_of=AS_OF))
    assert [v.id for v in by_flag.items] == [dismissed.items[0].id]
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT status, flags FROM commitments ORDER BY id")).all()
        runs = conn.execute(text("SELECT status FROM extraction_runs")).scalars().all()
        extractions = conn.execute(text("SELECT status FROM extractions")).scalars().all()
    assert [(type(s), s) for s, _ in rows] == [(str, "open"), (str, "dismissed")]
    assert [str(f).replace(" ", "") for _, f in rows] in (
        ["[]", '["ungrounded"]'],  # SQLite: JSON text
        ["[]", "['ungrounded']"],  # PostgreSQL: the driver decodes JSON
    )
    assert runs == ["partial"] and extractions == ["ok"]
    rows_out = list(store.export_rows(include_ungrounded=True))
    assert [(type(r["status"]), r["status"], r["flags"]) for r in rows_out] == [
        (CommitmentStatus, "open", []),
        (CommitmentStatus, "dismissed", ["ungrounded"]),
    ]


def test_an_unknown_status_never_reaches_the_database(store: Store) -> None:  # noqa: F811
    doc = make_doc()
    doc_id, _ = store.add_document(doc)
    run = store.start_run(extractor="offline", model="m", prompt_version="v1")
    (cid,) = store.record_extraction(run, doc_id, "k", [make_item(doc, "I'll send the revised pricing")])
    with pytest.raises(ValueError, match="not a valid CommitmentStatus"):
        store.set_status(cid, "finished")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a valid ExtractionStatus"):
        store.record_extraction(run, doc_id, "k", [], status="skipped")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a valid RunStatus"):
        store.finish_run(run, "great")  # type: ignore[arg-type]
    assert store.get_commitment(cid).status is CommitmentStatus.OPEN
    assert store.set_status(cid, "done").status is CommitmentStatus.DONE  # type: ignore[arg-type]


def test_the_openapi_schema_names_the_closed_sets() -> None:
    spec = create_app("sqlite://", settings=Settings(database_url="sqlite://", as_of=AS_OF)).openapi()
    schemas = spec["components"]["schemas"]
    assert schemas["CommitmentStatus"]["enum"] == [*CommitmentStatus]
    assert schemas["ItemFlag"]["enum"] == [*ItemFlag]
    assert schemas["ParticipantRole"]["enum"] == [*ParticipantRole]
    ref = "#/components/schemas/"
    assert schemas["CommitmentView"]["properties"]["status"] == {"$ref": ref + "CommitmentStatus"}
    assert schemas["CommitmentView"]["properties"]["flags"]["items"] == {"$ref": ref + "ItemFlag"}
    assert schemas["ParticipantIn"]["properties"]["role"]["$ref"] == ref + "ParticipantRole"
    (status,) = [p for p in spec["paths"]["/v1/commitments"]["get"]["parameters"] if p["name"] == "status"]
    assert status["schema"]["anyOf"] == [
        {"$ref": ref + "CommitmentStatus"},
        {"const": "all", "type": "string"},
    ]


def test_cli_options_are_choices_of_the_closed_sets(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"FOLLOWTHROUGH_DATABASE_URL": f"sqlite:///{tmp_path / 'ft.db'}"}
    for option, value in (("--status", "closed"), ("--source", "fax"), ("--type", "promise")):
        res = runner.invoke(app, ["commitments", "list", option, value], env=env)
        assert res.exit_code == 2, (option, res.output)  # a usage error, not a run-time one
    for status in [*CommitmentStatus, "all"]:
        res = runner.invoke(app, ["commitments", "list", "--status", status, "--json"], env=env)
        assert res.exit_code == 0 and res.output.strip() == "[]", (status, res.output)


def test_every_cli_command_closes_the_store_with_with() -> None:
    for module in Path(followthrough.cli.__file__).parent.glob("*.py"):
        source = module.read_text(encoding="utf-8")
        assert "store.close()" not in source, f"{module.name}: use `with st.open_store() as store:`"


def test_api_tokens_have_names_of_their_own(tmp_path: Path) -> None:
    assert importlib.util.find_spec("store.tokens") is None
    assert importlib.util.find_spec("followthrough.cli.tokens") is None
    root = typer.main.get_command(followthrough.cli.app)  # the command is unchanged
    assert isinstance(root, typer.core.TyperGroup) and "tokens" in root.list_commands(typer.Context(root))
    with Store(f"sqlite:///{tmp_path / 'ft.db'}") as s:
        info, secret = ApiTokens(s.engine).create("bot")
        assert ApiTokens(s.engine).verify(secret) is not None and info.name == "bot"
