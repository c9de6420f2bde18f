"""Test isolation: no network, no key, no user config, a fresh data dir each test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SAMPLES = SHARED / "samples"
EVAL = SHARED / "eval"
TRAIN = SHARED / "train"
DEMO = REPO / "fixtures" / "demo"

_SCRUB_PREFIXES = ("OPENAI_", "FOLLOWTHROUGH_", "AZURE_OPENAI")


@pytest.fixture(autouse=True)
def clean_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Remove keys, endpoints and project settings; point data at tmp_path."""
    keep = os.environ.get("FOLLOWTHROUGH_TEST_POSTGRES_URL")
    for name in list(os.environ):
        if name.startswith(_SCRUB_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    if keep:
        monkeypatch.setenv("FOLLOWTHROUGH_TEST_POSTGRES_URL", keep)
    monkeypatch.setenv("FOLLOWTHROUGH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    yield


@pytest.fixture
def samples() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(f"shared samples not found at {SAMPLES}")
    return SAMPLES
