"""Fixtures and builders for the store tests (SQLite always; PostgreSQL when configured).

Import the fixtures into a test module with
``from tests.store_fixtures import store  # noqa: F401``. The ``postgres`` parameter
runs when ``FOLLOWTHROUGH_TEST_POSTGRES_URL`` is set (``scripts/pg-test-server.sh``
starts a throw-away server and prints the URL); without it, it is skipped, or
fails under CI (:func:`tests.conftest.require_postgres`). Each test process
(each pytest-xdist worker) creates a database of its own on that server and
wipes it (its ``public`` schema dropped and recreated) before each test.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from followthrough.types import (
    Account,
    AlignmentStatus,
    Contact,
    CrmData,
    Deal,
    Evidence,
    ExtractedItem,
    Participant,
    Segment,
    SourceDocument,
)
from store import Store

EST = timezone(timedelta(hours=-5))


def _reset_postgres(url: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        (tmp_path / "db").mkdir(exist_ok=True)  # the command refuses a database in a missing folder
        return f"sqlite:///{tmp_path / 'db' / 'followthrough.db'}"
    url: str = request.getfixturevalue("postgres_url")
    _reset_postgres(url)
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store(store_url)
    yield s
    s.close()


def make_doc(
    external_id: str = "<m1@acme.com>",
    text: str = "Thanks Dana. I'll send the revised pricing to you by Friday.",
    *,
    source: str = "email",
    thread_id: str | None = "thread-1",
    occurred_at: datetime | None = None,
    participants: list[Participant] | None = None,
    title: str | None = "Pricing",
) -> SourceDocument:
    if participants is None:
        participants = [
            Participant(name="Marco Rossi", email="marco@northwind.io", role="sender", internal=True),
            Participant(name="Dana Lee", email="dana@acme.com", role="recipient", internal=False),
        ]
    return SourceDocument(
        source=source,  # type: ignore[arg-type,unused-ignore]
        external_id=external_id,
        thread_id=thread_id,
        occurred_at=occurred_at or datetime(2026, 3, 10, 9, 30, tzinfo=EST),
        title=title,
        participants=participants,
        segments=[Segment(speaker="Marco Rossi", char_start=0, char_end=len(text), text=text)],
        text=text,
        origin="inbox.mbox:1",
        metadata={"subject": title or ""},
    )


def make_item(
    doc: SourceDocument,
    quote: str,
    *,
    type: str = "commitment",
    action: str | None = None,
    owner: str | None = "Marco Rossi",
    owner_email: str | None = "marco@northwind.io",
    due: date | None = date(2026, 3, 13),
    grounded: bool = True,
    confidence: float = 0.8,
) -> ExtractedItem:
    start = doc.text.find(quote)
    if grounded:
        assert start >= 0, quote
        ev = Evidence(
            quote=quote, char_start=start, char_end=start + len(quote), alignment=AlignmentStatus.EXACT
        )
        flags: list[str] = []
    else:
        ev = Evidence(quote=quote, alignment=AlignmentStatus.NONE)
        flags = ["ungrounded"]
    return ExtractedItem(
        type=type,  # type: ignore[arg-type,unused-ignore]
        owner=owner,
        owner_email=owner_email,
        counterparty="Dana Lee",
        counterparty_email="dana@acme.com",
        action=action or quote,
        due=due,
        due_text="by Friday" if due else None,
        evidence=ev,
        confidence=confidence,
        flags=flags,
    )


def demo_crm() -> CrmData:
    return CrmData(
        accounts=[
            Account(name="Acme Corp", domains=["acme.com"], tier="1"),
            Account(name="Globex", domains=["globex.com"], tier="2"),
            Account(name="Initech Inc", domains=["initech.com"]),
        ],
        contacts=[
            Contact(email="dana@acme.com", name="Dana Lee", account_name="Acme Corp", role="VP Engineering"),
            Contact(email="hank@globex.com", name="Hank Scorpio", account_name="Globex"),
            Contact(email="marco@northwind.io", name="Marco Rossi", role="deal owner"),
        ],
        deals=[
            Deal(
                crm_id="D-100",
                name="Acme Platform Expansion",
                account_name="Acme Corp",
                stage="Negotiation",
                amount=120000,
                close_date=date(2026, 3, 31),
                owner_email="marco@northwind.io",
            ),
            Deal(
                crm_id="D-101",
                name="Acme Analytics Pilot",
                account_name="Acme Corp",
                stage="Discovery",
                amount=15000,
                close_date=date(2026, 4, 15),
                owner_email="marco@northwind.io",
            ),
            Deal(
                crm_id="D-102",
                name="Acme Renewal 2025",
                account_name="Acme Corp",
                stage="Closed Won",
                amount=80000,
                close_date=date(2025, 12, 1),
                owner_email="marco@northwind.io",
            ),
            Deal(
                crm_id="D-200",
                name="Globex Data Platform",
                account_name="Globex",
                stage="Proposal",
                amount=60000,
                close_date=date(2026, 5, 1),
                owner_email="priya@northwind.io",
            ),
            Deal(
                crm_id="D-300",
                name="Initech Onboarding",
                account_name="Initech Inc",
                stage="Evaluation",
                amount=9000,
                close_date=date(2026, 6, 1),
                owner_email="priya@northwind.io",
            ),
        ],
    )
