"""The demo workspace (fixtures/demo/) is well-formed; its planted results (demo_meta/) are consistent.

Standard library only: these checks guard the fixture itself, not the connectors that read it.
"""

from __future__ import annotations

import csv
import email
import email.policy
import importlib.util
import json
import mailbox
import re
from datetime import UTC, date, datetime, timedelta
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DEMO = FIXTURES / "demo"
META = FIXTURES / "demo_meta"
AS_OF = date(2026, 3, 16)
FIRST_DAY, LAST_DAY = date(2026, 3, 2), date(2026, 3, 14)
SILENT_THREAD_DAYS = {date(2026, 2, 4), date(2026, 2, 9)}  # Massive Dynamic: silent since February
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
DEAL_COLUMNS = [
    "deal_id",
    "deal_name",
    "account_name",
    "account_domain",
    "stage",
    "amount",
    "close_date",
    "owner_email",
    "owner_name",
    "tier",
]
CONTACT_COLUMNS = ["email", "name", "account_name", "role"]
VTT_NAME = "GMT20260311-160000_Recording.transcript.vtt"


# --------------------------------------------------------------------------- readers


class _HtmlText(HTMLParser):
    _BLOCK = {"p", "div", "br", "li", "h1", "h2", "h3", "tr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"style", "head", "script"}:
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in {"style", "head", "script"}:
            self._skip -= 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    return unescape("".join(parts for parts in parser.parts)).replace("\xa0", " ")


def messages() -> list[email.message.EmailMessage]:
    box = mailbox.mbox(str(DEMO / "email" / "customers.mbox"), create=False)
    try:
        return [
            email.message_from_bytes(box.get_bytes(key), policy=email.policy.default)  # type: ignore[misc]
            for key in box.keys()
        ]
    finally:
        box.close()


def body_text(msg: email.message.EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    assert part is not None
    text = part.get_content()
    return html_to_text(text) if part.get_content_type() == "text/html" else text


_QUOTE_START = re.compile(r"^(On .+ wrote:|_{8,}|-{3,} ?Original Message ?-{3,}|-- )$")


def new_text(body: str) -> str:
    """The author's own words: no quoted reply, no forwarded chain, no '-- ' signature."""
    kept = []
    for line in body.splitlines():
        if _QUOTE_START.match(line):
            break
        if line.startswith(">"):
            continue
        kept.append(line)
    return "\n".join(kept)


def slack_threads() -> dict[str, list[dict]]:
    """'<channel>/<thread_ts>' -> messages of that thread (a lone message is its own thread)."""
    threads: dict[str, list[dict]] = {}
    for day in sorted((DEMO / "slack").glob("*/*.json")):
        for m in json.loads(day.read_text(encoding="utf-8")):
            key = f"{day.parent.name}/{m.get('thread_ts', m['ts'])}"
            threads.setdefault(key, []).append(m)
    return threads


def documents() -> dict[str, tuple[str, str, date]]:
    """Every document of the workspace: id -> (new text, full text, local date)."""
    docs: dict[str, tuple[str, str, date]] = {}
    for msg in messages():
        body = body_text(msg)
        docs[str(msg["Message-ID"])] = (new_text(body), body, msg["Date"].datetime.date())
    for key, msgs in slack_threads().items():
        text = "\n".join(m.get("text", "") for m in msgs)
        first = datetime.fromtimestamp(float(msgs[0]["ts"]), UTC).date()
        docs[key] = (text, text, first)
    for path in sorted((DEMO / "meetings").iterdir()):
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".md":
            when = date.fromisoformat(re.search(r"^Date: (\d{4}-\d\d-\d\d)", text, re.M).group(1))
        else:
            stamp = re.match(r"GMT(\d{8})-\d{6}", path.name).group(1)
            when = datetime.strptime(stamp, "%Y%m%d").date()
        docs[f"meetings/{path.name}"] = (text, text, when)
    return docs


def expected() -> dict:
    return json.loads((META / "expected.json").read_text(encoding="utf-8"))


def doc_key(item: dict) -> str:
    return item["file"] if item["source"] == "meeting" else item["message_id"]


# --------------------------------------------------------------------------- formats


def test_mbox_is_a_threaded_rfc5322_mailbox() -> None:
    msgs = messages()
    assert 20 <= len(msgs) <= 24
    ids = {str(m["Message-ID"]) for m in msgs}
    assert len(ids) == len(msgs)
    for m in msgs:
        assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", str(m["Message-ID"]))
        when = m["Date"].datetime
        assert when.tzinfo is not None
        assert FIRST_DAY <= when.date() <= LAST_DAY or when.date() in SILENT_THREAD_DAYS
        assert m["From"].addresses[0].display_name
        if m["In-Reply-To"]:
            assert str(m["In-Reply-To"]) in ids
            assert str(m["In-Reply-To"]) in str(m["References"]).split()
    replies = [body_text(m) for m in msgs if m["In-Reply-To"]]
    assert sum(bool(re.search(r"^On .+ wrote:$", b, re.M)) for b in replies) >= 5
    assert any("\n-- \n" in body_text(m) for m in msgs)
    types = [m.get_content_type() for m in msgs]
    assert types.count("text/html") == 1  # one HTML-only message
    encodings = {str(p["Content-Transfer-Encoding"]) for m in msgs for p in m.walk() if not p.is_multipart()}
    assert {"base64", "quoted-printable"} <= encodings
    assert any("Zoë Müller" in body_text(m) for m in msgs)


def test_slack_export_layout() -> None:
    users = json.loads((DEMO / "slack" / "users.json").read_text(encoding="utf-8"))
    channels = json.loads((DEMO / "slack" / "channels.json").read_text(encoding="utf-8"))
    by_id = {u["id"]: u for u in users}
    humans = [u for u in users if not u["is_bot"]]
    assert all(u["profile"]["email"] and u["real_name"] for u in humans)
    assert len({u["team_id"] for u in humans}) == 2  # a Slack Connect guest from the customer
    assert {c["name"] for c in channels} == {p.name for p in (DEMO / "slack").iterdir() if p.is_dir()}
    seen_subtypes: set[str] = set()
    for day in (DEMO / "slack").glob("*/*.json"):
        msgs = json.loads(day.read_text(encoding="utf-8"))
        for m in msgs:
            when = datetime.fromtimestamp(float(m["ts"]), UTC)
            assert when.strftime("%Y-%m-%d") == day.stem
            seen_subtypes.add(m.get("subtype", ""))
            for uid in re.findall(r"<@(U[A-Z0-9]+)>", m["text"]):
                assert uid in by_id
    assert {"channel_join", "bot_message"} <= seen_subtypes
    for key, msgs in slack_threads().items():
        parent = next(m for m in msgs if m["ts"] == key.split("/")[1])
        replies = [m for m in msgs if m is not parent]
        if replies:
            assert parent["reply_count"] == len(replies)
            assert [r["ts"] for r in parent["replies"]] == [r["ts"] for r in replies]
            assert all(r["parent_user_id"] == parent["user"] for r in replies)


def test_crm_csv_columns() -> None:
    with open(DEMO / "crm" / "deals.csv", newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == DEAL_COLUMNS
        deals = list(reader)
    with open(DEMO / "crm" / "contacts.csv", newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == CONTACT_COLUMNS
        contacts = list(reader)
    assert 6 <= len(deals) <= 9 and 8 <= len(contacts) <= 13
    for d in deals:
        float(d["amount"])
        date.fromisoformat(d["close_date"])
        assert d["owner_email"].endswith("@northwind.io")
    assert {"Closed Won", "Closed Lost"} <= {d["stage"] for d in deals}
    accounts = {d["account_name"] for d in deals}
    assert all(c["account_name"] in accounts and c["role"] for c in contacts)


def test_meeting_notes_and_transcript() -> None:
    for path in (DEMO / "meetings").glob("*.md"):
        lines = path.read_text(encoding="utf-8").splitlines()
        assert lines[0].startswith("# ")
        datetime.strptime(lines[1], "Date: %Y-%m-%d %H:%M %z")
        assert lines[2].startswith("Attendees: ") and lines[3] == ""
    vtt = (DEMO / "meetings" / VTT_NAME).read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT\n")
    blocks = [b for b in vtt.split("\n\n")[1:] if b.strip()]
    assert 20 <= len(blocks) <= 40
    for block in blocks:
        _, timing, cue = block.strip("\n").split("\n")
        assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}", timing)
        assert re.match(r"[^:]+: \S", cue)


def test_generator_is_reproducible(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_demo", META / "make_demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    produced = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert produced
    for rel in produced:
        assert (tmp_path / rel).read_bytes() == (FIXTURES / rel).read_bytes(), rel
    tracked = {p.relative_to(FIXTURES) for p in DEMO.rglob("*") if p.is_file()}
    assert tracked == {p for p in produced if p.parts[0] == "demo"}, "fixtures/demo: generated inputs only"


def test_demo_is_small() -> None:
    assert sum(p.stat().st_size for p in DEMO.rglob("*") if p.is_file()) < 200_000


# --------------------------------------------------------------------------- planted results


def test_expected_items_are_consistent() -> None:
    exp = expected()
    assert exp["as_of"] == AS_OF.isoformat() and exp["company_domains"] == ["northwind.io"]
    with open(DEMO / "crm" / "deals.csv", newline="", encoding="utf-8") as f:
        deal_ids = {row["deal_id"] for row in csv.DictReader(f)}
    items = exp["items"]
    commitments = [i for i in items if i["type"] == "commitment" and not i.get("customer_promise")]
    requests = [i for i in items if i["type"] == "request"]
    assert 8 <= len(commitments) <= 14 and 4 <= len(requests) <= 7
    for i in items:
        assert i["source"] in {"email", "slack", "meeting"}
        assert (i["message_id"] is None) == (i["source"] == "meeting")
        ours = i["owner_email"] is None or i["owner_email"].endswith("@northwind.io")
        assert ours != bool(i.get("customer_promise")) or i["type"] == "request"
        assert i["deal"] is None or i["deal"] in deal_ids
        due = date.fromisoformat(i["due"]) if i["due"] else None
        ours = not i.get("customer_promise")
        assert i["overdue"] == (due is not None and due < AS_OF and not i["fulfilled"] and ours)
        assert ("answered" in i) == (i["type"] == "request")
    dues = [date.fromisoformat(i["due"]) for i in commitments if i["due"] and not i["fulfilled"]]
    assert sum(i["overdue"] for i in commitments) >= 3
    assert sum(AS_OF <= d <= AS_OF + timedelta(days=7) for d in dues) >= 2
    assert sum(i["due"] is None for i in commitments) >= 2
    assert any(i["deal"] is None for i in commitments)
    assert any(i["fulfilled"] for i in commitments)
    assert any(not i["answered"] for i in requests)


def test_merged_sayings_name_a_later_email_of_the_same_promise() -> None:
    """Each ``merged_into`` is a meeting's promise said again by the same person in a later email:
    same owner and deal, said 0 to 14 days later, due dates at most 2 days apart."""
    exp = expected()
    docs = documents()
    merged = [i for i in exp["items"] if i.get("merged_into")]
    assert len(merged) >= 1
    for item in merged:
        target = item["merged_into"]
        (survivor,) = [
            i
            for i in exp["items"]
            if i.get("message_id") == target["message_id"]
            and i["evidence_contains"] == target["evidence_contains"]
        ]
        assert (
            item["source"] == "meeting" and survivor["source"] == "email" and not survivor.get("merged_into")
        )
        assert (item["type"], item["owner_email"], item["deal"]) == (
            survivor["type"],
            survivor["owner_email"],
            survivor["deal"],
        )
        said, again = docs[doc_key(item)][2], docs[doc_key(survivor)][2]
        assert 0 <= (again - said).days <= 14
        assert abs((date.fromisoformat(item["due"]) - date.fromisoformat(survivor["due"])).days) <= 2
        # in other words: the email does not quote the meeting's sentence
        assert item["evidence_contains"] not in docs[doc_key(survivor)][1]


def test_the_silent_account_has_an_open_deal_and_no_recent_touch() -> None:
    exp = expected()
    with open(DEMO / "crm" / "deals.csv", newline="", encoding="utf-8") as f:
        deals = list(csv.DictReader(f))
    assert {a["account"] for a in exp["accounts"]} == {d["account_name"] for d in deals}
    silent = [a for a in exp["accounts"] if a["silent"]]
    assert len(silent) == 1
    for a in silent:
        (deal,) = [d for d in deals if d["deal_id"] == a["deal"]]
        assert deal["account_name"] == a["account"] and not deal["stage"].startswith("Closed")
        limit = 14 if deal["tier"] == "Enterprise" else 30
        assert (AS_OF - date.fromisoformat(a["last_touch_by_us"])).days > limit
        domain = deal["account_domain"]
        touched = [
            m["Date"].datetime.date()
            for m in messages()
            if domain in str(m["From"]) + str(m["To"]) + str(m.get("Cc", ""))
        ]
        assert max(touched) == date.fromisoformat(a["last_touch_by_them"])
    for a in exp["accounts"]:
        if not a["silent"]:
            assert (AS_OF - date.fromisoformat(a["last_touch_by_us"])).days < 14


def test_due_dates_follow_the_calendar() -> None:
    """A weekday named in the evidence is the due date's weekday, within two weeks of the document."""
    docs = documents()
    for i in expected()["items"]:
        if not i["due"]:
            continue
        due = date.fromisoformat(i["due"])
        written = docs[doc_key(i)][2]
        assert written <= due <= written + timedelta(days=14), i["evidence_contains"]
        named = [d for d in WEEKDAYS if d in i["evidence_contains"].lower()]
        if named:
            assert WEEKDAYS[due.weekday()] == named[0], i["evidence_contains"]
        if "tomorrow" in i["evidence_contains"]:
            assert due == written + timedelta(days=1)


@pytest.mark.parametrize("index", range(len(expected()["items"])))
def test_evidence_appears_once_in_new_text(index: int) -> None:
    item = expected()["items"][index]
    docs = documents()
    evidence = item["evidence_contains"]
    assert docs[doc_key(item)][0].count(evidence) == 1
    # ...and nowhere else in the workspace except as quoted text in later replies.
    assert sum(new.count(evidence) for new, _, _ in docs.values()) == 1
    if "fulfilled_by" in item:
        proof = item["fulfilled_by"]
        assert docs[proof["message_id"]][0].count(proof["evidence_contains"]) == 1


def test_quoted_commitment_is_repeated_in_later_replies() -> None:
    """The pricing promise reappears (quoted) in two later messages: it must still count once."""
    evidence = expected()["items"][0]["evidence_contains"]
    full_copies = sum(full.count(evidence) for _, full, _ in documents().values())
    assert full_copies >= 3


def test_noise_is_present_and_distinct_from_items() -> None:
    exp = expected()
    everything = "\n".join(full for _, full, _ in documents().values())
    for noise in exp["not_extracted"]:
        assert noise in everything, noise
        for i in exp["items"]:
            assert noise not in i["evidence_contains"] and i["evidence_contains"] not in noise
