"""The database ``run`` leaves behind has planner statistics (issue 13): listings at scale use their
indexes instead of sorting every open row, with no ``ANALYZE`` by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from store import Store
from tests.api_support import BACKENDS, database
from tests.clirunner import followthrough
from tests.conftest import REPO

DEMO = REPO / "fixtures" / "demo"


def _analyzed(url: str) -> set[str]:
    """The tables the planner has statistics for."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                names = conn.execute(text("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'"))
                if names.first() is None:
                    return set()
                return {row[0] for row in conn.execute(text("SELECT DISTINCT tbl FROM sqlite_stat1"))}
            rows = conn.execute(
                text("SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL")
            )
            return {row[0] for row in rows}
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_run_leaves_planner_statistics_behind(backend: str, tmp_path: Path) -> None:
    assert DEMO.is_dir(), "fixtures/demo is missing"
    with database(backend, "issue13_statistics", tmp_path) as url:
        with Store(url):
            pass  # migrated, nothing analyzed yet
        assert not {"commitments", "documents"} & _analyzed(url)
        result = followthrough("--as-of", "2026-03-16", "run", DEMO, db=url)
        assert result.returncode == 0, result.stderr
        assert {"commitments", "documents", "deals", "evidence"} <= _analyzed(url)


def test_a_statistics_refresh_that_cannot_run_never_fails_the_work(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ft.db'}"
    with Store(url) as store:
        assert store.refresh_statistics() is True
        store.engine.dispose()
        (tmp_path / "ft.db").unlink()
        (tmp_path / "ft.db").mkdir()  # the file is gone and its path is a folder: ANALYZE cannot run
        assert store.refresh_statistics() is False


def test_each_migration_file_holds_the_revision_its_number_names() -> None:
    """store.migrate skips Alembic when the database is at the highest-numbered file's revision: that
    holds only while each NNNN_name.py is revision NNNN and the chain is linear."""
    import re

    from store import migrate

    files = sorted((migrate.MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))
    assert len(files) >= 8
    previous = None
    for path in files:
        source = path.read_text()
        revision = re.search(r'^revision = "(\w+)"', source, re.M)
        down = re.search(r"^down_revision = (None|\"\w+\")", source, re.M)
        assert revision and revision.group(1) == path.name[:4], path.name
        assert down and down.group(1) == ("None" if previous is None else f'"{previous}"'), path.name
        previous = revision.group(1)
    assert migrate.head_revision() == previous
