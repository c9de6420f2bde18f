"""Issue 13, bounded on any input: the limits and the offline time budget.

Each limit (one named constant in :mod:`followthrough.limits`) is hit with one line that names the
input (and the message inside a mailbox) and the limit, and the rest of the batch is read. A small
limit is patched in where the real one would need a large file. The offline extractor's per-document
budget turns a document that takes too long into a failed one, with the reason, and the batch goes on.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

import connectors.email as email_connector
import connectors.meetings_common as meetings_common
import followthrough.ingest as ingest
from connectors.email import EmlConnector, MboxConnector, documents_from_bytes
from connectors.mail.mbox import iter_mbox
from connectors.meetings import MeetingNotesConnector, VttTranscriptConnector
from extractor import ExtractionFailed
from extractor.offline import OfflineExtractor, split_sentences
from extractor.offline.budget import BUDGET_ENV, BudgetExceeded, Deadline, offline_budget_s
from extractor.offline.deferred import DeferredOffline
from followthrough.errors import ConfigError, InputError
from followthrough.limits import (
    MAX_MIME_DEPTH,
    MAX_MIME_PARTS,
    MAX_PARTICIPANTS,
    MAX_SENTENCE_CHARS,
    OFFLINE_BUDGET_S,
)
from followthrough.pipeline import cut_notes
from followthrough.types import Participant, ParticipantRole, Segment, SourceDocument
from tests.clirunner import followthrough
from tests.conftest import REPO

MONDAY = datetime(2026, 3, 16, 10, tzinfo=UTC)
HEAD = (
    "From: Priya Shah <priya@ourco.com>\nTo: Dana Lee <dana@customer.com>\nSubject: {subject}\n"
    "Date: Mon, 16 Mar 2026 10:00:00 +0000\nMessage-ID: <{subject}@ourco.com>\n"
)


def _eml(subject: str, body: str) -> str:
    return HEAD.format(subject=subject) + "Content-Type: text/plain; charset=utf-8\n\n" + body


def _mbox(*messages: str) -> str:
    return "".join(f"From priya@ourco.com Mon Mar 16 10:00:00 2026\n{m}\n\n" for m in messages)


def _errors() -> tuple[list[InputError], object]:
    seen: list[InputError] = []
    return seen, seen.append


# --------------------------------------------------------------------------- message size


def test_an_eml_over_the_message_limit_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(email_connector, "MAX_MESSAGE_BYTES", 2_000)
    big = tmp_path / "big.eml"
    big.write_text(_eml("big", "I'll send the deck by Friday. " * 200))
    with pytest.raises(InputError) as err:
        list(EmlConnector(big).documents())
    assert str(err.value).startswith(f"{big}: message is ")
    assert "over the limit of" in str(err.value) and "not read" in str(err.value)
    small = tmp_path / "small.eml"
    small.write_text(_eml("small", "I'll send the deck by Friday.\n"))
    assert [d.text for d in EmlConnector(small).documents()] == ["I'll send the deck by Friday."]


def test_a_message_over_the_limit_in_an_mbox_is_one_line_and_the_rest_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(email_connector, "MAX_MESSAGE_BYTES", 5_000)
    path = tmp_path / "box.mbox"
    huge_line = "I will send it " * 2_000  # one 30 kB line
    path.write_text(
        _mbox(
            _eml("m1", "I'll send the deck by Friday.\n"),
            _eml("m2", huge_line + "\n"),
            _eml("m3", "Could you review the plan by Monday?\n"),
        )
    )
    seen: list[InputError] = []
    docs = list(MboxConnector(path, on_error=seen.append).documents())
    assert [d.external_id for d in docs] == ["<m1@ourco.com>", "<m3@ourco.com>"]
    limit = 5_000 / 1024 / 1024
    assert [str(e) for e in seen] == [
        f"{path}#2: message is 0.0 MiB, over the limit of {limit:g} MiB for one message; not read"
    ]


def test_an_oversized_mbox_message_is_counted_not_kept(tmp_path: Path) -> None:
    path = tmp_path / "box.mbox"
    path.write_text(_mbox(_eml("m1", "short\n"), _eml("m2", "x" * 50_000 + "\n")))
    raws = list(iter_mbox(path, max_bytes=10_000))
    assert [len(r.data) > 0 for r in raws] == [True, False]
    assert raws[1].size > 50_000 and raws[0].size == len(raws[0].data)


def test_a_line_longer_than_a_read_piece_stays_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long line is read in pieces; the newline that ends it is no blank line before a From_ line."""
    import connectors.mail.mbox as mbox

    monkeypatch.setattr(mbox, "_MAX_PIECE", 64)
    path = tmp_path / "box.mbox"
    body = (
        "a" * 64 + "\nFrom x Mon Mar 16 10:00:00 2026\nSubject: not a message\n"
    )  # pieces: 64 a's, then "\n"
    path.write_text(_mbox(_eml("m1", body), _eml("m2", "second\n")))
    raws = list(iter_mbox(path))
    assert len(raws) == 2
    assert b"a" * 64 + b"\nFrom x Mon Mar 16" in raws[0].data


