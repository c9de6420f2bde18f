"""Issue 12, what customers owe us: a customer's promise is theirs (waiting), listed and nudged, never ours.

* extraction: a customer's promise in an email, in meeting notes (their action item, their company or
  "the customer" named as the assignee, an assignee with the company in brackets, a ``TODO @name``
  line) and in a transcript read through the LLM backend is owned by the customer and flagged
  ``customer_promise``;
* the report has a "Waiting on customer" section, overdue ones marked as a nudge for the deal owner;
* the deal owner's digest lists the customers' overdue promises on their deals;
* ``GET /v1/commitments?status=waiting`` lists them, ``&overdue=true`` the late ones with their days late;
  none of them is in our open list.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import openai
import pytest

from extractor.llm_settings import Backoff
from extractor.offline import OfflineExtractor
from extractor.openai_backend import OpenAIExtractor
from followthrough.api import create_app
from followthrough.types import ExtractedItem, ItemFlag, Participant, Segment, SourceDocument
from store import Store
from store.api_tokens import ApiTokens
from tests.api_support import BACKENDS, LiveServer, database
from tests.clirunner import followthrough
from tests.fake_openai import FakeOpenAI, items_reply

OURS = {"northwind.example"}
DIRECTORY = {
    "Marco Rossi": "marco@northwind.example",
    "Priya Shah": "priya@northwind.example",
    "Raj Patel": "raj@contoso.example",
    "Dana Lee": "dana@contoso.example",
}
TUESDAY = datetime(2026, 3, 10, 15, tzinfo=UTC)
DEALS = (
    "deal_id,deal_name,account_name,account_domain,stage,amount,close_date,owner_email,owner_name,tier\n"
    "D-1,Contoso Renewal,Contoso,contoso.example,Negotiation,50000,2026-04-30,"
    "marco@northwind.example,Marco Rossi,Enterprise\n"
    "D-2,Globex Pilot,Globex,globex.example,Proposal,20000,2026-05-30,"
    "priya@northwind.example,Priya Nair,Mid-Market\n"
)
CONTACTS = (
    "email,name,account_name,role\n"
    "raj@contoso.example,Raj Patel,Contoso,Procurement\n"
    "dana@contoso.example,Dana Lee,Contoso,VP Data\n"
)
MBOX = """From raj@contoso.example Mon Mar 02 10:00:00 2026
From: Raj Patel <raj@contoso.example>
To: Marco Rossi <marco@northwind.example>
Subject: Re: Contoso order form
Date: Mon, 02 Mar 2026 10:00:00 -0500
Message-ID: <po-1@contoso.example>

Hi Marco,

Thanks for the updated quote. I'll get the PO number to you by Friday.
We will send the signed order form by March 31.

