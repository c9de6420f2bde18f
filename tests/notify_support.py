"""Real servers on loopback for the notification tests: an SMTP server (aiosmtpd, plain, STARTTLS or
implicit TLS, with a self-signed certificate made here), a Slack stand-in (the Web API and an incoming
webhook over HTTP, answering from a script), and a small store with two owners' items."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from store import Store
from tests.api_support import CRM
from tests.store_fixtures import make_doc, make_item

AS_OF = dt.date(2026, 3, 16)
PUBLIC = "https://ft.example.com"


# --------------------------------------------------------------------------- SMTP


@dataclass
class Received:
    """One message the SMTP server accepted: its envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    login: str | None


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps every message, and the logins it accepted."""

    messages: list[Received] = field(default_factory=list)
    credentials: tuple[str, str] | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd)
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        assert isinstance(message, EmailMessage)
        login = session.auth_data.decode() if isinstance(session.auth_data, bytes) else None
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message, login))
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and self.credentials is not None
            and (data.login.decode(), data.password.decode()) == self.credentials
        )
        return AuthResult(success=ok, handled=False, auth_data=data.login if ok else None)

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.rcpt_tos]


class _Controller(Controller):
    """aiosmtpd's controller on port 0: the port the system gave is read back before first use."""

    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


@contextmanager
def smtp_server(inbox: Inbox, *, tls: str = "none", cert: tuple[Path, Path] | None = None) -> Iterator[int]:
    """An SMTP server on 127.0.0.1 and a free port (yielded) delivering into ``inbox``; ``tls``:
    ``none``, ``starttls`` (STARTTLS required, then AUTH) or ``implicit`` (TLS from the start)."""
    kwargs: dict[str, Any] = {}
    if tls != "none":
        assert cert is not None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*map(str, cert))
        if tls == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        else:
            kwargs.update(ssl_context=context)
    if inbox.credentials is not None:
        # aiosmtpd counts only STARTTLS as TLS when offering AUTH; implicit TLS is TLS from the first byte
        kwargs.update(authenticator=inbox.authenticate, auth_require_tls=tls == "starttls")
    controller = _Controller(inbox, hostname="127.0.0.1", port=0, **kwargs)
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def parts(message: EmailMessage) -> tuple[str, str]:
    """The text and HTML alternatives of a ``multipart/alternative`` message."""
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


# --------------------------------------------------------------------------- Slack


@dataclass
class Call:
    """One HTTP request the Slack stand-in received (``at``: monotonic seconds)."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float


@dataclass
class SlackStub:
    """Slack's Web API and an incoming webhook on loopback. ``script``: responses to give, in order,
    before the defaults, as ``(status, headers, body)``; defaults: a webhook ``200 ok``, the Web API
    ``users.lookupByEmail`` (ids ``U-<local part>``, an unknown email ``users_not_found``) and
    ``chat.postMessage`` ``ok``."""

    script: list[tuple[int, dict[str, str], str]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    known: set[str] = field(default_factory=set)

    def answer(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], str]:
        ctype = headers.get("content-type", "")
        if "json" in ctype and raw:
            body = json.loads(raw)
        else:
            body = {k: v[-1] for k, v in parse_qs(raw.decode() or urlsplit(path).query).items()}
            if not raw:
                body = {k: v[-1] for k, v in parse_qs(urlsplit(path).query).items()}
        self.calls.append(Call(method, urlsplit(path).path, headers, body, time.monotonic()))
        if self.script:
            return self.script.pop(0)
        route = urlsplit(path).path
        if route.endswith("/users.lookupByEmail"):
            email = body.get("email", "")
            if email not in self.known:
                return 200, {}, json.dumps({"ok": False, "error": "users_not_found"})
            return 200, {}, json.dumps({"ok": True, "user": {"id": f"U-{email.split('@')[0]}"}})
        if route.endswith("/chat.postMessage"):
            return 200, {}, json.dumps({"ok": True, "channel": body.get("channel"), "ts": "1.0"})
        return 200, {"content-type": "text/plain"}, "ok"

    def posts(self, suffix: str) -> list[Call]:
        return [c for c in self.calls if c.path.endswith(suffix)]


@contextmanager
def slack_server(stub: SlackStub) -> Iterator[str]:
    """``stub`` served on 127.0.0.1 and a free port; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, body = stub.answer(self.command, self.path, headers, raw)
            data = body.encode()
            self.send_response(status)
            self.send_header("content-type", extra.pop("content-type", "application/json"))
            for k, v in extra.items():
                self.send_header(k, v)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = _serve  # noqa: N815
        do_POST = _serve  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# --------------------------------------------------------------------------- store


PRICING = "I'll send the revised pricing to you by Friday."
SOC2 = "Priya will share the SOC 2 report tomorrow."
SSO = "Could you confirm the SSO setup for our team?"
LOGS = "I'll look into the SSO logs after the pilot."
NOBODY = "Someone will send the security questionnaire."


def seed(url: str) -> dict[str, int]:
    """Marco's and Priya's open items (and one whose owner has no email) in the store at ``url``;
    their ids by evidence quote. On :data:`AS_OF`: the pricing is overdue, the SOC 2 report due
    tomorrow, the SSO question a request waiting on Marco, the SSO logs a promise with no date."""
    text1 = f"Thanks Dana. {PRICING} {SOC2}"
    text2 = f"Dana: {SSO} Marco: {LOGS} {NOBODY}"
    ids: dict[str, int] = {}
    with Store(url) as store:
        store.upsert_crm(CRM)
        doc1 = make_doc("<m1@acme.com>", text1)
        doc2 = make_doc("<m2@acme.com>", text2, thread_id="thread-2")
        run = store.start_run(extractor="offline", model="m", prompt_version="v1")
        d1, _ = store.add_document(doc1)
        d2, _ = store.add_document(doc2)
        items1 = [
            make_item(doc1, PRICING, action="Send the revised pricing to Dana", due=dt.date(2026, 3, 13)),
            make_item(
                doc1,
                SOC2,
                action="Share the SOC 2 report",
                owner="Priya Shah",
                owner_email="priya@northwind.io",
                due=dt.date(2026, 3, 17),
            ),
        ]
        items2 = [
            make_item(doc2, SSO, type="request", action="Confirm the SSO setup", due=None),
            make_item(doc2, LOGS, action="Look into the SSO logs", due=None),
            make_item(
                doc2,
                NOBODY,
                action="Send the security questionnaire",
                owner="Sam",
                owner_email=None,
                due=None,
            ),
        ]
        for doc_id, items, quotes in ((d1, items1, (PRICING, SOC2)), (d2, items2, (SSO, LOGS, NOBODY))):
            got = store.record_extraction(run, doc_id, "k", items)
            ids.update(zip(quotes, got, strict=True))
    return ids
