"""Test helpers for the HTTP API: databases (SQLite and PostgreSQL), a real uvicorn server, a fake extractor.

PostgreSQL tests need ``FOLLOWTHROUGH_TEST_POSTGRES_URL`` (``bash
scripts/pg-test-server.sh`` prints one) and are skipped without it, except
under CI, where they fail (:func:`tests.conftest.require_postgres`). Each
gets a database of its own, created from that server URL and dropped after,
so tests in parallel workers never share one.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from extractor.base import Extractor
from followthrough.types import Account, Contact, CrmData, Deal, Evidence, ExtractedItem, SourceDocument
from tests.conftest import postgres_database

AS_OF = date(2026, 3, 16)
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@contextmanager
def database(backend: str, label: str, tmp: Path) -> Iterator[str]:
    """A fresh database URL of the given backend (``sqlite`` or ``postgres``)."""
    if backend == "postgres":
        with postgres_database(label) as url:
            yield url
    else:
        yield f"sqlite:///{tmp / (label + '.db')}"


class LiveServer:
    """``app`` served by uvicorn on 127.0.0.1 and a free port, in a background thread."""

    def __init__(self, app: FastAPI) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            log_config=None,  # propagate to the root logger, where tests capture it
            access_log=True,
            ws="none",
            lifespan="on",
            log_level="info",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the API server did not start (see the log above)")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()


# A small CRM: our company is northwind.io; Acme (acme.com) has one open deal.
CRM = CrmData(
    accounts=[
        Account(name="Acme Corp", domains=["acme.com"], tier="1", crm_id="A-1"),
        Account(name="Globex", domains=["globex.com"], tier="2", crm_id="A-2"),
    ],
    contacts=[
        Contact(email="dana@acme.com", name="Dana Whitfield", account_name="Acme Corp", role="Buyer"),
        Contact(email="hank@globex.com", name="Hank Scorpio", account_name="Globex", role="CEO"),
    ],
    deals=[
        Deal(
            crm_id="D-100",
            name="Acme Corp expansion",
            account_name="Acme Corp",
            stage="Negotiation",
            amount=120000.0,
            close_date=date(2026, 4, 30),
            owner_email="marco@northwind.io",
        ),
        Deal(
            crm_id="D-200",
            name="Globex pilot",
            account_name="Globex",
            stage="Discovery",
            amount=30000.0,
            close_date=date(2026, 6, 30),
            owner_email="marco@northwind.io",
        ),
    ],
)

_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
_DUE = re.compile(r"\bby (\d{4}-\d{2}-\d{2})\b")


class FakeExtractor(Extractor):
    """Deterministic: "I'll ..."/"I will ..." sentences are commitments by the sender, "Can you ..."
    sentences are requests to us, "by YYYY-MM-DD" is the due date. Evidence is the exact sentence."""

    name = "fake"

    def __init__(self) -> None:
        self.calls = 0

    def extract(self, doc: SourceDocument) -> list[ExtractedItem]:
        self.calls += 1
        sender = doc.sender
        items = []
        for m in _SENTENCE.finditer(doc.text):
            quote = m.group(0).strip()
            if not quote:
                continue
            start = doc.text.index(quote, m.start())
            low = quote.lower()
            if low.startswith(("i'll ", "i will ")):
                kind = "commitment"
                action = re.sub(r"^i(?:'ll| will) ", "", quote, flags=re.I).rstrip(".!?")
            elif low.startswith("can you "):
                kind = "request"
                action = quote[8:].rstrip(".!?")
            else:
                continue
            due = _DUE.search(quote)
            items.append(
                ExtractedItem(
                    type=kind,  # type: ignore[arg-type]
                    owner=(sender.name if sender else None) if kind == "commitment" else None,
                    owner_email=(sender.email if sender else None) if kind == "commitment" else None,
                    counterparty=None if kind == "commitment" else (sender.name if sender else None),
                    counterparty_email=None if kind == "commitment" else (sender.email if sender else None),
                    action=action[:1].upper() + action[1:],
                    due=date.fromisoformat(due.group(1)) if due else None,
                    due_text=due.group(0) if due else None,
                    evidence=Evidence(quote=quote, char_start=start, char_end=start + len(quote)),
                    confidence=0.9,
                )
            )
        return items


def email(
    text: str,
    *,
    sender: tuple[str, str] = ("Marco Rossi", "marco@northwind.io"),
    to: tuple[str, str] = ("Dana Whitfield", "dana@acme.com"),
    external_id: str | None = None,
    occurred_at: str = "2026-03-10T10:00:00+01:00",
    title: str = "Follow-up",
) -> dict[str, object]:
    """A ``POST /v1/documents`` body for one email."""
    body: dict[str, object] = {
        "source": "email",
        "occurred_at": occurred_at,
        "text": text,
        "title": title,
        "participants": [
            {"name": sender[0], "email": sender[1], "role": "sender"},
            {"name": to[0], "email": to[1], "role": "recipient"},
        ],
    }
    if external_id is not None:
        body["external_id"] = external_id
    return body


def quiet_uvicorn() -> None:
    """uvicorn's loggers at INFO, so that access lines reach caplog."""
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error"):
        logging.getLogger(name).setLevel(logging.INFO)
