"""The casebook: hand-written sentences with the items the product definitions call for.

Every ``tests/cases/*.jsonl`` line is one case::

    {"text": ..., "source": "email" | "slack" | "meeting", "author": "us" | "customer" | "unknown",
     "expect": ["commitment", "request", ...],          # item types, in text order
     "owner": ["author" | "Priya" | "customer" | null],  # optional, parallel to expect; null = not checked
     "due": ["2026-03-13" | null],                       # optional, parallel to expect; null = no due date
     "why": "the linguistic reason"}

The message date is Tuesday 2026-03-10. Expectations come from the definitions of a
commitment and a request, never from what the extractor happens to output.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from extractor.offline import OfflineExtractor, split_sentences
from followthrough.types import ExtractedItem, Participant, Segment, SourceDocument

CASES_DIR = Path(__file__).resolve().parent / "cases"
OCCURRED = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
DIRECTORY = {"Priya Shah": "priya@northwind.io"}
OUR_DOMAINS = {"northwind.io"}

MARCO = ("Marco Rossi", "marco@northwind.io")
DANA = ("Dana Lee", "dana@acme.com")
PRIYA = ("Priya Shah", "priya@northwind.io")
ALEX = ("Alex Kim", "alex@example.org")
SAM = ("Sam Lee", "sam@example.org")

REQUIRED = {"text", "source", "author", "expect", "why"}
OPTIONAL = {"owner", "due"}
SOURCES = {"email", "slack", "meeting"}
AUTHORS = {"us", "customer", "unknown"}
TYPES = {"commitment", "request"}
OWNERS = {"author", "Priya", "customer", None}


@dataclass(frozen=True)
class Case:
    file: str
    line: int
    data: dict[str, Any]

    @property
    def id(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.data.get("text", "").lower()).strip("-")[:48].rstrip("-")
        return f"{self.file}:{self.line}:{self.data.get('author', '?')}:{slug}"


def _case_files() -> list[Path]:
    return sorted(CASES_DIR.glob("*.jsonl")) if CASES_DIR.is_dir() else []


def _load() -> list[Case]:
    out: list[Case] = []
    for path in _case_files():
        for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                data = json.loads(raw)
            except json.JSONDecodeError:
                data = {"_unparsed": raw}
            out.append(Case(path.stem, n, data))
    return out


CASES = _load()


# ---------------------------------------------------------------------------- documents


def _p(who: tuple[str, str], role: str) -> Participant:
    return Participant(name=who[0], email=who[1], role=role)


def _cast(author: str) -> tuple[tuple[str, str], list[tuple[tuple[str, str], str]], set[str] | None]:
    """The writer/speaker, the other people with their roles, and the company domains."""
    if author == "us":
        return MARCO, [(DANA, "recipient"), (PRIYA, "cc")], OUR_DOMAINS
    if author == "customer":
        return DANA, [(MARCO, "recipient"), (PRIYA, "cc")], OUR_DOMAINS
    return ALEX, [(SAM, "recipient")], None


def build(case: dict[str, Any]) -> tuple[SourceDocument, set[str] | None, str]:
    """The document for one case, the company domains to use, and the author's email."""
    text: str = case["text"]
    writer, others, domains = _cast(case["author"])
    if case["source"] == "meeting":
        participants = [_p(writer, "speaker"), *(_p(who, "attendee") for who, _ in others)]
        segments = [
            Segment(speaker=writer[0], speaker_email=writer[1], char_start=0, char_end=len(text), text=text)
        ]
    else:
        participants = [_p(writer, "sender"), *(_p(who, role) for who, role in others)]
        segments = []
    doc = SourceDocument(
        source=case["source"],
        external_id="case",
        occurred_at=OCCURRED,
        participants=participants,
        segments=segments,
        text=text,
    )
    return doc, domains, writer[1]


def _decision(extractor: OfflineExtractor, text: str) -> str:
    try:
        d = extractor.explain(text).decision
    except Exception as exc:  # the explanation must never hide the real failure
        return f"(explain failed: {exc!r})"
    return (
        f"decision={d.label!r} rule={d.rule!r} reason={d.reason!r} cues={d.cues.names()} "
        f"scores=(commitment={d.scores.commitment:.3f}, request={d.scores.request:.3f})"
    )


def _explain(extractor: OfflineExtractor, text: str) -> str:
    """The decision on the whole text, then on each sentence when there are several."""
    out = _decision(extractor, text)
    try:
        spans = split_sentences(text)
    except Exception:
        spans = []
    if len(spans) > 1:
        for a, b in spans:
            out += f"\n    sentence {text[a:b]!r}: {_decision(extractor, text[a:b])}"
    return out