def test_documents_from_bytes_refuses_an_oversized_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(email_connector, "MAX_MESSAGE_BYTES", 100)
    with pytest.raises(InputError, match=r"^request body: message is .* over the limit"):
        documents_from_bytes(
            _eml("x", "hello\n").encode(), path=Path("m.eml"), origin="request body", number=1
        )


def test_a_body_with_no_text_before_the_cut_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    import connectors.mail.mime as mime

    monkeypatch.setattr(mime, "MAX_PART_CHARS", 1_000)
    html = _eml("tags", "<div>" * 1_000 + "I'll send it by Friday.").replace("text/plain", "text/html")
    with pytest.raises(
        InputError, match=r"^h.eml: no text in the first 1,000 characters of its body \(the limit\)$"
    ):
        documents_from_bytes(html.encode(), path=Path("h.eml"), origin="h.eml", number=1)


# --------------------------------------------------------------------------- MIME depth


def _nested(depth: int) -> bytes:
    """A message whose text part sits ``depth`` multiparts down."""
    inner = EmailMessage()
    inner.set_content("I'll send the deck by Friday.")
    for _ in range(depth):
        outer = EmailMessage()
        outer.make_mixed()
        outer.attach(inner)
        inner = outer
    for line in HEAD.format(subject="deep").splitlines():
        name, value = line.split(": ", 1)
        inner[name] = value
    return inner.as_bytes()


def test_mime_nested_past_the_limit_is_one_line() -> None:
    with pytest.raises(InputError) as err:
        documents_from_bytes(_nested(MAX_MIME_DEPTH + 5), path=Path("d.eml"), origin="d.eml", number=1)
    assert (
        str(err.value)
        == f"d.eml: MIME parts nested more than {MAX_MIME_DEPTH} levels deep (the limit); not read"
    )


def test_mime_nested_within_the_limit_is_read() -> None:
    (doc,) = documents_from_bytes(_nested(MAX_MIME_DEPTH - 1), path=Path("d.eml"), origin="d.eml", number=1)
    assert doc.text == "I'll send the deck by Friday."


def test_mime_nested_past_the_parser_is_the_same_line(tmp_path: Path) -> None:
    boundaries = "".join(
        f'--b{i}\nContent-Type: multipart/mixed; boundary="b{i + 1}"\n\n' for i in range(3_000)
    )
    data = (
        HEAD.format(subject="deeper") + 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b0"\n\n'
    )
    path = tmp_path / "deeper.eml"
    path.write_text(data + boundaries + "--b3000\nContent-Type: text/plain\n\nhi\n")
    with pytest.raises(InputError, match=f"nested more than {MAX_MIME_DEPTH} levels deep"):
        list(EmlConnector(path).documents())


def _parts(count: int) -> bytes:
    """A message of ``count`` MIME parts in all: a multipart/mixed holding ``count - 1`` text parts."""
    part = "--b\nContent-Type: text/plain\n\nI'll send the deck by Friday.\n"
    head = HEAD.format(subject="parts") + 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n'
    return (head + part * (count - 1) + "--b--\n").encode()


def test_more_mime_parts_than_the_limit_is_one_line() -> None:
    with pytest.raises(InputError) as err:
        documents_from_bytes(_parts(MAX_MIME_PARTS + 1), path=Path("p.eml"), origin="p.eml", number=1)
    assert str(err.value) == f"p.eml: more than {MAX_MIME_PARTS:,} MIME parts (the limit); not read"


def test_mime_parts_up_to_the_limit_are_read() -> None:
    (doc,) = documents_from_bytes(_parts(MAX_MIME_PARTS), path=Path("p.eml"), origin="p.eml", number=1)
    assert doc.text.startswith("I'll send the deck by Friday.")


