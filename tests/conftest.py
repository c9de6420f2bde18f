"""Test isolation (no network, no key, no user config, a fresh data dir each test) and data requirements.

Data the repository tracks (``fixtures/demo``, ``fixtures/demo_meta``, ``tests/cases``, ``tests/golden``)
is read directly: a missing file fails its test. Data outside it, ``../shared`` and a PostgreSQL server,
goes through :func:`require_shared` and :func:`require_postgres`: a developer without it gets a skip
naming what is missing (and a run that skipped PostgreSQL tests ends with how to start one); under
CI (``CI`` set to ``true`` or ``1``, as ``.ci/run`` sets it) the same absence fails the test.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import psycopg
import pytest
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SAMPLES = SHARED / "samples"
EVAL = SHARED / "eval"
TRAIN = SHARED / "train"
DEMO = REPO / "fixtures" / "demo"
"""The demo workspace: its inputs only (``followthrough run fixtures/demo`` reads every file there)."""
DEMO_META = REPO / "fixtures" / "demo_meta"
"""What describes the demo: ``make_demo.py`` (writes both folders), README.md, expected.json."""
DEMO_EXPECTED = DEMO_META / "expected.json"
"""The items the demo must give (``make_demo.py`` writes it with the inputs)."""

PG_ENV = "FOLLOWTHROUGH_TEST_POSTGRES_URL"
"""A PostgreSQL server URL for tests (``bash scripts/pg-test-server.sh`` starts one and prints it)."""

_SCRUB_PREFIXES = ("OPENAI_", "FOLLOWTHROUGH_", "AZURE_OPENAI")
# The real endpoint settings, kept aside before any test scrubs them: only `live` tests get them back.
LIVE_ENV = {k: v for k, v in os.environ.items() if k.startswith(("OPENAI_", "FOLLOWTHROUGH_MODEL"))}


@pytest.fixture(autouse=True)
def clean_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Remove keys, endpoints and project settings; point data at tmp_path."""
    keep = os.environ.get(PG_ENV)
    for name in list(os.environ):
        if name.startswith(_SCRUB_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    if keep:
        monkeypatch.setenv(PG_ENV, keep)
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


def in_ci() -> bool:
    """Whether the suite runs under CI (env ``CI`` is ``true`` or ``1``), where nothing may be missing."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true"}


def _missing(what: str) -> NoReturn:
    """Skip for want of ``what``; under CI, fail instead (CI must provide it)."""
    if in_ci():
        pytest.fail(f"{what} (CI must provide it: a skip here would hide untested code)", pytrace=False)
    pytest.skip(what)


def require_shared(path: Path) -> Path:
    """``path`` (a file or folder under ``../shared``), or a skip when it is absent; a failure under CI."""
    if not path.exists():
        _missing(f"shared data not found at {path}")
    return path


_PG_MISSING = f"{PG_ENV} is not set"
"""How a skip for want of the PostgreSQL test server begins (:func:`require_postgres`)."""


def require_postgres() -> str:
    """The test server's URL from ``FOLLOWTHROUGH_TEST_POSTGRES_URL``, or a skip; a failure under CI."""
    url = os.environ.get(PG_ENV, "").strip()
    if not url:
        _missing(f"{_PG_MISSING} (start a server with `bash scripts/pg-test-server.sh`)")
    return url


def _skip_reason(report: pytest.TestReport) -> str:
    """A skipped test's reason (``longrepr`` is ``(path, line, "Skipped: ...")``, also from xdist workers)."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """After a run that skipped PostgreSQL tests for want of a server, say how to run them locally."""
    skipped = terminalreporter.stats.get("skipped", [])
    missing = sum(1 for r in skipped if isinstance(r, pytest.TestReport) and _PG_MISSING in _skip_reason(r))
    if not missing:
        return
    write = terminalreporter.write_line
    terminalreporter.write_sep("-", f"{missing} PostgreSQL tests skipped: {PG_ENV} is not set", yellow=True)
    write("To run them locally, start a throw-away server (it prints its URL) and point the tests at it:")
    write("  bash scripts/pg-test-server.sh")
    write(f"  export {PG_ENV}=postgresql+psycopg://followthrough@127.0.0.1:54329/followthrough_test")
    write('  (or both at once: eval "$(bash scripts/pg-test-server.sh --export)"), then make test again.')


@contextmanager
def postgres_database(label: str) -> Iterator[str]:
    """A fresh, uniquely named database on the PostgreSQL test server (:func:`require_postgres`).

    Yields its URL; the database is dropped afterwards.
    """
    url = make_url(require_postgres())
    name = f"ft_{re.sub(r'[^a-z0-9]+', '_', label.lower())[:30]}_{uuid.uuid4().hex[:8]}"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of this test process's own (one per pytest-xdist worker) for the store tests."""
    with postgres_database("store") as url:
        yield url


@pytest.fixture
def samples() -> Path:
    """``../shared/samples``, the real-format input folders (:func:`require_shared`)."""
    return require_shared(SAMPLES)
