"""API tokens: created once, stored hashed, verified, listed, revoked; the ``tokens`` commands."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from followthrough.cli import app as cli
from followthrough.errors import StoreError
from store import Store
from store.api_tokens import PREFIX_LEN, ApiTokens
from store.models import ApiTokenRow
from tests.api_support import BACKENDS, database


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with database(request.param, "test_tokens", tmp_path) as url, Store(url) as s:
        yield s


def test_a_token_is_shown_once_and_stored_only_as_a_hash(store: Store) -> None:
    info, secret = ApiTokens(store.engine).create("crm-sync")
    assert secret.startswith("ft_") and len(secret) >= 40
    assert info.prefix == secret[:PREFIX_LEN] and info.name == "crm-sync" and not info.read_only
    with store.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(ApiTokenRow.__table__))]
    (row,) = rows
    assert row["token_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert not any(secret in str(v) for v in row.values())  # no plaintext in any column
    listed = ApiTokens(store.engine).list()
    assert [t.name for t in listed] == ["crm-sync"]
    assert secret not in listed[0].model_dump_json()


def test_verify_accepts_the_token_and_refuses_others(store: Store) -> None:
    tokens = ApiTokens(store.engine)
    _, secret = tokens.create("bot", read_only=True)
    who = tokens.verify(secret)
    assert who is not None and who.name == "bot" and who.read_only
    for wrong in ("", secret[:-1], secret + "x", secret.upper(), "ft_" + "A" * 43, "x" * 10_000):
        assert tokens.verify(wrong) is None


def test_a_revoked_token_no_longer_verifies(store: Store) -> None:
    tokens = ApiTokens(store.engine)
    _, secret = tokens.create("old")
    revoked = tokens.revoke("old")
    assert revoked.revoked_at is not None
    assert tokens.verify(secret) is None
    with pytest.raises(StoreError, match="already revoked"):
        tokens.revoke("old")
    with pytest.raises(StoreError, match="no token named 'missing'"):
        tokens.revoke("missing")
    assert [t.name for t in tokens.list(include_revoked=False)] == []


def test_revoke_by_id(store: Store) -> None:
    tokens = ApiTokens(store.engine)
    info, secret = tokens.create("by-id")
    tokens.revoke(str(info.id))
    assert tokens.verify(secret) is None


def test_names_are_unique_and_must_not_be_empty(store: Store) -> None:
    tokens = ApiTokens(store.engine)
    tokens.create("ci")
    with pytest.raises(StoreError, match="already exists"):
        tokens.create("ci")
    with pytest.raises(StoreError, match="1 to 200 characters"):
        tokens.create("   ")


def test_last_used_at_is_recorded_at_most_once_a_minute(store: Store) -> None:
    tokens = ApiTokens(store.engine)
    _, secret = tokens.create("busy")
    assert tokens.list()[0].last_used_at is None
    assert tokens.verify(secret) is not None
    first = tokens.list()[0].last_used_at
    assert first is not None
    tokens.verify(secret, now=first + timedelta(seconds=30))
    assert tokens.list()[0].last_used_at == first
    later = first + timedelta(minutes=2)
    tokens.verify(secret, now=later)
    assert tokens.list()[0].last_used_at == later


# ------------------------------------------------------------------------ CLI


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_tokens_create_prints_the_token_on_its_last_line(db: str) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["--db", db, "tokens", "create", "--name", "dashboard", "--read-only"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    assert secret.startswith("ft_")
    assert "not shown again" in result.stderr
    with Store(db) as store:
        who = ApiTokens(store.engine).verify(secret)
    assert who is not None and who.name == "dashboard" and who.read_only


def test_tokens_list_shows_the_prefix_never_the_secret(db: str) -> None:
    runner = CliRunner()
    secret = (
        runner.invoke(cli, ["--db", db, "tokens", "create", "--name", "etl"]).stdout.strip().splitlines()[-1]
    )
    table = runner.invoke(cli, ["--db", db, "tokens", "list"])
    assert table.exit_code == 0
    assert "etl" in table.stdout and secret[:PREFIX_LEN] in table.stdout and secret not in table.stdout
    as_json = json.loads(runner.invoke(cli, ["--db", db, "tokens", "list", "--json"]).stdout)
    assert as_json[0]["name"] == "etl" and as_json[0]["prefix"] == secret[:PREFIX_LEN]
    assert as_json[0]["read_only"] is False and as_json[0]["revoked_at"] is None
    assert secret not in json.dumps(as_json)


def test_tokens_revoke(db: str) -> None:
    runner = CliRunner()
    runner.invoke(cli, ["--db", db, "tokens", "create", "--name", "temp"])
    result = runner.invoke(cli, ["--db", db, "tokens", "revoke", "temp"])
    assert result.exit_code == 0 and "Revoked token 'temp'" in result.stdout
    again = runner.invoke(cli, ["--db", db, "tokens", "revoke", "temp"])
    assert again.exit_code != 0 and isinstance(again.exception, StoreError)
    assert json.loads(runner.invoke(cli, ["--db", db, "tokens", "list", "--json"]).stdout)[0]["revoked_at"]