def test_a_message_past_the_parts_limit_in_an_mbox_leaves_the_rest(tmp_path: Path) -> None:
    box = tmp_path / "inbox.mbox"
    many = _parts(MAX_MIME_PARTS + 1).decode()
    box.write_text(
        _mbox(_eml("before", "I'll call you Monday.\n"), many, _eml("after", "Could you sign it?\n"))
    )
    problems: list[InputError] = []
    docs = list(MboxConnector(box, on_error=problems.append).documents())
    assert [d.text.strip() for d in docs] == ["I'll call you Monday.", "Could you sign it?"]
    assert [str(p) for p in problems] == [
        f"{box}#2: more than {MAX_MIME_PARTS:,} MIME parts (the limit); not read"
    ]


# --------------------------------------------------------------------------- people of a message


def _addressed(count: int) -> bytes:
    """A message from Priya to ``count`` people (To and Cc), ``count`` of them on one To line."""
    to = ", ".join(f"Person {i} <p{i}@customer.com>" for i in range(count))
    head = HEAD.replace("To: Dana Lee <dana@customer.com>", f"To: {to}\nCc: Dana Lee <dana@customer.com>")
    return (head.format(subject="all") + "\nI'll send the deck by Friday.\n").encode()


def test_people_past_the_limit_are_cut_with_a_note() -> None:
    (doc,) = documents_from_bytes(
        _addressed(MAX_PARTICIPANTS + 10), path=Path("a.eml"), origin="a.eml", number=1
    )
    assert len(doc.participants) == MAX_PARTICIPANTS
    assert (
        doc.participants[0].email == "priya@ourco.com" and doc.participants[0].role is ParticipantRole.SENDER
    )
    assert doc.participants[-1].email == f"p{MAX_PARTICIPANTS - 2}@customer.com"
    assert [str(n) for n in cut_notes(doc)] == [
        f"a.eml (message <all@ourco.com>): more than {MAX_PARTICIPANTS:,} people in its address headers "
        f"(the limit); the first {MAX_PARTICIPANTS:,} kept"
    ]


def test_people_within_the_limit_are_all_kept() -> None:
    (doc,) = documents_from_bytes(
        _addressed(MAX_PARTICIPANTS - 2), path=Path("a.eml"), origin="a.eml", number=1
    )
    assert [p.email for p in doc.participants][-2:] == [
        f"p{MAX_PARTICIPANTS - 3}@customer.com",
        "dana@customer.com",
    ]
    assert "participants_cut" not in doc.metadata and cut_notes(doc) == []


def test_a_header_of_a_million_addresses_is_read_to_its_cut() -> None:
    """Only the first :data:`ADDRESS_CHARS` of an address header are parsed (a quarter of a million
    addresses took seconds), cut after a comma: no half address."""
    from connectors.mail.mime import ADDRESS_CHARS, addresses, parse_bytes  # noqa: PLC0415

    msg = parse_bytes(_addressed(30_000))
    found = addresses(msg, "To")
    assert MAX_PARTICIPANTS < len(found) < 30_000
    assert sum(len(f"Person {i} <p{i}@customer.com>, ") for i in range(len(found))) <= ADDRESS_CHARS + 2
    assert found[-1] == (f"Person {len(found) - 1}", f"p{len(found) - 1}@customer.com")


# --------------------------------------------------------------------------- meeting files, folders


def test_a_meeting_file_over_the_limit_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(meetings_common, "MAX_MEETING_FILE_BYTES", 1_000)
    notes = tmp_path / "2026-03-16-sync.md"
    notes.write_text("# Sync\n\n" + "- Priya: I'll send the deck by Friday.\n" * 100)
    vtt = tmp_path / "call.vtt"
    vtt.write_text("WEBVTT\n\n" + "00:00:01.000 --> 00:00:02.000\nPriya: I'll send it.\n\n" * 100)
    for connector in (MeetingNotesConnector(notes), VttTranscriptConnector(vtt)):
        with pytest.raises(InputError) as err:
            list(connector.documents())
        assert "over the limit of" in str(err.value) and "for one meeting file; not read" in str(err.value)


