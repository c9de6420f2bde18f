"""Issue 15, a new user's findings on ``sync``, ``sources`` and the config file: typos in a
``[[source]]`` are errors that suggest the key meant, settings are never masked as secrets, the
``sources`` table never drops a column, two syncs of one source never run at once, Ctrl-C is one
line and exit 130, and errors say what to fix (XOAUTH2 not offered, an untrusted certificate, the
variable holding a refused token).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from followthrough.sync.config import ConfigFileError, parse
from followthrough.types import CrmData, Deal
from store import Store
from tests.clirunner import followthrough
from tests.fake_hubspot import FakeHubSpot
from tests.fake_salesforce import FakeSalesforce
from tests.store_fixtures import make_doc, store, store_url  # noqa: F401 - fixtures
from tests.test_issue15_imap import ImapServer, imap_server, imap_source, load_demo, write_config  # noqa: F401

IMAP = '[[source]]\nname = "mail"\nkind = "imap"\nurl = "imap://ops@127.0.0.1:9"\npassword_env = "PW"\n'


def _problems(tmp_path: Path, **table: Any) -> list[str]:
    source = {"name": "mail", "kind": "imap", "url": "imap://ops@127.0.0.1:9", "password_env": "PW", **table}
    with pytest.raises(ConfigFileError) as caught:
        parse({"source": [source]}, tmp_path / "followthrough.toml")
    return caught.value.problems


def test_unknown_keys_are_errors_that_name_the_key_meant(tmp_path: Path) -> None:
    (line,) = _problems(tmp_path, folder=["INBOX"])
    assert "source 'mail': unknown key 'folder' (did you mean folders?)" in line
    assert "imap sources take: auth, batch_size, folders, kind, name, password_env" in line
    (line,) = _problems(tmp_path, bacth_size=50)
    assert "unknown key 'bacth_size' (did you mean batch_size?)" in line
    hubspot = {"name": "crm", "kind": "hubspot", "token_env": "T", "folders": ["INBOX"]}
    with pytest.raises(ConfigFileError) as caught:
        parse({"source": [hubspot]}, tmp_path / "f.toml")
    (line,) = caught.value.problems
    assert "unknown key 'folders'; hubspot sources take: kind, name, token_env, url" in line


def test_settings_are_shown_as_written_and_only_secrets_masked(tmp_path: Path) -> None:
    path = tmp_path / "followthrough.toml"
    path.write_text(IMAP + 'auth = "password"\nbatch_size = 0\n')
    r = followthrough("sync", db=tmp_path / "db.sqlite", env={"FOLLOWTHROUGH_CONFIG": str(path)})
    assert r.returncode == 2
    assert "batch_size must be a whole number" in r.stderr and "***" not in r.stderr
    path.write_text(IMAP + 'auth = "pasword"\n')
    r = followthrough("sync", db=tmp_path / "db.sqlite", env={"FOLLOWTHROUGH_CONFIG": str(path)})
    assert r.returncode == 2 and "(got 'pasword')" in r.stderr and "***" not in r.stderr
    path.write_text(IMAP.replace("ops@", "ops:hunter2@") + 'auth = "password"\n')
    r = followthrough("sync", db=tmp_path / "db.sqlite", env={"FOLLOWTHROUGH_CONFIG": str(path)})
    assert r.returncode == 2 and "url holds a password" in r.stderr and "hunter2" not in r.stderr


def test_an_unknown_kind_is_that_problem_only(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError) as caught:
        parse(
            {"source": [{"name": "m", "kind": "imaps", "url": "imaps://ops@host:993"}]}, tmp_path / "f.toml"
        )
    (line,) = caught.value.problems
    assert "kind must be one of hubspot, imap, salesforce, slack (got 'imaps' (did you mean imap?))" in line


def _sources_db(tmp_path: Path, error: str | None) -> tuple[Path, dict[str, str]]:
    path = tmp_path / "followthrough.toml"
    path.write_text(IMAP)
    db = tmp_path / "db.sqlite"
    with Store(f"sqlite:///{db}") as s:
        s.save_source_batch("mail", "imap", [make_doc()], {"INBOX.uidvalidity": "5", "INBOX.uid": "42"})
        s.source_synced("mail", "imap")
        if error:
            s.source_failed("mail", "imap", error)
    return db, {"FOLLOWTHROUGH_CONFIG": str(path)}


@pytest.mark.parametrize("columns", ["80", "40"])
def test_sources_shows_the_cursor_at_any_width_and_no_empty_error_column(
    tmp_path: Path, columns: str
) -> None:
    db, env = _sources_db(tmp_path, None)
    r = followthrough("sources", db=db, env={**env, "COLUMNS": columns})
    assert r.returncode == 0, r.stderr
    text = "".join(ch for ch in r.stdout if ch.isalnum())
    assert "mail" in text and "imap" in text and "INBOXuid42" in text  # the cursor, whole
    assert "Last error" not in r.stdout and "last error" not in r.stdout
    assert max(len(line) for line in r.stdout.splitlines()) <= int(columns)


@pytest.mark.parametrize("columns", ["80", "40"])
def test_sources_wraps_a_long_error_instead_of_dropping_columns(tmp_path: Path, columns: str) -> None:
    error = "source 'mail': 127.0.0.1:9 refused the login of ops: check the password in $PW (password_env)"
    db, env = _sources_db(tmp_path, error)
    r = followthrough("sources", db=db, env={**env, "COLUMNS": columns})
    assert r.returncode == 0, r.stderr
    text = "".join(ch for ch in r.stdout if ch.isalnum())
    assert "INBOXuid42" in text  # the cursor, whole
    assert "checkthepasswordinPWpasswordenv" in text  # the error, whole (wrapped)
    assert max(len(line) for line in r.stdout.splitlines()) <= int(columns)


def test_last_error_time_is_cleared_with_the_error(store: Store) -> None:  # noqa: F811
    store.source_failed("mail", "imap", "source 'mail': refused")
    store.source_synced("mail", "imap")
    state = store.source_state("mail")
    assert state is not None and state.last_error is None and state.last_error_at is None


def test_a_source_another_process_syncs_is_skipped_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "followthrough.toml"
    path.write_text(
        IMAP
        + '\n[[source]]\nname = "other"\nkind = "imap"\nurl = "imap://ops@127.0.0.1:9"\npassword_env = "PW"\n'
    )
    db = tmp_path / "db.sqlite"
    with Store(f"sqlite:///{db}") as s:
        assert s.take_source_lease("mail", "imap", "sync", "elsewhere:1:ab") is None
        assert s.take_source_lease("mail", "imap", "sync", "elsewhere:2:cd") is not None  # held
    r = followthrough("sync", db=db, env={"FOLLOWTHROUGH_CONFIG": str(path), "PW": "x"})
    lines = r.stderr.splitlines()
    busy = [line for line in lines if "being synced by another process since" in line]
    assert len(busy) == 1 and "source 'mail'" in busy[0], r.stderr
    assert any("source 'other'" in line and "error" in line for line in lines)  # the other one was tried
    assert not any("source 'mail'" in line and "error" in line for line in lines)
    assert "1 error," in r.stdout and "1 errors" not in r.stdout
    with Store(f"sqlite:///{db}") as s:  # released at the end: the next process takes it
        assert s.take_source_lease("other", "imap", "sync", "next:1:ef") is None


def test_ctrl_c_is_one_line_and_exit_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    path = tmp_path / "followthrough.toml"
    path.write_text(IMAP + '\n[[source]]\nname = "crm"\nkind = "hubspot"\ntoken_env = "T"\n')
    env = {"FOLLOWTHROUGH_CONFIG": str(path)}
    monkeypatch.setattr("followthrough.sync.runner.sync_sources", interrupted)
    monkeypatch.setattr("followthrough.crm_push.runner.push", interrupted)
    for command in (["sync"], ["crm", "push"]):
        r = followthrough(*command, db=tmp_path / "db.sqlite", env=env)
        assert r.returncode == 130, (command, r.stderr)
        assert r.stderr.strip().splitlines()[-1] == "interrupted: rerun to resume"


def test_crm_push_to_an_unknown_source_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "followthrough.toml"
    path.write_text('[[source]]\nname = "crm"\nkind = "hubspot"\ntoken_env = "T"\n')
    r = followthrough(
        "crm",
        "push",
        "--source",
        "nosuch",
        db=tmp_path / "db.sqlite",
        env={"FOLLOWTHROUGH_CONFIG": str(path)},
    )
    assert r.returncode == 2 and "no source named 'nosuch'" in r.stderr


def test_untrusted_certificate_is_one_line(tmp_path: Path, store: Store, store_url: str) -> None:  # noqa: F811
    with FakeSalesforce(tmp_path) as org:  # its certificate is signed by a CA nobody was told about
        acme = org.add("Account", Name="Acme Corp")
        org.add("Opportunity", Name="Acme Platform Expansion", AccountId=acme)
        path = tmp_path / "followthrough.toml"
        path.write_text(
            f'[[source]]\nname = "sf"\nkind = "salesforce"\nurl = "{org.url}"\ntoken_env = "SF_TOKEN"\n'
        )
        r = followthrough(
            "sync",
            db=store_url,
            env={
                "FOLLOWTHROUGH_CONFIG": str(path),
                "SF_TOKEN": "00D-good-token",
                "REQUESTS_CA_BUNDLE": "",
                "SSL_CERT_FILE": "",
            },
        )
        assert r.returncode == 1, r.stderr
        line = "certificate verify failed for 127.0.0.1: set REQUESTS_CA_BUNDLE to the CA file that signed it"
        assert line in r.stderr and "SSL_CERT_FILE" not in r.stderr  # requests never reads SSL_CERT_FILE
        assert "HTTPSConnectionPool" not in r.stderr and "Max retries" not in r.stderr


def test_a_refused_token_names_its_variable(tmp_path: Path, store: Store, store_url: str) -> None:  # noqa: F811
    hubspot = FakeHubSpot().start()
    try:
        path = tmp_path / "followthrough.toml"
        path.write_text(
            f'[[source]]\nname = "crm"\nkind = "hubspot"\nurl = "{hubspot.url}"\ntoken_env = "HS_TOKEN"\n'
        )
        r = followthrough(
            "sync", db=store_url, env={"FOLLOWTHROUGH_CONFIG": str(path), "HS_TOKEN": "pat-wrong"}
        )
        assert r.returncode == 1
        assert "refused the private-app token" in r.stderr and "$HS_TOKEN (token_env)" in r.stderr
        assert "pat-wrong" not in r.stderr
        hubspot.put("deals", "4711", dealname="Deal", pipeline="default", dealstage="qualified")
        store.upsert_crm(CrmData(deals=[Deal(crm_id="4711", name="Deal", account_name="Acme Corp")]))
    finally:
        hubspot.stop()


def test_xoauth2_on_a_server_without_it_says_so(imap_server: ImapServer, tmp_path: Path) -> None:  # noqa: F811
    user = imap_server.add_user()
    load_demo(imap_server, user)
    source = imap_source(imap_server, user, auth="xoauth2", token_env="FT_TOKEN")
    del source["password_env"]
    config = write_config(tmp_path / "followthrough.toml", imap_server, source)
    r = followthrough(
        "sync", db=tmp_path / "db.sqlite", env={"FOLLOWTHROUGH_CONFIG": str(config), "FT_TOKEN": "ya29.token"}
    )
    assert r.returncode == 1
    assert "does not offer XOAUTH2 (its CAPABILITY lists no XOAUTH2 login)" in r.stderr, r.stderr
    assert 'set auth to "password" with password_env' in r.stderr and "***" not in r.stderr
    assert "ya29.token" not in r.stderr
