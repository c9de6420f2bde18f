"""Issue 16, a clean first run: the demo folder holds only inputs, ``eval`` leaves nothing in the
user's home, and a run that skips the PostgreSQL tests says how to run them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.clirunner import followthrough, followthrough_process
from tests.conftest import DEMO, DEMO_EXPECTED, PG_ENV, REPO


def test_the_demo_run_skips_no_file(tmp_path: Path) -> None:
    """``make demo``'s command, as typed: every file under fixtures/demo is an input it reads."""
    r = followthrough_process("--as-of", "2026-03-16", "run", "fixtures/demo", db=tmp_path / "demo.db")
    assert r.returncode == 0, r.stderr
    lines = (r.stdout + r.stderr).splitlines()
    assert lines and not [line for line in lines if "skipped" in line.lower()], r.stderr
    assert not [p for p in DEMO.rglob("*") if p.name in {"expected.json", "make_demo.py", "README.md"}]


def test_eval_leaves_nothing_in_the_users_home(tmp_path: Path) -> None:
    home, data = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    data.mkdir()
    expected = json.loads(DEMO_EXPECTED.read_text(encoding="utf-8"))
    gold = tmp_path / "gold.jsonl"
    rows = [
        {"message_id": i["message_id"], "type": i["type"], "text": i["evidence_contains"], "votes": 2}
        for i in expected["items"]
        if i["source"] == "email"
    ]
    assert rows
    gold.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    r = followthrough(
        "eval",
        DEMO / "email" / "customers.mbox",
        "--gold",
        gold,
        "--json",
        env={"HOME": str(home), "FOLLOWTHROUGH_HOME": str(data)},
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["commitment"]["predicted"] > 0
    assert list(home.iterdir()) == [] and list(data.iterdir()) == []


_PG_TEST = """
from tests.conftest import require_postgres

def test_needs_postgres():
    require_postgres()
"""
_OTHER_SKIP = """
import pytest

def test_skipped_for_another_reason():
    pytest.skip("not today")
"""


def _pytest_in(tmp_path: Path, tests: str) -> subprocess.CompletedProcess[str]:
    """Run pytest over ``tests`` (a test file's text) beside a copy of tests/conftest.py, on 2 workers."""
    root = tmp_path / "repo"
    (root / "tests").mkdir(parents=True)
    shutil.copy(REPO / "tests" / "conftest.py", root / "tests" / "conftest.py")
    (root / "tests" / "__init__.py").write_text("", encoding="utf-8")
    shutil.copy(REPO / "pyproject.toml", root)
    (root / "tests" / "test_x.py").write_text(tests, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in {"CI", PG_ENV}}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "--no-cov", "tests/test_x.py"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_a_run_that_skips_postgresql_tests_says_how_to_run_them(tmp_path: Path) -> None:
    r = _pytest_in(tmp_path, _PG_TEST + _OTHER_SKIP)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 PostgreSQL tests skipped" in r.stdout, r.stdout
    assert "bash scripts/pg-test-server.sh" in r.stdout and f"export {PG_ENV}=" in r.stdout


@pytest.mark.slow
def test_no_hint_when_no_postgresql_test_was_skipped(tmp_path: Path) -> None:
    r = _pytest_in(tmp_path, _OTHER_SKIP)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "skipped" in r.stdout and "PostgreSQL" not in r.stdout, r.stdout