def test_a_walk_stops_at_the_file_limit_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "MAX_INPUT_FILES", 5)
    inbox = tmp_path / "inbox"
    (inbox / "sub").mkdir(parents=True)
    for i in range(4):
        (inbox / f"{i}.eml").write_text(_eml(f"m{i}", "hello\n"))
        (inbox / "sub" / f"{i}.eml").write_text(_eml(f"s{i}", "hello\n"))
    plan = ingest.plan([inbox])
    assert len(plan.inputs) == 4  # 0..3.eml, the folder "sub" (the 5th entry met), then the limit
    assert [str(e) for e in plan.errors] == [
        f"{inbox}: more than 5 files and folders to read (the limit); the rest is not read"
    ]
    monkeypatch.setattr(ingest, "MAX_INPUT_FILES", 9)
    assert len(ingest.plan([inbox]).inputs) == 8 and not ingest.plan([inbox]).errors


def test_folders_nested_past_the_limit_are_one_line_and_the_rest_is_read(tmp_path: Path) -> None:
    """500 folders deep passed Python's stack (the walk is recursive): an internal error, nothing read."""
    from followthrough.limits import MAX_FOLDER_DEPTH  # noqa: PLC0415

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "top.eml").write_text(_eml("top", "hello\n"))
    deep = inbox
    for i in range(500):
        deep = deep / f"d{i}"
    deep.mkdir(parents=True)
    (deep / "bottom.eml").write_text(_eml("bottom", "hello\n"))
    within = inbox / "d0"
    for i in range(1, MAX_FOLDER_DEPTH):
        within = within / f"d{i}"
    (within / "within.eml").write_text(_eml("within", "hello\n"))
    planned = ingest.plan([inbox])
    assert sorted(i.path.name for i in planned.inputs) == ["top.eml", "within.eml"]
    too_deep = within / f"d{MAX_FOLDER_DEPTH}"
    assert [str(e) for e in planned.errors] == [
        f"{too_deep}: folders nested more than {MAX_FOLDER_DEPTH} levels deep (the limit); not read"
    ]


# --------------------------------------------------------------------------- long sentences


def test_a_sentence_past_the_limit_is_read_in_pieces_cut_at_white_space() -> None:
    text = "we discussed the plan " * 300 + "and I will send the deck by Friday " + "ok " * 900
    spans = split_sentences(text)
    assert len(spans) > 1
    assert all(b - a <= MAX_SENTENCE_CHARS for a, b in spans)
    assert all(not text[a].isspace() and not text[b - 1].isspace() for a, b in spans)
    assert all(text[b] == " " for _, b in spans[:-1])  # each cut at a space
    assert " ".join(text[a:b] for a, b in spans) == text.strip()


def test_a_token_longer_than_the_limit_is_cut_at_the_size() -> None:
    assert split_sentences("x" * (2 * MAX_SENTENCE_CHARS + 5)) == [
        (0, MAX_SENTENCE_CHARS),
        (MAX_SENTENCE_CHARS, 2 * MAX_SENTENCE_CHARS),
        (2 * MAX_SENTENCE_CHARS, 2 * MAX_SENTENCE_CHARS + 5),
    ]


def test_a_promise_inside_an_unpunctuated_line_is_found_with_exact_evidence() -> None:
    text = "we talked about the rollout " * 200 + "I will send the deck by Friday " + "ok " * 50
    doc = SourceDocument(
        source="email",
        external_id="<long@x>",
        occurred_at=MONDAY,
        participants=[Participant(name="Priya", email="priya@ourco.com", role=ParticipantRole.SENDER)],
        text=text,
    )
    items = OfflineExtractor().extract(doc)
    assert any("send the deck" in i.action.lower() for i in items)
    for item in items:
        ev = item.evidence
        assert ev.char_start is not None and ev.char_end is not None
        assert text[ev.char_start : ev.char_end] == ev.quote


# --------------------------------------------------------------------------- offline budget


def _spent_after(read: int) -> BudgetExceeded:
    """The error a spent budget raises after ``read`` sentences."""
    deadline = Deadline(1e-9)
    time.sleep(0.001)
    with pytest.raises(BudgetExceeded) as caught:
        deadline.check(read)
    return caught.value


def _long_doc(sentences: int) -> SourceDocument:
    text = " ".join(f"I'll send report {i} by Friday." for i in range(sentences))
    return SourceDocument(
        source="email",
        external_id="<budget@x>",
        occurred_at=MONDAY,
        participants=[Participant(name="Priya", email="priya@ourco.com", role=ParticipantRole.SENDER)],
        text=text,
    )


