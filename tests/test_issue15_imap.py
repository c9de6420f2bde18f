"""Issue 15: ``followthrough sync`` with an IMAP source against a real Dovecot server on loopback.

The server comes from ``scripts/imap-test-server.sh`` (started here, or the one
``FOLLOWTHROUGH_TEST_IMAP_URL`` / ``FOLLOWTHROUGH_TEST_IMAP_DIR`` name, as ``.ci/run`` starts it);
each test logs in as a user of its own, loaded with ``fixtures/demo`` mail by IMAP APPEND: the
customers' mail in INBOX, ours in the folder flagged ``\\Sent`` (named "Sent Messages": found by its
flag). Without Dovecot the tests skip; under CI they fail.
"""

from __future__ import annotations

import functools
import json
import mailbox
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from imapclient import IMAPClient

from followthrough.pipeline import RunReport
from followthrough.sync import runner
from followthrough.sync.base import LiveSource, Pulled, SourceConfig
from followthrough.sync.config import load
from followthrough.sync.registry import SOURCES
from store import Store
from tests.clirunner import followthrough
from tests.conftest import REPO, _missing

SCRIPT = REPO / "scripts" / "imap-test-server.sh"
MBOX = REPO / "fixtures" / "demo" / "email" / "customers.mbox"
OURS = "@northwind.io"
SENT = "Sent Messages"
AS_OF = "2026-03-20"
PASSWORD_ENV = "FT_TEST_IMAP_PASSWORD"


@dataclass(frozen=True)
class ImapServer:
    host: str
    port: int
    password: str
    directory: Path

    def add_user(self) -> str:
        """A new login with an empty mailbox of its own; its name."""
        name = f"t{uuid.uuid4().hex[:12]}"
        subprocess.run(
            ["bash", str(SCRIPT), "--add-user", name],
            env={**os.environ, "IMAP_DIR": str(self.directory), "IMAP_PASSWORD": self.password},
            check=True,
            capture_output=True,
            timeout=30,
        )
        return name

    def client(self, user: str) -> IMAPClient:
        c = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        c.login(user, self.password)
        return c


@pytest.fixture(scope="session")
def imap_server() -> Iterator[ImapServer]:
    url = os.environ.get("FOLLOWTHROUGH_TEST_IMAP_URL", "").strip()
    if url:
        named = os.environ.get("FOLLOWTHROUGH_TEST_IMAP_DIR", "").strip()
        if not named:
            _missing(
                "FOLLOWTHROUGH_TEST_IMAP_DIR is not set (eval the output of imap-test-server.sh --export)"
            )
        parts = urlsplit(url)
        password = os.environ.get("FOLLOWTHROUGH_TEST_IMAP_PASSWORD", "followthrough-test")
        yield ImapServer(parts.hostname or "127.0.0.1", parts.port or 143, password, Path(named))
        return
    if not SCRIPT.is_file():
        pytest.fail(f"{SCRIPT} is missing")
    if shutil.which("dovecot") is None and not Path("/usr/sbin/dovecot").exists():
        _missing("dovecot is not installed (apt-get install dovecot-imapd)")
    # Not under pytest's tmp dir: that one is private to us, and Dovecot reads the mail as another user.
    directory = Path(tempfile.mkdtemp(prefix="ft-imap-"))
    directory.chmod(0o755)
    env = {**os.environ, "IMAP_DIR": str(directory / "srv")}
    try:
        done = subprocess.run(
            ["bash", str(SCRIPT)], env=env, check=True, capture_output=True, text=True, timeout=60
        )
        parts = urlsplit(done.stdout.strip())
        yield ImapServer(
            parts.hostname or "127.0.0.1", parts.port or 143, "followthrough-test", directory / "srv"
        )
    finally:
        subprocess.run(["bash", str(SCRIPT), "--stop"], env=env, capture_output=True, timeout=60, check=False)
        shutil.rmtree(directory, ignore_errors=True)


@functools.cache
def _demo() -> tuple[bytes, ...]:
    box = mailbox.mbox(MBOX, create=False)
    try:
        return tuple(m.as_bytes() for m in box)
    finally:
        box.close()


def demo_messages() -> list[bytes]:
    """The demo mailbox's messages as bytes, in file order."""
    return list(_demo())


def is_ours(data: bytes) -> bool:
    return OURS in str(BytesHeaderParser().parsebytes(data).get("From", ""))


def message_id(data: bytes) -> str:
    return str(BytesHeaderParser().parsebytes(data).get("Message-ID", "")).strip()


