"""A re-run on unchanged input is near free (issue 13): the report ranks lean rows, caps every section,
and the offline backend is not loaded when nothing is pending.

The lean rows (:class:`store.Ranked`) must say exactly what the summaries say, item for item, or the
report would rank differently from the API; the cut "waiting on customer" section must keep its count
and its order; the deferred offline backend must carry the same cache key and find the same items.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from benchmarks.end_to_end import generate
from extractor.offline import DeferredOffline, OfflineExtractor
from followthrough import attention
from followthrough.cli import GC_THRESHOLDS, report
from followthrough.types import CommitmentStatus, TieredValue
from store import CommitmentFilter, CommitmentSummary, Ranked, Store
from tests.clirunner import followthrough
from tests.conftest import REPO

AS_OF = date(2026, 12, 1)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """600 generated messages and the store ``run`` built from them (open, overdue, waiting and
    answered items)."""
    root = tmp_path_factory.mktemp("rerun")
    db, ws = root / "ft.db", generate(root / "ws", 600).root
    result = followthrough("--as-of", AS_OF.isoformat(), "run", ws, db=db)
    assert result.returncode == 0, result.stderr
    return ws, db


@pytest.fixture
def generated(workspace: tuple[Path, Path]) -> Path:
    return workspace[1]


def _summaries(store: Store, f: CommitmentFilter) -> list[CommitmentSummary]:
    out: list[CommitmentSummary] = []
    while True:
        page = store.list_summaries(f)
        out.extend(page.items)
        if page.next_cursor is None:
            return out
        f = f.model_copy(update={"cursor": page.next_cursor})


def _as_ranked(c: CommitmentSummary) -> Ranked:
    return Ranked(
        c.id,
        c.type,
        c.owner,
        c.due,
        c.deal.crm_id if c.deal else None,
        c.priority,
        c.overdue_days,
        c.overdue_response,
        c.occurred_at,
    )


@pytest.mark.parametrize("status", [CommitmentStatus.OPEN, CommitmentStatus.WAITING])
@pytest.mark.parametrize("as_of", [AS_OF, AS_OF - timedelta(days=90)])
def test_ranked_rows_say_what_the_summaries_say(
    generated: Path, status: CommitmentStatus, as_of: date
) -> None:
    with Store(f"sqlite:///{generated}", response_hours=TieredValue(48, (("1", 24),))) as store:
        if status is CommitmentStatus.OPEN:  # a snooze that has run out counts as open again
            first = _summaries(store, CommitmentFilter(status=status, as_of=as_of, limit=5))[0]
            store.set_status(first.id, CommitmentStatus.SNOOZED, until=as_of, actor="test")
        f = CommitmentFilter(status=status, as_of=as_of, limit=37)  # pages that cut mid-way
        expected = [_as_ranked(c) for c in _summaries(store, f)]
        ranked = list(store.ranked_items(f))
    assert len(expected) > 10
    assert ranked == expected
    if status is CommitmentStatus.OPEN and as_of == AS_OF:  # the test means something
        assert any(r.overdue_response for r in ranked) and any(r.overdue_days for r in ranked)


@pytest.mark.parametrize("as_of", [AS_OF, AS_OF - timedelta(days=90)])
def test_the_open_items_streamed_in_one_query_are_the_pages_items(generated: Path, as_of: date) -> None:
    """The report's one-query stream (:meth:`Store.open_ranked`) gives the items the paged listing
    gives, tuple for tuple and in its order, a snooze that has run out included."""
    with Store(f"sqlite:///{generated}", response_hours=TieredValue(48, (("1", 24),))) as store:
        f = CommitmentFilter(status=CommitmentStatus.OPEN, as_of=as_of, limit=37)
        snoozed = _summaries(store, f)[1]
        store.set_status(snoozed.id, CommitmentStatus.SNOOZED, until=as_of, actor="test")
        store.set_status(
            _summaries(store, f)[2].id,
            CommitmentStatus.SNOOZED,
            until=as_of + timedelta(days=1),
            actor="test",
        )
        try:
            paged = list(store.ranked_items(f))
            streamed = list(store.open_ranked(as_of))
        finally:
            for c in _summaries(store, CommitmentFilter(status=CommitmentStatus.SNOOZED, as_of=as_of)):
                store.set_status(c.id, CommitmentStatus.OPEN, actor="test")
    assert len(paged) > 10 and any(r.due is None for r in paged) and any(r.deal for r in paged)
    assert snoozed.id in {r.id for r in streamed}
    assert streamed == paged


def test_waiting_on_customer_is_cut_with_its_count_and_order(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(attention, "MAX_ROWS", 3)
    with Store(f"sqlite:///{generated}") as store:
        everyone = attention.all_items(store, CommitmentFilter(status=CommitmentStatus.WAITING, as_of=AS_OF))
        owners = store.deal_owners({c.deal.crm_id for c in everyone if c.deal})
        full = attention.waiting_on_customers(everyone, owners)
        found = attention.collect(store, AS_OF, domains={"northwind.io"})
    assert len(full) > 3
    assert [w.item.id for w in found.waiting] == [w.item.id for w in full[:3]]
    assert [w.deal_owner for w in found.waiting] == [w.deal_owner for w in full[:3]]
    assert found.totals["waiting_on_customer"] == len(full)
    assert found.totals["waiting_on_customer_overdue"] == sum(1 for w in full if w.nudge)


def test_the_report_says_how_many_wait_beyond_the_rows_shown(workspace: tuple[Path, Path]) -> None:
    ws, db = workspace
    with Store(f"sqlite:///{db}") as store:
        f = CommitmentFilter(status=CommitmentStatus.WAITING, as_of=AS_OF)
        waiting = len(attention.all_items(store, f))
    again = followthrough("--as-of", AS_OF.isoformat(), "run", ws, db=db, env={"COLUMNS": "200"})
    assert again.returncode == 0, again.stderr
    assert f"Waiting on customer ({waiting}," in again.stdout


def test_the_deferred_offline_backend_is_the_offline_backend() -> None:
    deferred = DeferredOffline(company_domains={"northwind.io"}, directory={"marco": "marco@northwind.io"})
    real = OfflineExtractor(company_domains={"northwind.io"}, directory={"marco": "marco@northwind.io"})
    assert deferred.cache_key == real.cache_key
    assert deferred.name == real.name and deferred.model == real.model
    from followthrough.types import Participant, ParticipantRole, SourceDocument

    doc = SourceDocument(
        source="email",
        external_id="<a@northwind.io>",
        title="Re: pilot",
        text="Hi Dana,\n\nI will send you the security questionnaire by Friday.\n\nMarco",
        occurred_at="2026-11-30T10:00:00Z",
        participants=[
            Participant(name="Marco Rossi", email="marco@northwind.io", role=ParticipantRole.SENDER),
            Participant(name="Dana Lee", email="dana@acme.com", role=ParticipantRole.RECIPIENT),
        ],
    )
    items = deferred.extract(doc)
    assert items and items == real.extract(doc)


def test_a_run_with_nothing_pending_compiles_no_offline_pattern(tmp_path: Path) -> None:
    """Building the run's backend and asking what is pending loads none of the offline rules."""
    script = (
        "import sys\n"
        "from datetime import date\n"
        "from followthrough.backends import build_extractor\n"
        "from followthrough.config import Settings\n"
        "backend = build_extractor(Settings('', date(2026, 12, 1)), domains=set(), directory={})\n"
        "print(backend.cache_key)\n"
        "print(sorted(m for m in sys.modules if m.startswith('extractor.offline.') and m not in "
        "('extractor.offline.identity', 'extractor.offline.deferred', 'extractor.offline.budget')))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    key, loaded = out.stdout.splitlines()
    assert key == OfflineExtractor().cache_key
    assert loaded == "[]"


def test_reading_mail_and_crm_exports_loads_no_charset_guesser_until_a_guess_is_needed() -> None:
    """charset-normalizer (14 ms to import) is loaded by the first text that is not UTF-8 nor its
    declared charset, not by every command that reads mail or a CRM export."""
    script = (
        "import sys\n"
        "import followthrough.cli.run, followthrough.pipeline, connectors.email, connectors.crm\n"
        "from connectors.mail.mime import decode_text\n"
        "print('charset_normalizer' in sys.modules)\n"
        "print(decode_text('caf\\u00e9'.encode('utf-8'), None)[0])\n"
        "print('charset_normalizer' in sys.modules)\n"
        "cp = 'Gr\\u00fc\\u00dfe aus K\\u00f6ln'.encode('cp1252')\n"
        "print(decode_text(bytes([0x93]) + cp + bytes([0x94]), None)[1])\n"
        "print('charset_normalizer' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    before, utf8, still, guessed, after = out.stdout.splitlines()
    assert (before, utf8, still, after) == ("False", "caf\u00e9", "False", "True")
    assert guessed  # the guess's encoding, whatever charset-normalizer picks


def test_the_command_runs_with_its_collector_settings() -> None:
    """``python -m followthrough`` goes through :func:`followthrough.cli.console` (thresholds set, objects
    frozen on the way out); the exit code is the command's."""
    script = (
        "import gc, sys, runpy\n"
        "sys.argv = ['followthrough', '--version']\n"
        "try:\n"
        "    runpy.run_module('followthrough', run_name='__main__')\n"
        "except SystemExit as e:\n"
        "    print(e.code, gc.get_threshold(), gc.get_freeze_count() > 0)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == f"0 {GC_THRESHOLDS} True"


def test_each_cut_section_names_the_command_that_lists_all_of_it(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each "… N more" names the listing of that section (its filter, the same day), and that listing
    holds the section's count; the silent accounts are cut too, with their count."""
    monkeypatch.setattr(attention, "MAX_ROWS", 2)
    monkeypatch.setattr(report, "_MAX_ROWS", 2)
    with Store(f"sqlite:///{generated}") as store:
        att = attention.collect(store, AS_OF, domains={"northwind.io"})
    out = Console(record=True, width=300)
    report.render_attention(out, att, AS_OF)
    text = out.export_text()
    hints = [line.split("more: ", 1)[1] for line in text.splitlines() if "more: " in line]
    overdue_hint = f"followthrough --as-of {AS_OF} commitments list --overdue --type commitment"
    assert any(h.startswith(overdue_hint) for h in hints)
    assert att.totals["overdue"] > 2 and att.totals["silent_accounts"] > len(att.silent) == 2
    assert f"followthrough --as-of {AS_OF} accounts --silent" in hints
    sections = [("overdue", overdue_hint), ("unanswered_requests", "--type request")]
    if att.totals["due_soon"] > 2:
        sections.append(("due_soon", "--due-within 7"))
    for section, hint in sections:
        (command,) = [h for h in hints if h.startswith("followthrough --as-of") and hint in h]
        listed = followthrough(*command.split()[1:], "--json", db=generated)
        assert len(json.loads(listed.stdout)) == att.totals[section], command


def test_a_run_names_its_database_and_day_in_the_commands_it_hints(workspace: tuple[Path, Path]) -> None:
    """The hinted commands read what the run read: the database given with ``--db`` (a password
    hidden) and the same ``--as-of``."""
    ws, db = workspace
    url = f"sqlite:///{db}"
    again = followthrough("--db", url, "--as-of", AS_OF.isoformat(), "run", ws, env={"COLUMNS": "400"})
    assert again.returncode == 0, again.stderr
    hints = [line.split("more: ", 1)[1] for line in again.stdout.splitlines() if "more: " in line]
    assert hints and all(h.startswith(f"followthrough --db {url} --as-of {AS_OF}") for h in hints), hints
    deals = followthrough(
        "--db", url, "--as-of", AS_OF.isoformat(), "deals", "--limit", "1", "--owner", "lena"
    )
    assert deals.returncode == 0, deals.stderr
    assert (
        f"more: followthrough --db {url} --as-of {AS_OF} deals --owner lena --limit"
        in deals.stdout.replace("\n", "")
    )