def test_a_document_past_its_budget_is_failed_with_the_reason() -> None:
    ex = OfflineExtractor(budget_s=1e-9)
    with pytest.raises(BudgetExceeded, match=r"offline extraction exceeded its 1e-09 s budget"):
        ex.extract(_long_doc(50))
    outcome = ex.run_safely(_long_doc(50))
    assert isinstance(outcome, ExtractionFailed)
    assert "exceeded its 1e-09 s budget (stopped after" in str(outcome) and BUDGET_ENV in str(outcome)
    # a later run under the same budget would spend it again: the failure names that condition
    assert outcome.budget_s == ex.budget_s == 1e-9
    assert DeferredOffline().budget_s == OfflineExtractor().budget_s == OFFLINE_BUDGET_S


def test_what_the_rules_compute_on_first_use_is_not_charged_to_the_first_document() -> None:
    """In a fresh process the first document read used to pay a few tenths of a second of one-time
    work (the cue gate's literals, patterns compiled on first use) inside its budget: a two-line email
    failed a small budget once per process. The warm-up reads two documents outside any budget."""
    script = (
        "from datetime import UTC, datetime\n"
        "from extractor.offline import OfflineExtractor\n"
        "from followthrough.types import Participant, SourceDocument\n"
        "doc = SourceDocument(source='email', external_id='<a@x>',\n"
        "    occurred_at=datetime(2026, 3, 2, tzinfo=UTC),\n"
        "    participants=[Participant(name='Priya', email='priya@ourco.com', role='sender')],\n"
        "    text='Hi Dana,\\n\\nI will send the pricing sheet by Friday. Could you review the MSA?\\n')\n"
        "print(len(OfflineExtractor(budget_s=0.05).extract(doc)))\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == "2"


def test_within_its_budget_a_document_is_extracted_as_before() -> None:
    doc = _long_doc(20)
    assert OfflineExtractor(budget_s=600).extract(doc) == OfflineExtractor().extract(doc)


def test_the_budget_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BUDGET_ENV, raising=False)
    assert offline_budget_s() == OFFLINE_BUDGET_S == OfflineExtractor().budget_s
    monkeypatch.setenv(BUDGET_ENV, "2.5")
    assert OfflineExtractor().budget_s == 2.5
    assert OfflineExtractor(budget_s=7).budget_s == 7
    for bad in ("0", "-1", "soon", "nan", "inf"):
        monkeypatch.setenv(BUDGET_ENV, bad)
        with pytest.raises(ConfigError, match=f"{BUDGET_ENV}="):
            OfflineExtractor()


def test_run_fails_the_slow_document_with_one_line_and_records_the_rest(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "good.eml").write_text(
        _eml("good", "Hi Dana,\n\nI'll send you the security questionnaire by Friday.\n")
    )
    slow = " ".join(f"I'll send report {i} by Friday, and could you review part {i}?" for i in range(4_000))
    (inbox / "slow.eml").write_text(_eml("slow", slow + "\n"))
    res = followthrough("run", inbox, db=tmp_path / "t.db", env={BUDGET_ENV: "0.3"})
    assert res.returncode == 3, res.stderr
    failed = [ln for ln in res.stderr.splitlines() if "budget" in ln]
    assert len(failed) == 1 and "slow.eml" in failed[0], res.stderr
    assert "offline extraction exceeded its 0.3 s budget" in failed[0]
    assert "security questionnaire" in res.stdout
    # the re-run does not spend the same budget (or a smaller one) on the same content again: the
    # document is listed as held back, reported when it failed and so no failure of this run (exit 0)
    for budget in ("0.3", "0.2"):
        again = followthrough("run", inbox, "--json", db=tmp_path / "t.db", env={BUDGET_ENV: budget})
        assert again.returncode == 0, again.stderr
        report = json.loads(again.stdout)["run"]
        assert report["failed"] == [] and report["extracted"] == 0, report
        (held,) = report["held"]
        assert "slow.eml" in held and "ran out of its 0.3 s offline time budget" in held, held
        assert BUDGET_ENV in held and "--retry-failed" in held
    # asked to, a run tries it again under the same budget (and it fails again, as it did) ...
    retried = followthrough(
        "run", inbox, "--retry-failed", "--json", db=tmp_path / "t.db", env={BUDGET_ENV: "0.3"}
    )
    assert retried.returncode == 3, retried.stderr
    report = json.loads(retried.stdout)["run"]
    assert report["held"] == [] and len(report["failed"]) == 1 and "slow.eml" in report["failed"][0]
    # ... and under a larger budget a plain run tries it and extracts it
    larger = followthrough("run", inbox, "--json", db=tmp_path / "t.db", env={BUDGET_ENV: "600"})
    assert larger.returncode == 0, larger.stderr
    report = json.loads(larger.stdout)["run"]
    assert report["held"] == [] and report["failed"] == [] and report["extracted"] == 1, report
    assert report["items"] > 1_000
    # extracted, it is done: a re-run under the small budget again has nothing to hold back
    done = followthrough("run", inbox, "--json", db=tmp_path / "t.db", env={BUDGET_ENV: "0.3"})
    assert done.returncode == 0 and json.loads(done.stdout)["run"]["held"] == [], done.stderr


