"""Issue 11, honest tests: missing tracked data fails, missing shared data fails under CI, and the
in-process command runner answers as the real command does."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.clirunner import followthrough, followthrough_process
from tests.conftest import DEMO, DEMO_META, PG_ENV, REPO, require_postgres, require_shared

TESTS = REPO / "tests"

# Every place a test may skip: absent shared data or server (in conftest, failing under CI), a live
# endpoint not configured, and file modes that root ignores. A fixture the repository tracks is never one.
ALLOWED_SKIPS = {
    ("conftest.py", "_missing"),
    ("conftest.py", "live_endpoint"),
    ("test_issue10_inputs.py", "<module>"),
    ("test_issue13_ray.py", "ray_module"),  # ray not installed (optional extra); fails under CI instead
}
SKIPS = {"skip", "skipif", "importorskip"}


def _skip_sites(path: Path) -> set[tuple[str, str]]:
    """``(file name, enclosing function or "<module>")`` of every ``pytest.skip/skipif/importorskip``."""
    sites: set[tuple[str, str]] = set()

    def visit(node: ast.AST, where: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else where
            if isinstance(child, ast.Attribute) and child.attr in SKIPS:
                sites.add((path.name, where))
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8")), "<module>")
    return sites


def test_no_test_skips_outside_the_allowed_places() -> None:
    found = set().union(
        *(_skip_sites(p) for p in sorted(TESTS.glob("*.py")) if p.name != Path(__file__).name)
    )
    assert found == ALLOWED_SKIPS, "skip only through tests.conftest.require_shared / require_postgres"


def test_missing_shared_data_skips_locally_and_fails_under_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "shared" / "samples"
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="shared data not found"):
        require_shared(missing)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must provide it"):
        require_shared(missing)
    assert require_shared(tmp_path) == tmp_path


def test_missing_postgres_skips_locally_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PG_ENV, raising=False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=PG_ENV):
        require_postgres()
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match=PG_ENV):
        require_postgres()
    monkeypatch.setenv(PG_ENV, "postgresql+psycopg://u@127.0.0.1:1/db")
    assert require_postgres() == "postgresql+psycopg://u@127.0.0.1:1/db"


def test_the_demo_tests_fail_when_expected_json_is_removed(tmp_path: Path) -> None:
    """The suite's tests over the demo, run in a copy of the repository without that file."""
    copy = tmp_path / "repo"
    shutil.copytree(TESTS, copy / "tests", ignore=shutil.ignore_patterns("cassettes", "__pycache__"))
    shutil.copytree(DEMO, copy / "fixtures" / "demo")
    shutil.copytree(DEMO_META, copy / "fixtures" / "demo_meta")
    shutil.copy(REPO / "pyproject.toml", copy)
    (copy / "fixtures" / "demo_meta" / "expected.json").unlink()
    tests = ["tests/test_connector_slack.py", "tests/test_connector_meetings.py"]
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-n0",
            "--no-cov",
            "-k",
            "demo",
            *tests,
        ],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 1, res.stdout + res.stderr
    assert "2 failed" in res.stdout and "skipped" not in res.stdout, res.stdout
    assert "expected.json" in res.stdout


def test_in_process_runs_answer_as_the_real_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FOLLOWTHROUGH_LOCK_WAIT", raising=False)
    argv, cwd = list(sys.argv), Path.cwd()
    for args in (("ingest", tmp_path / "missing.eml"), ("commitments", "show", "not-a-number")):
        inside = followthrough(*args, db=tmp_path / "a.db", env={"FOLLOWTHROUGH_LOCK_WAIT": "3"})
        real = followthrough_process(*args, db=tmp_path / "b.db")
        assert (inside.returncode, inside.stdout) == (real.returncode, real.stdout)
        assert inside.stderr.splitlines()[-1] == real.stderr.splitlines()[-1]
    assert "FOLLOWTHROUGH_LOCK_WAIT" not in os.environ, "the command's environment is undone"
    assert (sys.argv, Path.cwd()) == (argv, cwd)