def load_demo(server: ImapServer, user: str, messages: list[bytes] | None = None) -> tuple[int, int]:
    """APPEND ``messages`` (default: the demo mail): ours to Sent, the rest to INBOX; the two counts."""
    messages = demo_messages() if messages is None else messages
    inbox = [m for m in messages if not is_ours(m)]
    sent = [m for m in messages if is_ours(m)]
    c = server.client(user)
    try:
        for m in inbox:
            c.append("INBOX", m)
        for m in sent:
            c.append(SENT, m)
    finally:
        c.logout()
    return len(inbox), len(sent)


def write_config(path: Path, server: ImapServer, *sources: dict[str, Any]) -> Path:
    lines: list[str] = []
    for s in sources:
        lines.append("[[source]]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in s.items())
    path.write_text("\n".join(lines) + "\n")
    return path


def imap_source(server: ImapServer, user: str, name: str = "mail", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "imap",
        "url": f"imap://{user}@{server.host}:{server.port}",
        "password_env": PASSWORD_ENV,
        "folders": ["INBOX", "Sent"],
        **extra,
    }


@dataclass
class Setup:
    server: ImapServer
    user: str
    config: Path
    db: Path

    def sync(self, *args: str) -> tuple[int, dict[str, Any], str]:
        """``followthrough sync --json`` with the config and password: exit code, the run's JSON, stderr."""
        r = followthrough(
            "--as-of",
            AS_OF,
            "sync",
            "--json",
            *args,
            db=self.db,
            env={"FOLLOWTHROUGH_CONFIG": str(self.config), PASSWORD_ENV: self.server.password},
        )
        out = json.loads(r.stdout) if r.stdout.strip() else {}
        return r.returncode, out.get("run", out), r.stderr

    def store(self) -> Store:
        return Store(f"sqlite:///{self.db}")


@pytest.fixture
def setup(imap_server: ImapServer, tmp_path: Path) -> Setup:
    user = imap_server.add_user()
    config = write_config(tmp_path / "followthrough.toml", imap_server, imap_source(imap_server, user))
    return Setup(imap_server, user, config, tmp_path / "sync.db")


def email_ids(db: Path) -> list[str]:
    """Every stored email's external id (repeats would show a duplicate)."""
    import sqlite3

    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT external_id FROM documents WHERE source = 'email'")]


def items(db: Path) -> list[tuple[str, str, str | None, str]]:
    """The stored commitments and requests as (type, action, owner email, quote), sorted."""
    r = followthrough("--as-of", AS_OF, "export", "--format", "jsonl", db=db)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    return sorted(
        (
            str(x.get("type")),
            str(x.get("action")),
            x.get("owner"),
            " | ".join(str(e.get("quote")) for e in x.get("quotes") or []),
        )
        for x in rows
    )


# ---------------------------------------------------------------------------------------------------


def test_first_sync_stores_every_message_once_and_extracts_as_run(setup: Setup, tmp_path: Path) -> None:
    inbox, sent = load_demo(setup.server, setup.user)
    assert inbox and sent  # the demo holds mail of both directions
    code, rep, err = setup.sync()
    assert code == 0, err
    expected = {message_id(m) for m in demo_messages()}
    stored = email_ids(setup.db)
    assert len(stored) == len(set(stored)) == len(expected)
    assert set(stored) == expected  # the same external ids as the mbox reader gives
    assert rep["documents_new"] == len(expected)

    baseline = tmp_path / "run.db"
    r = followthrough("--as-of", AS_OF, "run", MBOX, db=baseline)
    assert r.returncode == 0, r.stderr
    assert items(setup.db) == items(baseline)
    assert items(setup.db)  # the demo mail holds commitments

    with setup.store() as store:
        state = store.source_state("mail")
    assert state is not None and state.last_error is None and state.last_sync_at is not None
    assert int(state.cursor["INBOX.uid"]) == inbox and int(state.cursor["Sent.uid"]) == sent

    # a second sync with nothing new fetches nothing
    code, rep, err = setup.sync()
    assert code == 0, err
    assert rep["documents_seen"] == 0 and rep["documents_new"] == 0


def test_incremental_sync_fetches_only_new_mail(setup: Setup) -> None:
    messages = demo_messages()
    load_demo(setup.server, setup.user, messages[:-3])
    code, rep, err = setup.sync()
    assert code == 0, err
    first = rep["documents_seen"]
    load_demo(setup.server, setup.user, messages[-3:])
    code, rep, err = setup.sync()
    assert code == 0, err
    assert rep["documents_seen"] == rep["documents_new"] == 3
    assert first + 3 == len(messages)
    stored = email_ids(setup.db)
    assert len(stored) == len(set(stored)) == len(messages)


def test_uidvalidity_change_rescans_without_duplicates(setup: Setup) -> None:
    load_demo(setup.server, setup.user)
    code, _, err = setup.sync()
    assert code == 0, err
    with setup.store() as store:
        before = store.source_state("mail")
    assert before is not None
    # Recreate INBOX's sibling: delete and create the Sent folder (a new UIDVALIDITY), mail again
    sent = [m for m in demo_messages() if is_ours(m)]
    c = setup.server.client(setup.user)
    try:
        c.delete_folder(SENT)
        c.create_folder(SENT)
        for m in sent:
            c.append(SENT, m)
        new_validity = c.folder_status(SENT, [b"UIDVALIDITY"])[b"UIDVALIDITY"]
    finally:
        c.logout()
    assert str(new_validity) != before.cursor["Sent.uidvalidity"]
    code, rep, err = setup.sync()
    assert code == 0, err
    assert rep["documents_seen"] == len(sent)  # read again from the start
    assert rep["documents_new"] == 0  # and nothing stored twice
    stored = email_ids(setup.db)
    assert len(stored) == len(set(stored)) == len(demo_messages())
    with setup.store() as store:
        after = store.source_state("mail")
    assert after is not None and after.cursor["Sent.uidvalidity"] == str(new_validity)


class CuttingProxy:
    """A TCP proxy to the server that drops its n-th connection after ``limits[n]`` bytes from the
    server (mid-FETCH when the limit is past the login); connections past the list pass every byte."""

    def __init__(self, host: str, port: int, limits: list[int]) -> None:
        self.target = (host, port)
        self.limits = limits
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def cut(self) -> int:
        return min(self.connections, len(self.limits))

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            limit = self.limits[self.connections] if self.connections < len(self.limits) else None
            self.connections += 1
            upstream = socket.create_connection(self.target)
            threading.Thread(target=self._pipe, args=(client, upstream, None), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, limit), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while True:
                data = src.recv(4096)
                if not data:
                    break
                if limit is not None and sent + len(data) > limit:
                    dst.sendall(data[: max(0, limit - sent)])
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self) -> None:
        self.sock.close()


