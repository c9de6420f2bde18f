"""One bad value never costs the batch: store boundaries, per-document failure, runs, locks, exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from extractor.base import Extractor
from followthrough import pipeline
from followthrough.pipeline import RunReport
from followthrough.types import AlignmentStatus, Evidence, ExtractedItem, ItemFlag, SourceDocument
from store import Store
from store.admission import Unstorable, admit_document
from store.models import ExtractionRow
from store.views import CommitmentFilter
from tests.badinputs import ENTRIES, GOOD_ACTION, GOOD_EML, write_corpus
from tests.clirunner import followthrough, followthrough_process
from tests.conftest import REPO
from tests.store_fixtures import make_doc, make_item, store, store_url  # noqa: F401

# -- the bad-input corpus, each entry beside a good message ------------------------------------------


def _open_items(db: Path) -> list[dict[str, object]]:
    res = followthrough("commitments", "list", "--status", "all", "--json", db=db)
    assert res.returncode == 0, res.stderr
    rows: list[dict[str, object]] = json.loads(res.stdout)
    return rows


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_a_bad_value_costs_its_own_document_only(tmp_path: Path, entry: object) -> None:
    from tests.badinputs import Entry

    assert isinstance(entry, Entry)
    (folder,) = [d for d in write_corpus(tmp_path / "corpus") if d.name == entry.name.replace(".", "-")]
    db = tmp_path / "t.db"
    started = time.monotonic()
    res = followthrough("--as-of", "2026-03-16", "-q", "run", folder, db=db)
    assert time.monotonic() - started < 60
    assert "Traceback" not in res.stdout + res.stderr
    actions = " ".join(str(i["action"]) for i in _open_items(db))
    assert GOOD_ACTION in actions.lower(), (res.stderr, actions)
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    if entry.fails:
        assert res.returncode == 3, res.stderr
        assert len(errors) == 1, res.stderr
        assert entry.name in errors[0]
        assert len(errors[0]) < 400
        assert "1 input or record not read or stored (listed above); exit code 3" in res.stderr
    else:
        assert res.returncode == 0, res.stderr
        assert errors == []
        assert "pricing sheet" in actions.lower() or entry.name.endswith(".csv")


def test_nul_and_lone_surrogates_are_replaced_keeping_every_offset() -> None:
    text = "I'll send\x00 the deck\ud800 tomorrow."
    doc = make_doc(text=text)
    admitted = admit_document(doc)
    assert len(admitted.text) == len(text)
    assert "\x00" not in admitted.text and "\ud800" not in admitted.text
    assert admitted.text.index("deck") == text.index("deck")
    assert admitted.segments[0].text == admitted.text


@pytest.mark.parametrize(
    "field",
    [
        "quoted_text",
        "signature",
        "title",
        "metadata",
        "metadata_key",
        "metadata_key_surrogate",
        "participant",
        "participant_surrogate",
    ],
)
def test_a_nul_or_surrogate_anywhere_in_a_document_is_replaced(field: str) -> None:
    """The quick check (one serialisation) sees every text of a document, not only its body."""
    from followthrough.types import Participant

    bad = "x\ud800y" if field.endswith("surrogate") else "x\x00y"
    extra: dict[str, object] = {
        "quoted_text": {"quoted_text": bad},
        "signature": {"signature": bad},
        "title": {"title": bad},
        "metadata": {"metadata": {"note": bad}},
        "metadata_key": {"metadata": {bad: "note"}},
        "metadata_key_surrogate": {"metadata": {bad: "note"}},
    }.get(field, {"participants": [Participant(name=bad, email="a@acme.com", role="sender")]})
    doc = make_doc().model_copy(update=extra)
    admitted = admit_document(doc)
    assert admitted != doc
    texts = _texts(admitted.model_dump())
    assert texts and not any("\x00" in t or "\ud800" in t for t in texts)
    assert any("\ufffd" in t for t in texts)


def _texts(value: object) -> list[str]:
    """Every string in a dumped model, dictionary keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in (*_texts(k), *_texts(v))]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []


def test_text_that_spells_an_escaped_nul_is_stored_as_written() -> None:
    doc = make_doc(text="The log shows \\u0000 and \\x00 as text.")
    assert admit_document(doc).text == doc.text