def test_a_lone_document_too_long_for_its_budget_is_partial_and_its_hold_is_on_record(tmp_path: Path) -> None:
    """Running out of the budget is the document's fault, not the backend's: a run whose only document
    did is partial (3), not "every document failed" (1, kept for a backend that fails them all); the
    runs that held it back count it (`runs` shows a Held column)."""
    slow = " ".join(f"I'll send report {i} by Friday, and could you review part {i}?" for i in range(4_000))
    mail = tmp_path / "slow.eml"
    mail.write_text(_eml("slow", slow + "\n"))
    env, db = {BUDGET_ENV: "0.3"}, tmp_path / "t.db"
    first = followthrough("run", mail, db=db, env=env)
    assert first.returncode == 3 and "every document failed" not in first.stderr, first.stderr
    assert "1 document not extracted (listed above); exit code 3" in first.stderr
    retried = followthrough("extract", "--retry-failed", "--json", db=db, env=env)
    assert retried.returncode == 3, retried.stderr
    assert json.loads(retried.stdout)["over_budget"] == 1
    held = followthrough("extract", "--json", db=db, env=env)
    assert held.returncode == 0 and len(json.loads(held.stdout)["held"]) == 1, held.stderr
    runs = json.loads(followthrough("runs", "--json", db=db).stdout)
    assert [(r["failed"], r["stats"]["over_budget"], r["stats"]["held"]) for r in runs] == [
        (0, 0, 1),
        (1, 1, 0),
        (1, 1, 0),
    ]
    table = followthrough("runs", db=db, env={"COLUMNS": "200"}).stdout
    assert "Held" in table


