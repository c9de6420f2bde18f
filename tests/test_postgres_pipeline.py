"""The whole pipeline on a real PostgreSQL server: same results as SQLite, safe with concurrent writers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.clirunner import followthrough
from tests.conftest import REPO, postgres_database

pytestmark = pytest.mark.postgres

AS_OF = "2026-03-16"
_KEYS = ("message_id", "type", "evidence", "owner", "due", "status", "deal", "char_start", "char_end")


def _export(db: str | Path) -> list[tuple[Any, ...]]:
    res = followthrough("export", "--format", "jsonl", db=db)
    assert res.returncode == 0, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines() if line.strip()]
    return sorted(tuple(str(r.get(k)) for k in _KEYS) for r in rows)


def test_demo_on_postgres_exports_the_same_as_on_sqlite(tmp_path: Path) -> None:
    with postgres_database("parity") as pg:
        for db in (pg, tmp_path / "demo.db"):
            res = followthrough("--as-of", AS_OF, "run", "fixtures/demo", db=db)
            assert res.returncode == 0, res.stderr
        on_pg, on_sqlite = _export(pg), _export(tmp_path / "demo.db")
    assert on_pg, "the demo produced items"
    assert on_pg == on_sqlite


def test_two_concurrent_runs_store_nothing_twice_and_lose_nothing(tmp_path: Path) -> None:
    with postgres_database("concurrent") as pg:
        env = {**os.environ, "FOLLOWTHROUGH_DATABASE_URL": pg}
        cmd = [
            sys.executable,
            "-m",
            "followthrough",
            "--as-of",
            AS_OF,
            "--quiet",
            "run",
            "fixtures/demo",
            "--json",
        ]
        procs = [
            subprocess.Popen(
                cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(2)
        ]
        outs = [p.communicate(timeout=300) for p in procs]
        for p, (_, err) in zip(procs, outs, strict=True):
            assert p.returncode == 0, err
            assert "Traceback" not in err
        together = _export(pg)
        docs = [json.loads(out)["run"]["documents_new"] for out, _ in outs]
    single = tmp_path / "single.db"
    assert followthrough("--as-of", AS_OF, "run", "fixtures/demo", db=single).returncode == 0
    alone = _export(single)
    assert (
        sum(docs)
        == json.loads(
            followthrough("--as-of", AS_OF, "run", "fixtures/demo", "--json", db=tmp_path / "again.db").stdout
        )["run"]["documents_new"]
    ), "each document was new to exactly one of the two runs"
    keys = [(r[0], r[1], r[7], r[8]) for r in together]
    assert len(keys) == len(set(keys)), "nothing stored twice"
    assert together == alone, "nothing lost"