def test_a_date_the_database_cannot_hold_is_refused_before_writing(store: Store) -> None:  # noqa: F811
    from datetime import datetime, timedelta, timezone

    far = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-12)))
    with pytest.raises(Unstorable, match="outside the years the database holds"):
        store.add_document(make_doc(occurred_at=far))
    assert store.count_documents() == {}


# -- one transaction per document ------------------------------------------------------------------------


def _item_the_database_refuses(doc: SourceDocument) -> ExtractedItem:
    """Offsets past a 64-bit integer: SQLite's driver and PostgreSQL both refuse them."""
    quote = doc.text[:10]
    return ExtractedItem(
        type="commitment",
        action="send it",
        evidence=Evidence(
            quote=quote, char_start=2**70, char_end=2**70 + 10, alignment=AlignmentStatus.EXACT
        ),
    )


def test_a_database_error_while_recording_document_n_rolls_back_document_n_only(
    store: Store,  # noqa: F811
) -> None:
    docs = [make_doc(f"<m{i}@acme.com>", thread_id=f"t{i}") for i in range(3)]
    ids = [store.add_document(d)[0] for d in docs]
    run = store.start_run(extractor="test", model="m", prompt_version="1")
    store.record_extraction(run, ids[0], "k", [make_item(docs[0], "I'll send the revised pricing")])
    with pytest.raises(Unstorable):
        store.record_extraction(
            run,
            ids[1],
            "k",
            [make_item(docs[1], "I'll send the revised pricing"), _item_the_database_refuses(docs[1])],
        )
    store.record_extraction(run, ids[2], "k", [make_item(docs[2], "I'll send the revised pricing")])
    with store._tx() as s:
        recorded = sorted(s.query(ExtractionRow.document_id).all())
    assert [r[0] for r in recorded] == [ids[0], ids[2]]
    owners = {v.document_id for v in store.list_commitments(CommitmentFilter(status=None)).items}
    assert owners == {ids[0], ids[2]}
    assert store.pending_documents("k") == [ids[1]]


class _Scripted(Extractor):
    """Finds one commitment per document; a document saying ``poison`` raises, ``refused`` yields an
    item the database cannot hold."""

    name = "scripted"

    def extract(self, doc: SourceDocument) -> list[ExtractedItem]:
        if "poison" in doc.text:
            raise OverflowError("date value out of range")
        if "refused" in doc.text:
            return [_item_the_database_refuses(doc)]
        quote = "I'll send the revised pricing"
        start = doc.text.index(quote)
        ev = Evidence(quote=quote, char_start=start, char_end=start + len(quote))
        return [ExtractedItem(type="commitment", action="send the revised pricing", evidence=ev)]


def test_a_poison_document_fails_alone_and_the_run_says_so(store: Store) -> None:  # noqa: F811
    texts = [
        "I'll send the revised pricing today.",
        "Saying tomorrow on the last day of time: poison.",
        "I'll send the revised pricing; refused by the database.",
        "Later: I'll send the revised pricing again.",
    ]
    for i, text in enumerate(texts):
        store.add_document(make_doc(f"<p{i}@acme.com>", text=text, thread_id=f"p{i}"))
    report = RunReport()
    pipeline.extract_pending(store, _Scripted(), report, set())
    assert report.extracted == 2
    assert len(report.failed) == 2
    assert any("OverflowError" in f for f in report.failed)
    assert any("not stored" in f for f in report.failed)
    run = store.get_run(report.run_id or 0)
    assert (run.status, run.failed, run.documents) == ("partial", 2, 4)
    # the next run tries only the two failed documents again, and records what happened
    again = RunReport()
    pipeline.extract_pending(store, _Scripted(), again, set())
    assert len(again.failed) == 2 and again.extracted == 0
    assert store.get_run(again.run_id or 0).status == "failed"


# -- runs killed mid-way, databases held by another process ------------------------------------------


def _spawn(code: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        text=True,
    )