def test_the_held_line_and_the_problem_count_read_as_a_person_would_say_them(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    slow = " ".join(f"I'll send report {i} by Friday, and could you review part {i}?" for i in range(4_000))
    (inbox / "slow.eml").write_text(_eml("slow", slow + "\n"))
    (inbox / "bad.eml").write_bytes(b"")
    (inbox / "good.eml").write_text(_eml("good", "Hi Dana,\n\nI'll send you the pricing sheet by Friday.\n"))
    first = followthrough("run", inbox, db=tmp_path / "t.db", env={BUDGET_ENV: "0.3"})
    assert first.returncode == 3, first.stderr
    assert "1 input or record not read or stored, 1 document not extracted (listed above)" in first.stderr
    again = followthrough("run", inbox, db=tmp_path / "t.db", env={BUDGET_ENV: "0.3"})
    assert again.returncode == 3, again.stderr  # the empty file, reported again; the held one is no failure
    assert "1 input or record not read or stored (listed above)" in again.stderr
    (line,) = [ln for ln in again.stderr.splitlines() if ln.startswith("held back:")]
    assert (
        "slow.eml" in line and "not tried again under a budget no larger" in line and "--retry-failed" in line
    )
    assert "1 held back (out of the time budget on an earlier run)" in again.stdout
    # the one-line reason counts its sentences as a person would
    assert "(stopped after 1 sentence;" in str(_spent_after(1)) and "after 2 sentences;" in str(
        _spent_after(2)
    )


# --------------------------------------------------------------------------- meetings: who answers


def test_a_repeated_question_is_put_to_whoever_speaks_after_it() -> None:
    turns = [
        ("Dana Lee", "dana@customer.com", "Can you send the deck?"),
        ("Priya Shah", "priya@ourco.com", "Sure thing."),
        ("Dana Lee", "dana@customer.com", "Can you send the deck?"),
        ("Tom Hall", "tom@ourco.com", "Yes, on it."),
    ]
    text, segments, pos = "", [], 0
    for name, mail, said in turns:
        line = f"{name}: {said}\n"
        start = pos + len(name) + 2
        segments.append(
            Segment(speaker=name, speaker_email=mail, char_start=start, char_end=start + len(said), text=said)
        )
        text += line
        pos += len(line)
    doc = SourceDocument(
        source="meeting",
        external_id="sync",
        occurred_at=MONDAY,
        participants=[
            Participant(name=n, email=m, role=ParticipantRole.SPEAKER) for n, m, _ in turns[:2] + turns[3:]
        ],
        segments=segments,
        text=text,
    )
    requests = [
        i for i in OfflineExtractor(company_domains={"ourco.com"}).extract(doc) if i.type == "request"
    ]
    assert [(r.evidence.char_start, r.owner_email) for r in requests] == [
        (segments[0].char_start, "priya@ourco.com"),
        (segments[2].char_start, "tom@ourco.com"),
    ]


# --------------------------------------------------------------------------- a Slack thread


def test_a_slack_thread_past_the_body_limit_is_cut_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A thread is one document: cut at the body limit, as a mail body is (a 50 MB thread was 1.2 GB
    of memory and every reply read by the extractor). Its time stays its last reply's."""
    import json  # noqa: PLC0415

    import connectors.slack as slack  # noqa: PLC0415
    from connectors.slack import SlackConnector  # noqa: PLC0415

    monkeypatch.setattr(slack, "MAX_BODY_CHARS", 60)
    root = tmp_path / "export"
    (root / "general").mkdir(parents=True)
    (root / "users.json").write_text(json.dumps([{"id": "U1", "name": "priya", "real_name": "Priya Shah"}]))
    (root / "channels.json").write_text(json.dumps([{"id": "C1", "name": "general"}]))
    first = {
        "type": "message",
        "user": "U1",
        "text": "I'll send the deck by Friday.",
        "ts": "1773300000.000100",
    }
    replies = [
        {"type": "message", "user": "U1", "text": f"Reply {i} here.", "ts": f"17733000{10 + i}.000100"}
        for i in range(5)
    ]
    for r in replies:
        r["thread_ts"] = first["ts"]
    first["thread_ts"] = first["ts"]
    (root / "general" / "2026-03-12.json").write_text(json.dumps([first, *replies]))
    (doc,) = SlackConnector(root).documents()
    assert doc.text == "I'll send the deck by Friday.\nReply 0 here.\nReply 1 here.\nRe"
    assert [s.text for s in doc.segments][-1] == "Re" and len(doc.segments) == 4
    assert doc.metadata["truncated"] == "true"
    assert doc.occurred_at == datetime(2026, 3, 12, 7, 20, 14, 100, tzinfo=UTC)
    (note,) = cut_notes(doc)
    assert str(note).endswith("body cut at 200,000 characters (the limit); the rest not read")


def test_a_file_name_with_a_line_break_is_still_one_line(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "good.eml").write_text(_eml("good", "I'll send the deck by Friday.\n"))
    (inbox / "two\nlines.eml").write_bytes(b"\x00\x01binary" * 100)
    res = followthrough("run", inbox, db=tmp_path / "t.db")
    assert res.returncode == 3, res.stderr
    (line,) = [ln for ln in res.stderr.splitlines() if "lines.eml" in ln]
    assert f"{inbox}/two\\nlines.eml: " in line and "binary" in line


def test_lines_are_printed_as_written_never_as_emoji(tmp_path: Path) -> None:
    """rich read ``:100:`` in "deals.csv:100: ..." as an emoji code: the line number became 💯."""
    crm = tmp_path / "crm"
    crm.mkdir()
    good = [f"D-{i},Deal {i},Acme,acme.com,Proposal,100" for i in range(98)]
    (crm / "deals.csv").write_text(
        "\n".join(
            ["deal_id,deal_name,account_name,account_domain,stage,amount", *good, "D-x,,,acme.com,Proposal,1"]
        )
        + "\n"
    )
    res = followthrough("run", crm, db=tmp_path / "t.db")
    assert res.returncode == 3, res.stderr
    assert f"{crm / 'deals.csv'}:100: missing deal_name, account_name" in res.stderr
    assert "\N{HUNDRED POINTS SYMBOL}" not in res.stderr + res.stdout
