"""The public surface of ``store``, ``connectors``, ``extractor`` is pinned; the application keeps to it.

A name added to or dropped from a package's ``__all__`` is a decision, made here
in the open (as ``followthrough.types`` is pinned in ``test_docs.py``). The
application (``followthrough``) imports the store only through ``store``'s
surface, and the extractor's base types only through ``extractor``'s.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from tests.conftest import REPO

SURFACES = {
    "store": [
        "AccountDetail",
        "AccountFilter",
        "AccountPage",
        "AccountView",
        "ApiTokenView",
        "ApiTokens",
        "CommitmentFilter",
        "CommitmentSummary",
        "CommitmentView",
        "CrmRecords",
        "DealHealth",
        "DealPage",
        "DealRef",
        "DealView",
        "Delivery",
        "EvidenceView",
        "HistoryView",
        "InputFile",
        "InvalidCursor",
        "InvalidStatus",
        "LeaseHeld",
        "LeasePurpose",
        "NotFound",
        "OwnerDay",
        "Page",
        "PersonView",
        "Principal",
        "PushItem",
        "Ranked",
        "Recording",
        "ResponseSample",
        "RunView",
        "SYSTEM_ACTORS",
        "Store",
        "SummaryPage",
        "Unresolved",
        "Unstorable",
        "admissible_as_read",
        "admit_crm",
        "health",
        "money",
        "normalize_url",
        "owner_email",
        "owner_trend",
        "response_times",
    ],
    "connectors": [
        "Connector",
        "CrmReader",
        "ErrorSink",
        "Reader",
        "Yields",
        "reader_for",
        "register",
        "register_lazy",
        "registered",
    ],
    "extractor": ["ExtractionFailed", "ExtractionResult", "Extractor", "OfflineExtractor"],
}


@pytest.mark.parametrize("package", sorted(SURFACES))
def test_the_public_surface_is_pinned(package: str) -> None:
    module = importlib.import_module(package)
    assert sorted(module.__all__) == SURFACES[package]
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{package}.{name} is listed but missing"


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module]


def test_the_application_imports_the_store_and_extractor_base_only_through_their_surface() -> None:
    application = sorted((REPO / "followthrough").rglob("*.py"))
    assert len(application) > 20, "followthrough/ is missing"
    offenders = [
        f"{path.relative_to(REPO)}: from {module} import ..."
        for path in application
        for module in _imports(path)
        if module.startswith("store.") or module == "extractor.base"
    ]
    assert offenders == []