def test_a_killed_run_is_marked_interrupted_by_the_next_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    holder = _spawn(
        "import sys, time\nfrom store import Store\n"
        f"s = Store({url!r})\n"
        "print(s.start_run(extractor='offline', model='m', prompt_version='1'), flush=True)\n"
        "time.sleep(120)\n"
    )
    assert holder.stdout is not None
    killed_run = int(holder.stdout.readline())
    holder.send_signal(signal.SIGKILL)
    holder.wait(10)
    holder.stdout.close()
    with Store(url) as st:
        assert st.get_run(killed_run).status == "running"
        mine = st.start_run(extractor="offline", model="m", prompt_version="1")
        assert st.get_run(killed_run).status == "interrupted"
        assert st.get_run(mine).status == "running"  # a live run (this process) is left alone
    res = followthrough("runs", db=url)
    assert "interrupted" in res.stdout


def _hold_lock(db: Path, seconds: float) -> subprocess.Popen[str]:
    proc = _spawn(
        "import sqlite3, time\n"
        f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
        "c.execute('BEGIN IMMEDIATE')\nprint('locked', flush=True)\n"
        f"time.sleep({seconds})\nc.execute('COMMIT')\n"
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


@pytest.fixture
def short_busy_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite's own wait per attempt (``busy_timeout``) at 0.5 s instead of 5 s, for the in-process command:
    the same back-off, reports and bound, in a fraction of the time."""
    import store.base
    import store.store

    monkeypatch.setattr(store.base, "BUSY_ATTEMPT_S", 0.5)
    monkeypatch.setattr(store.store, "BUSY_ATTEMPT_S", 0.5)


@pytest.mark.usefixtures("short_busy_attempts")
def test_a_locked_database_is_waited_for_with_reported_back_off_naming_the_holder(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    Store(f"sqlite:///{db}").close()
    (tmp_path / "good.eml").write_text(GOOD_EML)
    holder = _hold_lock(db, 2)
    try:
        res = followthrough("ingest", tmp_path / "good.eml", db=db, env={"FOLLOWTHROUGH_LOCK_WAIT": "60"})
    finally:
        holder.kill()
        holder.wait(10)
        assert holder.stdout is not None
        holder.stdout.close()
    assert res.returncode == 0, res.stderr
    assert f"waiting: database is locked by pid {holder.pid}" in res.stderr
    assert "retrying in" in res.stderr


@pytest.mark.usefixtures("short_busy_attempts")
def test_a_lock_held_past_the_bound_ends_with_one_line_naming_the_holder(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    Store(f"sqlite:///{db}").close()
    (tmp_path / "good.eml").write_text(GOOD_EML)
    holder = _hold_lock(db, 120)
    try:
        started = time.monotonic()
        res = followthrough("ingest", tmp_path / "good.eml", db=db, env={"FOLLOWTHROUGH_LOCK_WAIT": "1"})
        took = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait(10)
        assert holder.stdout is not None
        holder.stdout.close()
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    assert f"database is locked by pid {holder.pid}" in res.stderr and "gave up" in res.stderr
    assert took < 40


# -- exit codes a scheduler can rely on, and the last line of defence ---------------------------------


def test_exit_codes_say_all_good_partial_or_nothing_read(tmp_path: Path) -> None:
    """Partial and nothing read as the real process ends, the others through the entry point in-process."""
    good = tmp_path / "good.eml"
    good.write_text(GOOD_EML)
    bad = tmp_path / "bad.xyz"
    bad.write_text("?")
    assert followthrough("ingest", good, db=tmp_path / "a.db").returncode == 0
    partial = followthrough_process("ingest", good, bad, db=tmp_path / "b.db")
    assert partial.returncode == 3
    assert "1 input or record not read or stored (listed above)" in partial.stderr
    assert followthrough("ingest", bad, db=tmp_path / "c.db").returncode == 1
    assert followthrough_process("ingest", tmp_path / "missing.eml", db=tmp_path / "d.db").returncode == 1


def test_an_unforeseen_exception_is_one_redacted_line_and_exit_70(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("upstream said Authorization: Bearer sk-canary1234567890\nmore")

    monkeypatch.setattr(pipeline, "ingest_paths", boom)
    res = followthrough("ingest", REPO, db=tmp_path / "x.db")
    assert res.returncode == 70
    assert "Traceback" not in res.stderr
    assert "sk-canary" not in res.stderr
    assert res.stderr.count("\n") == 1 and "internal error (RuntimeError" in res.stderr


def test_an_id_out_of_range_is_a_usage_error_not_a_traceback(tmp_path: Path) -> None:
    res = followthrough("commitments", "show", "99999999999999999999", db=tmp_path / "x.db")
    assert res.returncode == 2
    assert "Traceback" not in res.stderr


def test_an_unconfirmed_model_item_waits_for_review_until_a_person_confirms_it(
    store: Store,  # noqa: F811
) -> None:
    doc = make_doc()
    doc_id, _ = store.add_document(doc)
    run = store.start_run(extractor="openai", model="m", prompt_version="1")
    item = make_item(doc, "I'll send the revised pricing to you by Friday.")
    item.flags = [ItemFlag.UNCONFIRMED, ItemFlag.INSTRUCTION]
    (cid,) = store.record_extraction(run, doc_id, "k", [item])
    assert store.get_commitment(cid).status == "review"
    assert store.list_commitments(CommitmentFilter()).items == []
    store.set_status(cid, "open", actor="dana")
    assert store.get_commitment(cid).status == "open"


# -- what fresh-eyed testers found ---------------------------------------------------------------------


def test_a_slack_message_with_a_bad_ts_is_one_line_and_a_numeric_ts_is_read(tmp_path: Path) -> None:
    export = tmp_path / "slack"
    (export / "chan").mkdir(parents=True)
    (export / "channels.json").write_text('[{"id": "C1", "name": "chan"}]')
    (export / "users.json").write_text('[{"id": "U1", "name": "priya", "real_name": "Priya"}]')
    messages = [
        {
            "type": "message",
            "text": "I'll send the GOOD one by Friday.",
            "user": "U1",
            "ts": "1773151900.000100",
        },
        {"type": "message", "text": "I'll send the BAD one by Friday.", "user": "U1", "ts": "NaN"},
        {"type": "message", "text": "I'll send the NUMERIC one by Friday.", "user": "U1", "ts": 1773151926.5},
    ]
    (export / "chan" / "2026-03-10.json").write_text(json.dumps(messages))
    res = followthrough("ingest", export, db=tmp_path / "s.db")
    assert res.returncode == 3, res.stderr
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "'NaN', not a Slack timestamp" in errors[0]
    assert "2 documents read" in res.stdout


def test_a_link_to_a_folder_holding_the_walk_is_a_loop_even_when_following_links(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.eml").write_text(GOOD_EML)
    (folder / "root").symlink_to("/")
    (folder / "proc").symlink_to("/proc/self")
    res = followthrough("ingest", "--follow-symlinks", folder, db=tmp_path / "f.db")
    assert res.returncode == 3, res.stderr
    assert "points to /, which holds" in res.stderr and "points into /proc" in res.stderr


def test_an_unterminated_csv_quote_names_the_lines_it_swallowed(tmp_path: Path) -> None:
    crm = tmp_path / "deals.csv"
    crm.write_text(
        "deal_id,deal_name,account_name,stage,amount\n"
        "D-1,One,Acme,Won,10\n"
        'D-4,"unterminated,Acme,Won,10\n'
        "D-5,Delta,Acme,Won,5\n"
    )
    res = followthrough("ingest", crm, db=tmp_path / "c.db")
    assert res.returncode == 3
    assert "deals.csv:3: unterminated quote: lines 3-4 read as one record" in res.stderr


def test_an_email_without_a_readable_date_says_how_it_was_dated(tmp_path: Path) -> None:
    mail = tmp_path / "undated.eml"
    mail.write_text(
        GOOD_EML.replace("Mon, 16 Mar 2026 10:00:00 +0000", "Tue, 10 Mar 99999999999 10:00 +0000")
    )
    res = followthrough("ingest", mail, db=tmp_path / "u.db")
    assert res.returncode == 0
    assert "note:" in res.stderr and "no readable Date header" in res.stderr


def test_nothing_read_says_exit_1_not_partial(tmp_path: Path) -> None:
    res = followthrough("ingest", tmp_path / "missing.eml", db=tmp_path / "m.db")
    assert res.returncode == 1
    assert "exit code 3" not in res.stderr and "nothing could be read" in res.stderr