Best,
Raj
"""


def notes(attendees: str, *lines: str) -> SourceDocument:
    """Meeting notes with an "Action items" list of ``lines``."""
    text = "# Contoso sync\n\n## Action items\n" + "".join(f"- {line}\n" for line in lines)
    people = [Participant(name=n.strip(), role="attendee") for n in attendees.split(",")]
    return SourceDocument(
        source="meeting", external_id="notes-1", occurred_at=TUESDAY, participants=people, text=text
    )


def offline() -> OfflineExtractor:
    return OfflineExtractor(company_domains=OURS, directory=DIRECTORY)


def by_evidence(doc: SourceDocument, extractor: OfflineExtractor | None = None) -> dict[str, ExtractedItem]:
    return {i.evidence.quote: i for i in (extractor or offline()).extract(doc)}


# --------------------------------------------------------------------------- extraction


def test_a_customers_email_promise_is_theirs_with_its_due_date() -> None:
    doc = SourceDocument(
        source="email",
        external_id="<po-1@contoso.example>",
        occurred_at=datetime(2026, 3, 2, 15, tzinfo=UTC),
        participants=[
            Participant(name="Raj Patel", email="raj@contoso.example", role="sender"),
            Participant(name="Marco Rossi", email="marco@northwind.example", role="recipient"),
        ],
        text="Hi Marco,\n\nI'll get the PO number to you by Friday.\n\nRaj\n",
    )
    [item] = offline().extract(doc)
    assert (item.owner_email, str(item.due)) == ("raj@contoso.example", "2026-03-06")
    assert ItemFlag.CUSTOMER_PROMISE in item.flags


@pytest.mark.parametrize(
    ("line", "owner_email"),
    [
        ("Raj: send the PO number by Friday", "raj@contoso.example"),
        ("Dana (Contoso): share the schema export by Wednesday", "dana@contoso.example"),
        ("TODO @Dana book the training session", "dana@contoso.example"),
    ],
)
def test_a_customers_action_item_in_notes_is_theirs(line: str, owner_email: str) -> None:
    """Names only in the notes: the CRM directory places each attendee on a side."""
    [item] = offline().extract(notes("Marco Rossi, Raj Patel, Dana Lee", line))
    assert item.owner_email == owner_email and ItemFlag.CUSTOMER_PROMISE in item.flags
    assert not item.action.startswith(("@", "Dana", "TODO"))


def test_the_customers_company_named_as_the_assignee_is_the_customer() -> None:
    """A company of theirs ("Contoso to ...", "Customer to ...") as the assignee: the customer's promise.

    "Contoso" is the first label of the email domain of someone of theirs present.
    With one person of theirs present, that person owns it; with several, the company as written.
    """
    lines = ("Contoso to provide the list of admin users by March 18", "Customer to return the signed form")
    one = by_evidence(notes("Marco Rossi, Raj Patel", *lines))
    for quote in lines:
        item = one[quote]
        assert item.owner_email == "raj@contoso.example" and ItemFlag.CUSTOMER_PROMISE in item.flags
    two = by_evidence(notes("Marco Rossi, Raj Patel, Dana Lee", *lines))
    item = two[lines[0]]
    assert (item.owner, item.owner_email) == ("Contoso", None)
    assert ItemFlag.CUSTOMER_PROMISE in item.flags


def test_our_own_action_items_and_unknown_companies_stay_ours() -> None:
    found = by_evidence(
        notes(
            "Marco Rossi, Raj Patel",
            "Marco: send the revised quote by Thursday",
            "Initech to review the pricing page",  # no one of Initech takes part
        )
    )
    for item in found.values():
        assert ItemFlag.CUSTOMER_PROMISE not in item.flags


def test_a_transcript_speakers_promise_read_by_the_llm_backend_is_the_customers() -> None:
    """Speakers by name only (a Zoom or Teams transcript): the CRM directory says who is theirs."""
    lines = [("Marco Rossi", "Where are we on procurement?"), ("Raj Patel", "I'll get you the PO by Friday.")]
    text, segments = "", []
    for who, said in lines:
        start = len(text)
        text += f"{who}: {said}\n"
        segments.append(Segment(speaker=who, char_start=start, char_end=len(text) - 1, text=text[start:-1]))
    doc = SourceDocument(
        source="meeting",
        external_id="call-1",
        occurred_at=TUESDAY,
        participants=[Participant(name=who, role="speaker") for who, _ in lines],
        segments=segments,
        text=text,
    )
    with FakeOpenAI() as server:
        server.queue(
            items_reply(
                {
                    "type": "commitment",
                    "owner": "Raj Patel",
                    "action": "Send the PO number",
                    "evidence": "I'll get you the PO by Friday.",
                }
            )
        )
        client = openai.OpenAI(base_url=server.url, api_key="sk-test", max_retries=0)
        try:
            backend = OpenAIExtractor(
                client,
                model="gpt-4o-mini",
                backoff=Backoff(initial_s=0.001, max_s=0.01),
                prefilter=offline(),
                directory=DIRECTORY,
            )
            [item] = backend.run(doc).items
        finally:
            client.close()
    assert ItemFlag.CUSTOMER_PROMISE in item.flags


# --------------------------------------------------------------------------- report, digest, API


def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "inputs"
    (root / "crm").mkdir(parents=True)
    (root / "crm" / "deals.csv").write_text(DEALS, encoding="utf-8")
    (root / "crm" / "contacts.csv").write_text(CONTACTS, encoding="utf-8")
    (root / "mail.mbox").write_text(MBOX, encoding="utf-8")
    return root


def test_report_and_digest_show_what_the_customer_owes_us(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    run = followthrough("--as-of", "2026-03-16", "run", workspace(tmp_path), db=db, env={"COLUMNS": "120"})
    assert run.returncode == 0, run.stderr
    section = run.stdout[run.stdout.index("Waiting on customer") :]
    assert "Waiting on customer (2, 1 overdue)" in section
    assert "raj@contoso.example · due 2026-03-06 (10d late) · Contoso Renewal" in section
    assert "nudge: marco@northwind.example to chase (promised by Friday)" in section
    assert section.count("nudge:") == 1  # the order form is not due yet

    ours = followthrough("--as-of", "2026-03-16", "commitments", "list", "--json", db=db)
    assert json.loads(ours.stdout) == []  # never in our open list

    digest = followthrough(
        "--as-of", "2026-03-16", "digest", "--owner", "marco@northwind.example", "--json", db=db
    )
    late = json.loads(digest.stdout)["customer_overdue"]
    assert [(w["owner"], w["due"], w["overdue_days"], w["nudge"]) for w in late] == [
        ("raj@contoso.example", "2026-03-06", 10, True)
    ]
    text = followthrough("--as-of", "2026-03-16", "digest", "--owner", "marco@northwind.example", db=db)
    assert "Customers past due on their promises to you (1)" in text.stdout
    other = followthrough(
        "--as-of", "2026-03-16", "digest", "--owner", "priya@northwind.example", "--json", db=db
    )
    assert json.loads(other.stdout)["customer_overdue"] == []  # not Priya's deal


@pytest.mark.parametrize("backend", BACKENDS)
def test_api_lists_waiting_items_and_the_late_ones(backend: str, tmp_path: Path) -> None:
    with database(backend, "waiting", tmp_path) as url:
        run = followthrough("--as-of", "2026-03-16", "run", workspace(tmp_path), db=url)
        assert run.returncode == 0, run.stderr
        with Store(url) as store:
            _, token = ApiTokens(store.engine).create("reader", read_only=True)
        headers = {"Authorization": f"Bearer {token}"}
        with LiveServer(create_app(url, as_of=datetime(2026, 3, 16).date())) as server:

            def get(query: str) -> httpx.Response:
                return httpx.get(f"{server.url}/v1/commitments{query}", headers=headers)

            waiting = get("?status=waiting")
            assert waiting.status_code == 200, waiting.text
            rows = waiting.json()["items"]
            assert {(r["owner"], r["due"]) for r in rows} == {
                ("raj@contoso.example", "2026-03-06"),
                ("raj@contoso.example", "2026-03-31"),
            }
            assert all(ItemFlag.CUSTOMER_PROMISE in r["flags"] for r in rows)
            late = get("?status=waiting&overdue=true").json()["items"]
            assert [(r["due"], r["overdue_days"]) for r in late] == [("2026-03-06", 10)]
            assert get("?overdue=true").json()["items"] == []  # ours: nothing late
            assert get("").json()["items"] == []
