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
# The real endpoint settings, kept aside before any test scrubs them: only `live` tests get them back.
LIVE_ENV = {k: v for k, v in os.environ.items() if k.startswith(("OPENAI_", "FOLLOWTHROUGH_MODEL"))}


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
def live_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """For tests marked ``live``: the real OPENAI_* settings of the shell that ran pytest."""
    if not (LIVE_ENV.get("OPENAI_API_KEY") or LIVE_ENV.get("OPENAI_BASE_URL")):
        pytest.skip("live test: set OPENAI_API_KEY (and/or OPENAI_BASE_URL) and run with -m live")
    for name, value in LIVE_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def samples() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(f"shared samples not found at {SAMPLES}")
    return SAMPLES
