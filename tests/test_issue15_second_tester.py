"""Issue 15, a second tester's findings on ``sync`` and ``crm push``: a lease left by a killed process
on this host is taken over at once, a missing IMAP folder never stops the folders listed after it, a
certificate error names the variable the connector's library reads, an unlinked item's task is
completed, counts say created / adopted as they happened, and two wording fixes.

IMAP against the real Dovecot of :mod:`tests.test_issue15_imap`; HubSpot against
:mod:`tests.fake_hubspot` through hubspot-api-client; the store is real.
"""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from simple_salesforce.exceptions import SalesforceAuthenticationFailed

from connectors.imap import Credentials, ImapAccount, ImapError, ImapMailbox
from connectors.salesforce import explain
from followthrough.crm_push.runner import push
from followthrough.sync.lease import dead_holder_pid, take_lease
from store import Store
from tests.clirunner import followthrough
from tests.fake_hubspot import FakeHubSpot
from tests.store_fixtures import store, store_url  # noqa: F401 - fixtures
from tests.test_issue15_imap import (  # noqa: F401 - fixtures
    PASSWORD_ENV,
    ImapServer,
    imap_server,
    imap_source,
    load_demo,
    write_config,
)
from tests.test_issue15_push_fixes import PUBLIC, _hs, _hs_deals, _items
from tests.tls_support import make_certificate

IMAP = '[[source]]\nname = "mail"\nkind = "imap"\nurl = "imap://ops@127.0.0.1:9"\npassword_env = "PW"\n'