def test_dropped_connection_mid_fetch_reconnects_without_loss_or_duplicates(
    setup: Setup, tmp_path: Path
) -> None:
    load_demo(setup.server, setup.user)
    proxy = CuttingProxy(setup.server.host, setup.server.port, [6000, 6000])
    try:
        source = imap_source(setup.server, setup.user, batch_size=4)
        source["url"] = f"imap://{setup.user}@127.0.0.1:{proxy.port}"
        write_config(setup.config, setup.server, source)
        code, rep, err = setup.sync()
    finally:
        proxy.close()
    assert code == 0, err
    assert proxy.cut == 2 and proxy.connections >= 3  # cut twice mid-stream, reconnected
    stored = email_ids(setup.db)
    assert len(stored) == len(set(stored)) == len(demo_messages())


def test_connection_that_keeps_dropping_fails_one_line_then_rerun_completes(setup: Setup) -> None:
    load_demo(setup.server, setup.user)
    # the first connection reads some batches, then every reconnect drops before a body comes
    proxy = CuttingProxy(setup.server.host, setup.server.port, [9000] + [1200] * 50)
    try:
        source = imap_source(setup.server, setup.user, batch_size=3)
        source["url"] = f"imap://{setup.user}@127.0.0.1:{proxy.port}"
        write_config(setup.config, setup.server, source)
        code, rep, err = setup.sync()
    finally:
        proxy.close()
    assert code == 3, err  # partial, as `run`: some batches stored, then the source failed
    lines = rep["errors"]
    assert len(lines) == 1 and "source 'mail'" in lines[0] and "dropping" in lines[0], lines
    partial = email_ids(setup.db)
    assert 0 < len(partial) < len(demo_messages())  # the batches read before are kept
    write_config(setup.config, setup.server, imap_source(setup.server, setup.user, batch_size=3))
    code, rep, err = setup.sync()
    assert code == 0, err
    stored = email_ids(setup.db)
    assert len(stored) == len(set(stored)) == len(demo_messages())
    assert rep["documents_seen"] == len(demo_messages()) - len(partial)  # what was saved is not fetched again


def test_sent_folder_found_by_special_use_flag(setup: Setup) -> None:
    _, sent = load_demo(setup.server, setup.user)
    write_config(setup.config, setup.server, imap_source(setup.server, setup.user, folders=["Sent"]))
    code, rep, err = setup.sync()
    assert code == 0, err
    assert rep["documents_new"] == sent
    ours = {message_id(m) for m in demo_messages() if is_ours(m)}
    assert set(email_ids(setup.db)) == ours
    owners = {owner for kind, _, owner, _ in items(setup.db) if kind == "commitment"}
    assert owners and all(o and o.endswith(OURS) for o in owners)  # our promises, made in our sent mail


