"""Issue 15: the sync framework without a server: the config file, the per-source state in the store
(SQLite and PostgreSQL), the resumable runner, and the ``sync`` / ``sources`` commands' errors."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest

from followthrough.cli.sync import parse_interval
from followthrough.pipeline import RunReport
from followthrough.sync import runner
from followthrough.sync.base import LiveSource, Pulled, SourceConfig, SourceError
from followthrough.sync.config import ConfigFileError, load, parse
from followthrough.types import Account, CrmData, Deal
from store import Store
from tests.clirunner import followthrough
from tests.store_fixtures import make_doc, store, store_url  # noqa: F401 - fixtures

# --- config file ------------------------------------------------------------------------------------


def _imap(name: str = "mail", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "imap",
        "url": "imaps://ops@mail.example.com:993",
        "password_env": "PW",
        **extra,
    }


def test_config_reads_sources_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "custom.toml"
    path.write_text(
        '[[source]]\nname = "a"\nkind = "imap"\nurl = "imap://u@127.0.0.1:1143?starttls=required"\n'
        'password_env = "A_PW"\nfolders = ["INBOX", "Sent"]\n\n'
        '[[source]]\nname = "b"\nkind = "imap"\nurl = "imaps://u@host"\n'
        'auth = "xoauth2"\ntoken_env = "B_TOKEN"\n'
    )
    monkeypatch.setenv("FOLLOWTHROUGH_CONFIG", str(path))
    config = load()
    assert [s.name for s in config.sources] == ["a", "b"]
    assert config.sources[0].options["folders"] == ["INBOX", "Sent"]
    assert [s.name for s in config.select(["b"])] == ["b"]
    with pytest.raises(ConfigFileError, match="no source named 'c'"):
        config.select(["c"])


def test_config_problems_are_one_line_each_naming_file_and_source(tmp_path: Path) -> None:
    path = tmp_path / "followthrough.toml"
    data = {
        "source": [
            _imap("ok"),
            _imap("ok"),  # duplicate name
            {"name": "x", "kind": "pop3"},
            _imap("inline", password="hunter2"),
            _imap("in-url", url="imap://ops:hunter2@mail.example.com"),
            _imap("scheme", url="https://mail.example.com"),
            _imap("folders", folders="INBOX"),
            {"kind": "imap", "url": "imap://u@h", "password_env": "PW"},
        ]
    }
    with pytest.raises(ConfigFileError) as caught:
        parse(data, path)
    lines = caught.value.problems
    assert all(line.startswith(f"{path}: ") for line in lines)
    joined = "\n".join(lines)
    assert "source 'ok': name is used by another" in joined
    assert "source 'x': kind must be one of" in joined
    assert "source 'inline': password is a secret written in the file" in joined
    assert "source 'in-url': url holds a password" in joined
    assert "source 'scheme': url must start with imap:// or imaps://" in joined
    assert "source 'folders': folders must be a list" in joined
    assert "[[source]] #8: name is missing" in joined
    assert "hunter2" not in joined


def test_missing_or_broken_config_file_is_exit_2(tmp_path: Path) -> None:
    env = {"FOLLOWTHROUGH_CONFIG": str(tmp_path / "none.toml")}
    r = followthrough("sync", db=tmp_path / "db.sqlite", env=env)
    assert r.returncode == 2
    assert "none.toml: no config file" in r.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text('[[source]]\nname = "m"\nkind = "imap"\nurl = "imap://u@h"\npassword = "s3cret"\n')
    for command in ("sync", "sources"):
        r = followthrough(command, db=tmp_path / "db.sqlite", env={"FOLLOWTHROUGH_CONFIG": str(bad)})
        assert r.returncode == 2, r.stderr
        assert "bad.toml: source 'm': password is a secret" in r.stderr and "s3cret" not in r.stderr
    good = tmp_path / "good.toml"
    good.write_text(
        '[[source]]\nname = "m"\nkind = "imap"\nurl = "imap://u@127.0.0.1:9"\npassword_env = "PW"\n'
    )
    r = followthrough("sync", "other", db=tmp_path / "db.sqlite", env={"FOLLOWTHROUGH_CONFIG": str(good)})
    assert r.returncode == 2 and "no source named 'other'" in r.stderr
    r = followthrough(
        "sync", "--watch", "soon", db=tmp_path / "db.sqlite", env={"FOLLOWTHROUGH_CONFIG": str(good)}
    )
    assert r.returncode == 2 and "--watch" in r.stderr


def test_parse_interval() -> None:
    assert parse_interval("30s") == 30
    assert parse_interval("5m") == 300
    assert parse_interval("1h") == 3600
    assert parse_interval("250ms") == pytest.approx(0.25)
    assert parse_interval("2") == 2
    for bad in ("", "0s", "five", "-1m"):
        with pytest.raises(ValueError):
            parse_interval(bad)


def test_secret_names_the_source_and_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    config = SourceConfig("mail", "imap", "imap://u@h", {"password_env": "FT_UNSET_PW"})
    monkeypatch.delenv("FT_UNSET_PW", raising=False)
    with pytest.raises(SourceError, match="source 'mail'.*FT_UNSET_PW"):
        config.secret("password_env")
    monkeypatch.setenv("FT_UNSET_PW", "s3cret")
    assert config.secret("password_env") == "s3cret"


# --- runner and store, with a source in memory ------------------------------------------------------


class Scripted(LiveSource):
    """Batches of documents numbered from the cursor on: ``total`` in all, ``size`` a batch; raises
    ``fail`` (an exception) when about to pull batch number ``fail_at``."""

    kind: ClassVar[str] = "scripted"
    pulls: ClassVar[list[dict[str, str]]] = []

    def __init__(
        self,
        config: SourceConfig,
        *,
        total: int = 7,
        size: int = 3,
        fail_at: int | None = None,
        fail: BaseException | None = None,
        crm: bool = False,
    ) -> None:
        super().__init__(config)
        self.total, self.size, self.fail_at, self.fail, self.crm = total, size, fail_at, fail, crm
        self.closed = False

    def pull(self, cursor: Mapping[str, str]) -> Iterator[Pulled]:
        Scripted.pulls.append(dict(cursor))
        done = int(cursor.get("n", "0"))
        batch = 0
        while done < self.total:
            if self.fail_at is not None and batch == self.fail_at and self.fail is not None:
                raise self.fail
            upto = min(self.total, done + self.size)
            docs = [
                make_doc(f"<{self.config.name}-{i}@acme.com>", f"I'll send part {i} by Friday.")
                for i in range(done, upto)
            ]
            crm = None
            if self.crm and batch == 0:
                crm = CrmData(
                    accounts=[Account(name="Acme", domains=["acme.com"])],
                    deals=[Deal(crm_id="D-1", name="Acme renewal", account_name="Acme")],
                )
            done = upto
            batch += 1
            yield Pulled(docs, crm, {"n": str(done)})

    def close(self) -> None:
        self.closed = True


def _config(name: str = "s") -> SourceConfig:
    return SourceConfig(name, "scripted", None, {})


def test_batches_and_cursor_are_saved_together_and_a_rerun_resumes(store: Store) -> None:  # noqa: F811
    config = _config()
    report = RunReport()
    broken = Scripted(config, fail_at=2, fail=KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        runner.sync_sources(store, [config], report, set(), open_source=lambda c: broken)
    assert broken.closed
    state = store.source_state("s")
    assert (
        state is not None and state.cursor == {"n": "6"} and state.batches == 2 and state.last_sync_at is None
    )
    assert store.count_documents() == {"email": 6}

    Scripted.pulls.clear()
    report = RunReport()
    outcomes = runner.sync_sources(store, [config], report, set(), open_source=lambda c: Scripted(c))
    assert Scripted.pulls == [{"n": "6"}]  # resumed from the last saved batch
    assert outcomes[0].documents_seen == 1 and report.documents_new == 1
    assert store.count_documents() == {"email": 7}
    state = store.source_state("s")
    assert state is not None and state.last_sync_at is not None and state.last_error is None
    assert state.documents == 7 and state.batches == 3


def test_a_failing_source_is_one_line_and_the_next_still_syncs(store: Store) -> None:  # noqa: F811
    bad, good = _config("bad"), _config("good")
    sources = {
        "bad": lambda c: Scripted(
            c, fail_at=1, fail=SourceError("source 'bad': token revoked: create a new one")
        ),
        "good": lambda c: Scripted(c, crm=True),
    }
    report = RunReport()
    outcomes = runner.sync_sources(
        store, [bad, good], report, set(), open_source=lambda c: sources[c.name](c)
    )
    assert [str(e) for e in report.errors] == ["source 'bad': token revoked: create a new one"]
    assert [o.error for o in outcomes] == ["source 'bad': token revoked: create a new one", None]
    assert report.inputs == 2 and report.processed_anything
    assert report.crm["accounts_added"] == 1 and report.crm["deals_added"] == 1
    states = store.source_states()
    assert states["bad"].last_error and states["bad"].cursor == {"n": "3"}  # its first batch is kept
    assert states["good"].last_error is None and states["good"].crm_records == 2


def test_stop_request_ends_after_the_current_batch(store: Store) -> None:  # noqa: F811
    config = _config()
    saved: list[int] = []

    def stop() -> bool:
        saved.append(1)
        return len(saved) >= 2

    outcomes = runner.sync_sources(
        store, [config], RunReport(), set(), open_source=lambda c: Scripted(c), stop=stop
    )
    assert outcomes[0].stopped and outcomes[0].batches == 1
    state = store.source_state("s")
    assert state is not None and state.cursor == {"n": "3"} and state.last_sync_at is None


def test_sources_lists_state_and_never_a_secret(tmp_path: Path) -> None:
    path = tmp_path / "followthrough.toml"
    path.write_text(
        '[[source]]\nname = "mail"\nkind = "imap"\nurl = "imap://ops@127.0.0.1:9"\npassword_env = "PW"\n'
    )
    db = tmp_path / "db.sqlite"
    with Store(f"sqlite:///{db}") as s:
        s.save_source_batch("mail", "imap", [make_doc()], {"INBOX.uidvalidity": "5", "INBOX.uid": "42"})
        s.source_failed("mail", "imap", "source 'mail': 127.0.0.1:9 refused the login")
    r = followthrough("sources", "--json", db=db, env={"FOLLOWTHROUGH_CONFIG": str(path), "PW": "s3cret"})
    assert r.returncode == 0, r.stderr
    (row,) = json.loads(r.stdout)
    assert row["cursor"] == {"INBOX.uidvalidity": "5", "INBOX.uid": "42"} and row["documents"] == 1
    assert "refused the login" in row["last_error"] and row["last_sync_at"] is None
    r = followthrough("sources", db=db, env={"FOLLOWTHROUGH_CONFIG": str(path), "PW": "s3cret"})
    assert (
        r.returncode == 0 and "mail" in r.stdout and "INBOX uid 42" in r.stdout and "s3cret" not in r.stdout
    )