def _dead_pid() -> int:
    """The pid of a process that ran on this host and has been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _holder(pid: int) -> str:
    return f"{socket.gethostname()[:80]}:{pid}:dead0000"


# 1. a lease held by a dead process on this host ---------------------------------------------------


def test_dead_holder_is_recognised_only_on_this_host_and_when_gone() -> None:
    pid = _dead_pid()
    assert dead_holder_pid(_holder(pid)) == pid
    assert dead_holder_pid(_holder(os.getppid())) is None  # alive
    assert dead_holder_pid(f"another-host-{socket.gethostname()}:{pid}:ab") is None
    assert dead_holder_pid("not a holder name") is None


def test_sync_takes_over_the_lease_of_a_killed_sync(tmp_path: Path) -> None:
    path = tmp_path / "followthrough.toml"
    path.write_text(IMAP)
    db = tmp_path / "db.sqlite"
    pid = _dead_pid()
    with Store(f"sqlite:///{db}") as s:
        assert s.take_source_lease("mail", "imap", "sync", _holder(pid)) is None  # then `kill -9`
    r = followthrough("sync", db=db, env={"FOLLOWTHROUGH_CONFIG": str(path), "PW": "x"})
    assert "being synced by another process" not in r.stderr, r.stderr
    assert f"took over the lease of dead process {pid}" in r.stderr
    assert any("source 'mail'" in line and "error" in line for line in r.stderr.splitlines())  # it ran
    with Store(f"sqlite:///{db}") as s:  # and released it at the end
        assert s.take_source_lease("mail", "imap", "sync", "next:1:ef") is None


def test_a_live_holder_keeps_its_lease(store: Store) -> None:  # noqa: F811
    alive = _holder(os.getppid())
    assert store.take_source_lease("mail", "imap", "sync", alive) is None
    taken = take_lease(store, "mail", "imap", "sync", "me:1:ab")
    assert taken.held is not None and taken.held.holder == alive and taken.note is None


@pytest.fixture
def hubspot(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHubSpot]:
    fake = FakeHubSpot().start()
    monkeypatch.setenv("HS_TOKEN", fake.token)
    try:
        yield fake
    finally:
        fake.stop()


def test_crm_push_takes_over_the_lease_of_a_killed_push(hubspot: FakeHubSpot, store: Store) -> None:  # noqa: F811
    _hs_deals(hubspot, store, "4711")
    _items(store, "4711")
    pid = _dead_pid()
    assert store.take_source_lease("hs", "hubspot", "push", _holder(pid)) is None
    report = push(store, [_hs(hubspot)], public_url=PUBLIC)
    assert report.busy == [] and report.created == 1
    assert report.notes == [f"source 'hs': took over the lease of dead process {pid}"]


# 2. a missing IMAP folder, wherever it is listed ---------------------------------------------------


@pytest.mark.parametrize("folders", [["Archive", "INBOX"], ["INBOX", "Archive"]])
def test_a_missing_folder_is_one_error_and_the_other_folders_sync(
    imap_server: ImapServer,  # noqa: F811
    tmp_path: Path,
    folders: list[str],
) -> None:
    user = imap_server.add_user()
    inbox, _sent = load_demo(imap_server, user)
    config = write_config(
        tmp_path / "followthrough.toml", imap_server, imap_source(imap_server, user, folders=folders)
    )
    db = tmp_path / "db.sqlite"
    r = followthrough(
        "--as-of",
        "2026-03-20",
        "sync",
        db=db,
        env={"FOLLOWTHROUGH_CONFIG": str(config), PASSWORD_ENV: imap_server.password},
    )
    assert r.returncode == 3, r.stderr  # some input failed, the rest went through
    errors = [line for line in r.stderr.splitlines() if "Archive" in line]
    assert len(errors) == 1 and "folder 'Archive' not found" in errors[0], r.stderr
    with Store(f"sqlite:///{db}") as s:
        state = s.source_state("mail")
        assert state is not None and state.cursor.get("INBOX.uid")  # INBOX was read
        assert state.documents == inbox


# 3. the certificate line names the variable the library reads ----------------------------------------


@pytest.fixture
def untrusted_tls(tmp_path: Path) -> Iterator[int]:
    """A TLS listener on loopback whose self-signed certificate nobody trusts; its port."""
    cert, key = make_certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        try:
            with context.wrap_socket(conn, server_side=True):
                pass
        except (ssl.SSLError, OSError):
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        thread.join(5)


def test_imap_certificate_error_names_ssl_cert_file_only(
    untrusted_tls: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    account = ImapAccount.from_url(f"imaps://ops@127.0.0.1:{untrusted_tls}")
    mailbox = ImapMailbox(account, Credentials(password="x"))
    with pytest.raises(ImapError) as caught:
        mailbox.folders()
    line = str(caught.value)
    assert "certificate verify failed for 127.0.0.1: set SSL_CERT_FILE" in line, line
    assert "REQUESTS_CA_BUNDLE" not in line


# 4 and 5. unlinked items, re-created and adopted tasks ----------------------------------------------


def test_unlinking_an_item_completes_its_task(hubspot: FakeHubSpot, store: Store) -> None:  # noqa: F811
    _hs_deals(hubspot, store, "4711")
    cid = _items(store, "4711")
    assert push(store, [_hs(hubspot)], public_url=PUBLIC).created == 1
    (task_id,) = hubspot.objects["tasks"]
    store.set_deal(cid, None)  # `commitments link ID --none`
    report = push(store, [_hs(hubspot)], public_url=PUBLIC)
    assert (report.updated, report.completed, report.unlinked) == (1, 1, 1)
    assert hubspot.objects["tasks"][task_id]["properties"]["hs_task_status"] == "COMPLETED"
    assert "1 completed, 1 of them no longer linked to a deal" in report.summary()
    assert push(store, [_hs(hubspot)], public_url=PUBLIC).unchanged == 1


def test_a_task_deleted_in_the_crm_and_created_again_counts_created(
    hubspot: FakeHubSpot,
    store: Store,  # noqa: F811
) -> None:
    _hs_deals(hubspot, store, "4711", "4712")
    cid = _items(store, "4711")
    assert push(store, [_hs(hubspot)], public_url=PUBLIC).created == 1
    (task_id,) = hubspot.objects["tasks"]
    del hubspot.objects["tasks"][task_id]  # deleted by a HubSpot user
    store.set_deal(cid, "4712")  # the next push that changes it
    report = push(store, [_hs(hubspot)], public_url=PUBLIC)
    assert (report.created, report.updated) == (1, 0)
    (again,) = hubspot.objects["tasks"]
    assert again != task_id and report.outcomes[0].action == "created"


# 6. wording ---------------------------------------------------------------------------------------


def test_salesforce_sign_in_error_has_no_doubled_punctuation() -> None:
    failure = explain(
        SalesforceAuthenticationFailed(
            "INVALID_LOGIN", "Invalid username, password, security token; or user locked out."
        )
    )
    assert "or user locked out; check the username" in str(failure)
    assert ".;" not in str(failure)


def test_sources_plural_table_asks_for_source(tmp_path: Path) -> None:
    path = tmp_path / "followthrough.toml"
    path.write_text(IMAP.replace("[[source]]", "[[sources]]"))
    r = followthrough("sync", db=tmp_path / "db.sqlite", env={"FOLLOWTHROUGH_CONFIG": str(path)})
    assert r.returncode == 2
    assert "unknown table 'sources' (did you mean [[source]]?)" in r.stderr