def test_wrong_password_is_one_line_and_other_sources_sync(setup: Setup) -> None:
    load_demo(setup.server, setup.user)
    other = setup.server.add_user()
    load_demo(setup.server, other)
    write_config(
        setup.config,
        setup.server,
        imap_source(setup.server, setup.user, name="bad", password_env="FT_TEST_WRONG_PASSWORD"),
        imap_source(setup.server, other, name="good"),
    )
    r = followthrough(
        "sync",
        db=setup.db,
        env={
            "FOLLOWTHROUGH_CONFIG": str(setup.config),
            PASSWORD_ENV: setup.server.password,
            "FT_TEST_WRONG_PASSWORD": "not-the-password",
        },
    )
    assert r.returncode == 3, r.stderr  # as `run`: partial, the other source synced
    errors = [line for line in r.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1
    assert (
        "source 'bad'" in errors[0]
        and "FT_TEST_WRONG_PASSWORD" in errors[0]
        and "not-the-password" not in r.stderr
    )
    assert len(email_ids(setup.db)) == len(demo_messages())
    listing = followthrough("sources", "--json", db=setup.db, env={"FOLLOWTHROUGH_CONFIG": str(setup.config)})
    rows = {row["name"]: row for row in json.loads(listing.stdout)}
    assert rows["bad"]["last_error"] and rows["bad"]["last_sync_at"] is None
    assert rows["good"]["last_error"] is None and rows["good"]["cursor"]["INBOX.uid"]

    # every source failing: nothing could be read, exit 1
    write_config(
        setup.config,
        setup.server,
        imap_source(setup.server, setup.user, name="bad", password_env="FT_TEST_WRONG_PASSWORD"),
    )
    r = followthrough(
        "sync",
        db=setup.db,
        env={"FOLLOWTHROUGH_CONFIG": str(setup.config), "FT_TEST_WRONG_PASSWORD": "nope"},
    )
    assert r.returncode == 1, r.stderr


class Interrupting(LiveSource):
    """The real IMAP source, interrupted (Ctrl-C) while it fetches the batch after ``after`` batches."""

    kind = "imap"

    def __init__(self, config: SourceConfig, after: int) -> None:
        super().__init__(config)
        self.inner = SOURCES["imap"](config)
        self.after = after

    def pull(self, cursor: Any) -> Iterator[Pulled]:
        for n, pulled in enumerate(self.inner.pull(cursor)):
            if n == self.after:
                raise KeyboardInterrupt  # fetched, never stored
            yield pulled

    def close(self) -> None:
        self.inner.close()


def test_killed_mid_sync_then_rerun_loses_and_duplicates_nothing(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_demo(setup.server, setup.user)
    write_config(setup.config, setup.server, imap_source(setup.server, setup.user, batch_size=4))
    monkeypatch.setenv("FOLLOWTHROUGH_CONFIG", str(setup.config))
    monkeypatch.setenv(PASSWORD_ENV, setup.server.password)
    (config,) = load().sources
    with setup.store() as store, pytest.raises(KeyboardInterrupt):
        runner.sync_sources(store, [config], RunReport(), set(), open_source=lambda c: Interrupting(c, 2))
    saved = email_ids(setup.db)
    assert len(saved) == 8  # two batches of four, each saved with its cursor
    with setup.store() as store:
        state = store.source_state("mail")
    assert state is not None and state.cursor["INBOX.uid"] == "8" and state.last_sync_at is None
    code, rep, err = setup.sync()
    assert code == 0, err
    stored = email_ids(setup.db)
    assert len(stored) == len(set(stored)) == len(demo_messages())
    assert rep["documents_seen"] == len(demo_messages()) - 8  # resumed after the last saved batch


def test_watch_syncs_again_until_ctrl_c_which_exits_0(setup: Setup) -> None:
    import signal
    import sqlite3
    import sys
    import time

    messages = demo_messages()
    load_demo(setup.server, setup.user, messages[:5])
    env = {
        **os.environ,
        "FOLLOWTHROUGH_CONFIG": str(setup.config),
        PASSWORD_ENV: setup.server.password,
        "FOLLOWTHROUGH_DATABASE_URL": f"sqlite:///{setup.db}",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "followthrough", "--as-of", AS_OF, "sync", "--watch", "200ms"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def stored() -> int:
        if not setup.db.exists():
            return 0
        try:
            with sqlite3.connect(setup.db) as conn:
                return int(conn.execute("SELECT count(*) FROM documents").fetchone()[0])
        except sqlite3.OperationalError:  # not migrated yet
            return 0

    def wait_for(count: int) -> None:
        deadline = time.monotonic() + 60
        while stored() < count:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, f"{stored()} documents stored, waited for {count}"
            time.sleep(0.05)

    try:
        wait_for(5)
        load_demo(setup.server, setup.user, messages[5:])  # new mail: the next round fetches it
        wait_for(len(messages))
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "documents read" in out
    ids = email_ids(setup.db)
    assert len(ids) == len(set(ids)) == len(messages)
