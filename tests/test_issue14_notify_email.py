"""Issue 14, notifications by email: ``digest --send email`` and ``run --notify`` against a real SMTP
server on loopback (aiosmtpd) that receives and parses each message.

One message per owner, text and HTML, with the right items, their evidence and their dashboard links;
a second send delivers nothing new; a changed item is announced again; an unreachable server leaves
the messages pending (exit 1) and the next digest delivers them; STARTTLS with a login and implicit
TLS, against a self-signed certificate made here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from followthrough.config import public_url
from followthrough.errors import ConfigError
from followthrough.notify.settings import parse_smtp_url
from followthrough.types import CommitmentStatus
from store import Store
from tests.api_support import BACKENDS, database
from tests.clirunner import followthrough
from tests.conftest import DEMO
from tests.notify_support import (
    AS_OF,
    LOGS,
    NOBODY,
    PRICING,
    PUBLIC,
    SOC2,
    SSO,
    Inbox,
    closed_port,
    parts,
    seed,
    smtp_server,
)
from tests.tls_support import make_certificate

MARCO, PRIYA = "marco@northwind.io", "priya@northwind.io"
SENDER = "Followthrough <followthrough@northwind.io>"


def _env(port: int, **extra: str) -> dict[str, str]:
    return {
        "FOLLOWTHROUGH_SMTP_URL": f"smtp://127.0.0.1:{port}",
        "FOLLOWTHROUGH_MAIL_FROM": SENDER,
        "FOLLOWTHROUGH_PUBLIC_URL": PUBLIC + "/",
        **extra,
    }


def _digest(url: str, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    r = followthrough("--as-of", AS_OF.isoformat(), "digest", "--send", "email", *args, db=url, env=env)
    return r.returncode, r.stdout, r.stderr


def _linked(text: str) -> set[int]:
    return {int(i) for i in re.findall(re.escape(PUBLIC) + r"/items/(\d+)", text)}


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_message_per_owner_with_their_items_then_nothing_new(backend: str, tmp_path: Path) -> None:
    with database(backend, "notify_email", tmp_path) as url:
        ids = seed(url)
        inbox = Inbox()
        with smtp_server(inbox) as port:
            code, out, err = _digest(url, _env(port))
            assert code == 0, err
            assert sorted(r for m in inbox.messages for r in m.rcpt_tos) == [MARCO, PRIYA]
            assert "2 message(s) delivered about 4 item(s)" in out
            assert "1 open item(s) have an owner with no email address" in err

            marco = inbox.to(MARCO)[0]
            assert marco.mail_from == "followthrough@northwind.io"
            assert marco.message["From"] == SENDER
            assert marco.message["To"].addresses[0].addr_spec == MARCO
            assert marco.message["Subject"] == "followthrough: 3 items: 1 overdue, 1 waiting on you, 1 new"
            text, html = parts(marco.message)
            mine = {ids[PRICING], ids[SSO], ids[LOGS]}
            assert _linked(text) == _linked(html) == mine
            for quote in (PRICING, SSO, LOGS):
                assert quote in text
                assert quote.replace("'", "&#39;") in html
            assert SOC2 not in text and NOBODY not in text  # not Marco's
            assert text.index("Overdue") < text.index("Requests waiting on you") < text.index("New promises")
            assert '<blockquote class="evidence"' in html and f'href="{PUBLIC}/items/{ids[PRICING]}"' in html

            priya_text, _ = parts(inbox.to(PRIYA)[0].message)
            assert _linked(priya_text) == {ids[SOC2]}
            assert "Due by tomorrow" in priya_text and '("by Friday")' in priya_text

            # the same state again: nobody is told twice
            code, out, err = _digest(url, _env(port))
            assert code == 0, err
            assert len(inbox.messages) == 2
            assert "email: nothing new for anyone" in out

            # a changed item (its due date moved) is announced again, to its owner only, as changed
            with Store(url) as store:
                store.correct(ids[LOGS], actor="test", due=AS_OF.replace(day=20))
            code, out, err = _digest(url, _env(port))
            assert code == 0, err
            assert len(inbox.messages) == 3
            again = inbox.messages[-1]
            assert again.rcpt_tos == [MARCO]
            text, _ = parts(again.message)
            assert _linked(text) == {ids[LOGS]} and "[changed]" in text

            # a day later the SOC 2 report is overdue: Priya hears about it once more
            r = followthrough(
                "--as-of", "2026-03-18", "digest", "--send", "email", "--owner", PRIYA, db=url, env=_env(port)
            )
            assert r.returncode == 0, r.stderr
            assert [m.rcpt_tos for m in inbox.messages[3:]] == [[PRIYA]]
            assert "Overdue" in parts(inbox.messages[-1].message)[0]


def test_unreachable_server_leaves_messages_pending_then_the_next_digest_delivers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ft.db'}"
    ids = seed(url)
    port = closed_port()
    secret_url = f"smtp://ops%40northwind.io:s3cr%2Ft-pw@127.0.0.1:{port}?timeout=5"
    code, out, err = _digest(url, _env(port, FOLLOWTHROUGH_SMTP_URL=secret_url))
    assert code == 1
    assert err.count("not delivered (email)") == 2
    assert f"cannot reach SMTP server 127.0.0.1:{port}" in err and "pending for the next run" in err
    assert "s3cr" not in out + err and "ops%40" not in out + err
    with Store(url) as store:
        pending = store.deliveries("email")
    assert {(d.recipient, d.commitment_id) for d in pending} == {
        (MARCO, ids[PRICING]),
        (MARCO, ids[SSO]),
        (MARCO, ids[LOGS]),
        (PRIYA, ids[SOC2]),
    }
    assert all(d.announced is None and d.pending and d.attempts == 1 and d.error for d in pending)

    inbox = Inbox()
    with smtp_server(inbox) as port:
        code, out, err = _digest(url, _env(port))
    assert code == 0, err
    assert sorted(r for m in inbox.messages for r in m.rcpt_tos) == [MARCO, PRIYA]
    assert "4 retried" in out
    with Store(url) as store:
        assert all(d.announced and d.pending is None and d.error is None for d in store.deliveries("email"))


def test_a_pending_item_closed_before_the_retry_is_dropped(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ft.db'}"
    ids = seed(url)
    assert _digest(url, _env(closed_port()))[0] == 1
    with Store(url) as store:
        store.set_status(ids[PRICING], CommitmentStatus.DONE, actor="test")
    inbox = Inbox()
    with smtp_server(inbox) as port:
        code, out, _ = _digest(url, _env(port))
    assert code == 0
    assert "1 pending item(s) dropped" in out
    assert ids[PRICING] not in _linked(parts(inbox.to(MARCO)[0].message)[0])


def test_dry_run_prints_the_messages_and_records_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ft.db'}"
    ids = seed(url)
    inbox = Inbox()
    with smtp_server(inbox) as port:
        code, out, _ = _digest(url, _env(port), "--dry-run", "--owner", "marco")
    assert code == 0
    assert inbox.messages == []
    assert "Subject: followthrough: 3 items" in out and PRICING in out
    assert f"{PUBLIC}/items/{ids[PRICING]}" in out and SOC2 not in out
    with Store(url) as store:
        assert store.deliveries("email") == []


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
def test_tls_and_a_percent_encoded_login(tls: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert = make_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))  # the client trusts the self-signed certificate
    url = f"sqlite:///{tmp_path / 'ft.db'}"
    seed(url)
    inbox = Inbox(credentials=("ops@northwind.io", "p@ss:w/rd"))
    with smtp_server(inbox, tls=tls, cert=cert) as port:
        scheme, query = ("smtp", "?starttls=true") if tls == "starttls" else ("smtps", "")
        smtp = f"{scheme}://ops%40northwind.io:p%40ss%3Aw%2Frd@127.0.0.1:{port}{query}"
        code, out, err = _digest(url, _env(port, FOLLOWTHROUGH_SMTP_URL=smtp))
    assert code == 0, err
    assert len(inbox.messages) == 2 and {m.login for m in inbox.messages} == {"ops@northwind.io"}
    assert "p@ss" not in out + err


def test_a_refused_login_is_pending_and_names_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert = make_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))
    url = f"sqlite:///{tmp_path / 'ft.db'}"
    seed(url)
    inbox = Inbox(credentials=("ops@northwind.io", "right-password"))
    with smtp_server(inbox, tls="starttls", cert=cert) as port:
        smtp = f"smtp://ops%40northwind.io:wrong-password@127.0.0.1:{port}?starttls=true"
        code, out, err = _digest(url, _env(port, FOLLOWTHROUGH_SMTP_URL=smtp))
    assert code == 1
    assert "refused the login" in err and "wrong-password" not in out + err
    assert inbox.messages == []


def test_run_notify_mails_each_demo_owner_once(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    inbox = Inbox()
    with smtp_server(inbox) as port:
        r = followthrough("--as-of", "2026-03-16", "run", DEMO, "--notify", db=db, env=_env(port))
        assert r.returncode == 0, r.stderr
        owners = sorted(rcpt for m in inbox.messages for rcpt in m.rcpt_tos)
        assert owners == sorted(set(owners)) and MARCO in owners and PRIYA in owners
        assert f"email: {len(owners)} message(s) delivered" in r.stdout
        assert r.stdout.index("email:") > r.stdout.index("Overdue")  # after the run's report
        for m in inbox.messages:
            text, html = parts(m.message)
            assert _linked(text) and _linked(text) == _linked(html)
        r = followthrough("--as-of", "2026-03-16", "run", DEMO, "--notify", db=db, env=_env(port))
        assert r.returncode == 0, r.stderr
        assert len(inbox.messages) == len(owners) and "nothing new for anyone" in r.stdout


def test_usage_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    db = tmp_path / "ft.db"
    r = followthrough("--as-of", "2026-03-16", "run", DEMO, "--notify", db=db)
    assert r.returncode == 2 and "no channel is configured" in r.stderr
    assert not db.exists() or "Overdue" not in r.stdout  # nothing ran
    bad = {"FOLLOWTHROUGH_SMTP_URL": "smtp://u:hunter22@127.0.0.1:99999"}
    r = followthrough("--as-of", "2026-03-16", "run", DEMO, "--notify", db=db, env=bad)
    assert r.returncode == 1 and "port" in r.stderr and "hunter22" not in r.stderr
    assert "Overdue" not in r.stdout  # checked before the run
    r = followthrough("digest", "--send", "email", db=db)
    assert r.returncode == 2 and "FOLLOWTHROUGH_SMTP_URL" in r.stderr
    r = followthrough("digest", "--send", "slack", db=db)
    assert r.returncode == 2 and "FOLLOWTHROUGH_SLACK_WEBHOOK_URL" in r.stderr
    r = followthrough("digest", db=db)
    assert r.returncode == 2 and "--owner" in r.stderr


def test_smtp_url_settings() -> None:
    s = parse_smtp_url("smtp://us%40er:p%3Ass@mail.example.com?starttls=true&timeout=5")
    assert (s.host, s.port, s.tls, s.username, s.password, s.timeout) == (
        "mail.example.com",
        587,
        "starttls",
        "us@er",
        "p:ss",
        5.0,
    )
    assert "p:ss" not in repr(s)
    assert (parse_smtp_url("smtps://h").port, parse_smtp_url("smtp://h").port) == (465, 25)
    for bad in (
        "http://h",
        "smtp://h:99999",
        "smtp://h?tls=1",
        "smtps://h?starttls=true",
        "smtp://u:hunter22@h?starttls=perhaps",
    ):
        with pytest.raises(ConfigError) as info:
            parse_smtp_url(bad)
        assert "hunter22" not in str(info.value)


def test_public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    assert public_url() == "http://127.0.0.1:8000"
    monkeypatch.setenv("FOLLOWTHROUGH_PUBLIC_URL", "https://ft.example.com/app/")
    assert public_url() == "https://ft.example.com/app"
    assert public_url("http://10.0.0.5:9000") == "http://10.0.0.5:9000"
    for bad in ("ft.example.com", "ftp://ft.example.com", "https://ft.example.com/?a=1"):
        with pytest.raises(ConfigError, match="FOLLOWTHROUGH_PUBLIC_URL"):
            public_url(bad)
