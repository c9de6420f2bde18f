"""Issue 11: one way to dispatch an input.

The registry holds every reader, the CRM CSV reader as well as the document
connectors, each saying what it yields (:class:`connectors.base.Yields`); ingest
and the pipeline dispatch on that. Built-ins are registered by ``"module:Class"``
name and imported on first use, so the registry and the connector modules do not
import each other.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import pytest

from connectors import registry
from connectors.base import Connector, CrmReader, Reader, Yields
from connectors.crm import CrmCsvReader
from connectors.email import EmlConnector
from connectors.meetings import MeetingNotesConnector
from followthrough import ingest
from followthrough.errors import InputError
from followthrough.pipeline import RunReport, ingest_paths
from followthrough.types import CrmData, SourceDocument
from store import Store

REPO = Path(__file__).resolve().parents[1]
BUILTIN_ORDER = ["crm-csv", "eml", "mbox", "meeting-notes", "vtt", "slack"]
READER_MODULES = ["connectors.crm", "connectors.email", "connectors.meetings", "connectors.slack"]

DEALS = "deal_id,deal_name,account_name,owner_email\nD1,Renewal,Customer Inc,ana@ourco.com\n"
EMAIL = (
    "From: Ana <ana@ourco.com>\nTo: Bob <bob@customer.com>\nSubject: Renewal\n"
    "Date: Tue, 10 Mar 2026 10:00:00 +0000\nMessage-ID: <m1@ourco.com>\n\n"
    "I will send the quote by Friday.\n"
)


def _python(code: str) -> str:
    """Run ``code`` in a fresh interpreter (nothing imported yet); its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def own_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy of the registry for this test, so that what it registers is gone afterwards."""
    monkeypatch.setattr(registry, "_ENTRIES", dict(registry._ENTRIES))


def test_the_registry_holds_the_crm_reader_and_the_connectors_in_detection_order() -> None:
    readers = registry.registered()
    assert list(readers) == BUILTIN_ORDER
    assert readers["crm-csv"] is CrmCsvReader and readers["eml"] is EmlConnector
    assert all(issubclass(cls, Reader) for cls in readers.values())
    assert {name: cls.yields for name, cls in readers.items()} == {
        name: Yields.CRM if name == "crm-csv" else Yields.DOCUMENTS for name in BUILTIN_ORDER
    }


def test_importing_the_registry_imports_no_reader_and_the_order_does_not_depend_on_imports() -> None:
    # A connector module imported first (as a test or a benchmark does) once registered itself first.
    out = _python(
        "import sys, connectors.registry as r\n"
        f"print(sorted(m for m in {READER_MODULES!r} if m in sys.modules))\n"
        "import connectors.slack\n"
        "print(list(r.registered()))\n"
    )
    imported, order = out.splitlines()
    assert imported == "[]"
    assert order == repr(BUILTIN_ORDER)


def test_a_reader_module_is_imported_only_when_the_readers_before_it_said_no(tmp_path: Path) -> None:
    deals = tmp_path / "deals.csv"
    deals.write_text(DEALS, encoding="utf-8")
    out = _python(
        "import sys\nfrom pathlib import Path\nfrom connectors.registry import reader_for\n"
        f"print(reader_for(Path({str(deals)!r})).__name__)\n"
        f"print(sorted(m for m in {READER_MODULES!r} if m in sys.modules))\n"
    )
    assert out.splitlines() == ["CrmCsvReader", "['connectors.crm']"]


def test_no_connector_module_imports_the_registry() -> None:
    """The import circle registry ↔ connector modules is gone: only the package re-exports it."""
    offenders = []
    for path in sorted((REPO / "connectors").rglob("*.py")):
        if path.name in ("__init__.py", "registry.py") and path.parent == REPO / "connectors":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [f"{path.name}: {n}" for n in names if n.startswith("connectors.registry")]
    assert offenders == []
    tree = ast.parse((REPO / "connectors" / "registry.py").read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert {m for m in imported if m and m.startswith("connectors")} == {"connectors.base"}


def test_register_lazy_and_register_refuse_what_they_cannot_honour(own_registry: None) -> None:
    with pytest.raises(ValueError, match="not 'module:Class'"):
        registry.register_lazy("broken", "connectors.email")
    with pytest.raises(ValueError, match="already registered"):
        registry.register_lazy("eml", "connectors.email:MboxConnector")
    registry.register_lazy("eml", "connectors.email:EmlConnector")  # the same again: a no-op
    registry.register_lazy("not-a-reader", "followthrough.types:CrmData")
    with pytest.raises(TypeError, match="not a connectors.base.Reader"):
        registry.registered()


class _Lines(Connector):
    """A plugin connector: one document per ``.lines`` file."""

    @classmethod
    def detect(cls, path: Path) -> bool:
        return path.suffix == ".lines"

    def documents(self) -> Iterator[SourceDocument]:
        yield SourceDocument(
            source="email",
            external_id=self.path.name,
            occurred_at="2026-03-10T10:00:00Z",
            text=self.path.read_text(encoding="utf-8"),
        )


def test_a_plugin_connector_is_asked_after_the_builtins_and_read_like_them(
    own_registry: None, tmp_path: Path
) -> None:
    registry.register("lines")(_Lines)
    assert list(registry.registered())[-1] == "lines"
    (tmp_path / "a.lines").write_text("hello", encoding="utf-8")
    planned = ingest.plan([tmp_path / "a.lines"])
    assert [(i.reader, i.path.name) for i in planned.inputs] == [(_Lines, "a.lines")]
    errors: list[InputError] = []
    (doc,) = ingest.documents(planned.inputs[0], errors)
    assert (doc.text, errors) == ("hello", [])


def test_the_plan_says_which_reader_reads_each_input_and_reading_goes_by_what_it_yields(
    tmp_path: Path,
) -> None:
    (tmp_path / "mail.eml").write_text(EMAIL, encoding="utf-8")
    (tmp_path / "deals.csv").write_text(DEALS, encoding="utf-8")
    planned = ingest.plan([tmp_path])
    assert sorted((i.path.name, i.reader.__name__) for i in planned.inputs) == [
        ("deals.csv", "CrmCsvReader"),
        ("mail.eml", "EmlConnector"),
    ]
    (crm_input,) = planned.yielding(Yields.CRM)
    (mail_input,) = planned.yielding(Yields.DOCUMENTS)
    errors: list[InputError] = []
    assert [d.crm_id for chunk in ingest.records(crm_input, errors) for d in chunk.deals] == ["D1"]
    assert [d.title for d in ingest.documents(mail_input, errors)] == ["Renewal"]
    assert errors == []
    with pytest.raises(TypeError, match="EmlConnector yields documents, not crm"):
        ingest.records(mail_input, errors)
    with pytest.raises(TypeError, match="CrmCsvReader yields crm, not documents"):
        list(ingest.documents(crm_input, errors))


def test_a_csv_no_reader_takes_is_explained_by_the_crm_reader(tmp_path: Path) -> None:
    other = tmp_path / "other.csv"
    other.write_text("city,population\nRome,2800000\n", encoding="utf-8")
    named = ingest.plan([other])
    assert [str(e) for e in named.errors] == [
        f"{other}: not a CRM export: no deal or contact columns (see README, CRM CSV)"
    ]
    walked = ingest.plan([tmp_path])
    assert [e.problem for e in walked.skipped] == [
        "not a CRM export: no deal or contact columns (see README, CRM CSV)"
    ]
    assert CrmCsvReader.unread_reason(tmp_path / "notes.md") is None


def test_a_reader_can_skip_a_file_it_detects(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# Setup\n\nInstall it.\n\n## Usage\n\nRun it.\n", encoding="utf-8")
    assert registry.reader_for(readme) is MeetingNotesConnector
    assert MeetingNotesConnector.skip_reason(readme) is not None
    planned = ingest.plan([readme])
    assert planned.inputs == [] and planned.errors == []
    assert [e.problem for e in planned.skipped] == [MeetingNotesConnector.skip_reason(readme)]


class _RecordingStore:
    """The three store calls ``ingest_paths`` makes, in the order made (a CRM import's ``upsert`` is
    recorded as ``upsert_crm``)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.owner_domains: set[str] = set()
        self.internal: dict[str, bool | None] = {}

    @contextmanager
    def crm_import(self) -> Iterator[_RecordingStore]:
        yield self

    def upsert(self, crm: CrmData) -> dict[str, int]:
        self.calls.append("upsert_crm")
        self.owner_domains |= {d.owner_email.split("@")[1] for d in crm.deals if d.owner_email}
        return {"deals": len(crm.deals)}

    def company_domains_from_crm(self) -> set[str]:
        self.calls.append("company_domains_from_crm")
        return set(self.owner_domains)

    def add_documents(self, docs: list[SourceDocument]) -> list[tuple[int, bool]]:
        self.calls.append("add_documents")
        for doc in docs:
            self.internal.update({p.email or "": p.internal for p in doc.participants})
        return [(1, True) for _ in docs]

    def crm_state(self) -> str:
        return ""

    def input_files(self, paths: list[str]) -> dict[str, object]:
        return {}  # nothing read before

    def remember_inputs(self, inputs: list[object]) -> None:
        return None


def test_crm_records_are_stored_before_documents_whatever_the_order_named(tmp_path: Path) -> None:
    """The CRM's deal owners say which participants are ours, so documents wait for it."""
    (tmp_path / "a-mail.eml").write_text(EMAIL, encoding="utf-8")
    (tmp_path / "z-deals.csv").write_text(DEALS, encoding="utf-8")
    fake = _RecordingStore()
    report = RunReport()
    ingest_paths(
        cast(Store, cast(Any, fake)), [tmp_path / "a-mail.eml", tmp_path / "z-deals.csv"], report, set()
    )
    assert fake.calls == ["upsert_crm", "company_domains_from_crm", "add_documents"]
    assert fake.internal == {"ana@ourco.com": True, "bob@customer.com": False}
    assert (report.inputs, report.crm, report.documents_seen, report.errors) == (2, {"deals": 1}, 1, [])


def test_the_two_kinds_of_reader_each_have_one_required_method() -> None:
    assert Connector.__abstractmethods__ == {"detect", "documents"}
    assert CrmReader.__abstractmethods__ == {"detect", "records"}
    assert [y.value for y in Yields] == ["crm", "documents"]  # the order a run stores them