def _describe(items: list[ExtractedItem]) -> str:
    parts = [
        f"{i.type}(owner={i.owner_email}, due={i.due}, flags={i.flags}, quote={i.evidence.quote!r})"
        for i in items
    ]
    return "; ".join(parts) or "(none)"


# ---------------------------------------------------------------------------- tests


def test_case_folder_is_present_and_not_empty() -> None:
    if not CASES_DIR.is_dir():
        pytest.fail(f"the casebook folder {CASES_DIR} is missing")
    if not _case_files():
        pytest.fail(f"no *.jsonl case files in {CASES_DIR}")
    if not CASES:
        pytest.fail(f"the case files in {CASES_DIR} hold no cases")


def test_every_case_file_parses_with_valid_fields() -> None:
    problems: list[str] = []
    assert CASES, f"no cases found under {CASES_DIR}"
    for case in CASES:
        where = f"{case.file}.jsonl:{case.line}"
        d = case.data
        if "_unparsed" in d:
            problems.append(f"{where}: not valid JSON")
            continue
        if not isinstance(d, dict):
            problems.append(f"{where}: not a JSON object")
            continue
        missing = REQUIRED - d.keys()
        unknown = d.keys() - REQUIRED - OPTIONAL
        if missing:
            problems.append(f"{where}: missing keys {sorted(missing)}")
            continue
        if unknown:
            problems.append(f"{where}: unknown keys {sorted(unknown)}")
        if not isinstance(d["text"], str) or not d["text"].strip():
            problems.append(f"{where}: empty text")
        if not isinstance(d["why"], str) or not d["why"].strip() or "\n" in d["why"]:
            problems.append(f"{where}: 'why' must be one non-empty line")
        if d["source"] not in SOURCES:
            problems.append(f"{where}: bad source {d['source']!r}")
        if d["author"] not in AUTHORS:
            problems.append(f"{where}: bad author {d['author']!r}")
        expect = d["expect"]
        if not isinstance(expect, list) or any(t not in TYPES for t in expect):
            problems.append(f"{where}: expect must be a list of {sorted(TYPES)}, got {expect!r}")
            continue
        if "owner" in d:
            owner = d["owner"]
            if not isinstance(owner, list) or len(owner) != len(expect):
                problems.append(f"{where}: owner must be a list parallel to expect")
            else:
                for kind, who in zip(expect, owner, strict=True):
                    if who not in OWNERS:
                        problems.append(f"{where}: bad owner {who!r}")
                    elif who == "customer" and d["author"] != "customer":
                        problems.append(f"{where}: owner 'customer' needs a customer author")
                    elif who is not None and kind != "commitment":
                        problems.append(f"{where}: an owner is only checked on commitments")
        if "due" in d:
            due = d["due"]
            if not isinstance(due, list) or len(due) != len(expect):
                problems.append(f"{where}: due must be a list parallel to expect")
            else:
                for value in due:
                    if value is None:
                        continue
                    try:
                        date.fromisoformat(value)
                    except (TypeError, ValueError):
                        problems.append(f"{where}: bad due date {value!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case: Case) -> None:
    d = case.data
    if "_unparsed" in d or not REQUIRED <= d.keys():
        pytest.fail(f"{case.file}.jsonl:{case.line} is not a valid case (see the parse test)")
    doc, domains, author_email = build(d)
    extractor = OfflineExtractor(company_domains=domains, directory=DIRECTORY)
    items = extractor.extract(doc)

    def context() -> str:
        return (
            f"\n  case: {case.file}.jsonl:{case.line} ({d['source']}, author {d['author']})"
            f"\n  text: {d['text']!r}"
            f"\n  why: {d['why']}"
            f"\n  expected: {d['expect']}"
            f"\n  got: {_describe(items)}"
            f"\n  explain: {_explain(extractor, d['text'])}"
        )

    assert [i.type for i in items] == d["expect"], "item types differ" + context()

    owner_emails = {"author": author_email, "Priya": PRIYA[1], "customer": DANA[1]}
    for n, (item, who) in enumerate(zip(items, d.get("owner") or [None] * len(items), strict=True)):
        if who is None:
            continue
        assert item.owner_email == owner_emails[who], f"item {n}: owner should be {who}" + context()
        if who == "customer":
            assert "customer_promise" in item.flags, f"item {n}: a customer's promise is flagged" + context()
        else:
            assert "customer_promise" not in item.flags, f"item {n}: not a customer's promise" + context()

    if "due" in d:
        for n, (item, due) in enumerate(zip(items, d["due"], strict=True)):
            want = date.fromisoformat(due) if due is not None else None
            assert item.due == want, f"item {n}: due should be {want}" + context()
