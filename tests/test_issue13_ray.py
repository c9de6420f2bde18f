"""``run --ray``: reading and extraction on a (local, in-process) Ray instance, this process the one writer.

A run with ``--ray`` stores what a plain run stores on a database of its own (every exported field but the
row id, the run's counts and its problem lines), on SQLite and PostgreSQL, and a re-run stores nothing
new. One Ray instance (2 CPUs) serves the module: ``--ray local`` joins the instance this process
already started, as any program that called ``ray.init`` would. Without Ray, ``--ray`` is one line and
exit code 2; an address nothing answers at is one line too.
"""

from __future__ import annotations

import json
import logging
import pickle
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from connectors.base import Yields
from extractor import ExtractionFailed, ExtractionResult
from followthrough import distributed, ingest, pipeline
from followthrough.backends import LlmOptions
from followthrough.config import Settings
from followthrough.errors import ConfigError, InputError
from tests.clirunner import followthrough, followthrough_process
from tests.conftest import DEMO, in_ci, postgres_database

AS_OF = "2026-03-16"
_RUN_ONLY = ("run_id",)
"""Report fields that name this run rather than say what it did."""


@pytest.fixture(scope="module")
def ray_module() -> ModuleType:
    """``ray``, or a skip when it is not installed (a failure under CI, whose dev extra installs it)."""
    try:
        import ray
    except ImportError:
        message = "ray is not installed (pip install -e '.[ray]'); the --ray tests need it"
        if in_ci():
            pytest.fail(f"{message} (CI must provide it: the dev extra installs it)", pytrace=False)
        pytest.skip(message)
    return ray


@pytest.fixture(scope="module")
def local_ray(ray_module: ModuleType) -> Iterator[None]:
    """One Ray instance with 2 CPUs for the module (starting one takes seconds)."""
    ray = ray_module
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The demo workspace and a folder of inputs that cannot be read (each one line in the report)."""
    bad = tmp_path_factory.mktemp("bad")
    (bad / "garbled.vtt").write_bytes(b"WEBVTT\n\nnot a cue\n\x00\xff")
    (bad / "binary.eml").write_bytes(bytes(range(256)) * 8)
    (bad / "broken.zip").write_bytes(b"not a zip")
    (bad / "empty.mbox").write_bytes(b"From x\n\n")
    return [DEMO, bad]


@contextmanager
def _database(backend: str, tmp_path: Path, label: str) -> Iterator[str | Path]:
    if backend == "sqlite":
        yield tmp_path / f"{label}.db"
    else:
        with postgres_database(label) as url:
            yield url


def _run(db: str | Path, *args: str | Path) -> dict[str, Any]:
    res = followthrough("--as-of", AS_OF, *args, "--json", db=db)
    assert "Traceback" not in res.stderr
    assert res.returncode in (0, 3), res.stderr
    run: dict[str, Any] = json.loads(res.stdout)
    run = run.get("run", run)
    return {k: v for k, v in run.items() if k not in _RUN_ONLY}


def _export(db: str | Path) -> list[dict[str, Any]]:
    res = followthrough("export", "--format", "jsonl", db=db)
    assert res.returncode == 0, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines() if line.strip()]
    return sorted(map(_content, rows), key=json.dumps)


_ROW_KEYS = {"id", "document_id", "created_at", "updated_at", "history"}
"""What differs between two databases holding the same items: row ids and when rows were written."""


def _content(item: dict[str, Any]) -> dict[str, Any]:
    """An exported item less its row ids and write times (its quotes' document ids included)."""
    kept = {k: v for k, v in item.items() if k not in _ROW_KEYS}
    kept["quotes"] = [{k: v for k, v in q.items() if k != "document_id"} for q in item["quotes"]]
    kept["history"] = [{k: v for k, v in h.items() if k != "at"} for h in item["history"]]
    return kept


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_run_on_ray_stores_what_a_plain_run_stores_and_a_rerun_nothing(
    backend: str, local_ray: None, inputs: list[Path], tmp_path: Path
) -> None:
    with _database(backend, tmp_path, "plain") as plain_db, _database(backend, tmp_path, "ray") as ray_db:
        plain = _run(plain_db, "run", *inputs)
        on_ray = _run(ray_db, "run", *inputs, "--ray", "local")
        assert on_ray == plain
        assert plain["extracted"] > 0 and plain["items"] > 0 and plain["errors"], "the inputs did something"
        expected = _export(plain_db)
        assert expected and any(r["deal"] for r in expected)
        assert _export(ray_db) == expected  # type, action, owner, evidence quote and offsets, status, deal...

        again = _run(ray_db, "run", *inputs, "--ray", "local")
        assert (again["documents_new"], again["extracted"], again["cached"], again["items"]) == (0, 0, 0, 0)
        assert again["documents_seen"] == plain["documents_seen"]
        assert _export(ray_db) == expected


@pytest.mark.slow
def test_extract_on_ray_records_what_ingest_stored(local_ray: None, tmp_path: Path) -> None:
    plain_db, ray_db = tmp_path / "plain.db", tmp_path / "ray.db"
    _run(plain_db, "run", DEMO)
    _run(ray_db, "ingest", DEMO)
    extracted = _run(ray_db, "extract", "--ray", "local")
    assert extracted["extracted"] > 0 and not extracted["failed"]
    assert _export(ray_db) == _export(plain_db)


def test_without_ray_the_option_is_one_line_and_exit_code_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails, as where it is not installed
    db = tmp_path / "none.db"
    res = followthrough("run", DEMO, "--ray", "local", db=db)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "error: --ray needs Ray, which is not installed: pip install 'followthrough[ray]'"
    ]
    assert not db.exists(), "nothing was read or stored"


def test_an_address_nothing_answers_at_is_one_line(ray_module: ModuleType, tmp_path: Path) -> None:
    with socket.socket() as s:  # a loopback port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = followthrough_process("run", DEMO, "--ray", f"127.0.0.1:{port}", db=tmp_path / "x.db", timeout=120)
    assert res.returncode == 1, res.stderr
    assert res.stderr.strip().splitlines() == [
        f"error: cannot reach the Ray cluster at 127.0.0.1:{port}: Connection refused"
    ]


def test_a_reading_task_sends_back_what_this_process_reads(
    inputs: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The task body, here: its chunks (problems as ``(path, problem)``) are a plain read, cut up."""
    monkeypatch.setattr(distributed, "READ_CHUNK", 3)
    planned = ingest.plan(inputs).yielding(Yields.DOCUMENTS)
    errors: list[InputError] = []
    expected = list(pipeline.read_in_order(planned, errors, None))
    chunks = list(distributed._read_group(planned, None))
    assert all(len(docs) <= 3 for docs, _ in chunks) and len(chunks) > len(expected) // 3
    assert [d for docs, _ in chunks for d in docs] == expected
    sent = [InputError(path, problem) for _, problems in chunks for path, problem in problems]
    assert [str(e) for e in sent] == [str(e) for e in errors] and errors


def test_an_extraction_failure_keeps_what_it_spent_on_its_way_back() -> None:
    spent = ExtractionResult(prompt_tokens=120, completion_tokens=7, llm_calls=2)
    sent = pickle.loads(pickle.dumps(distributed._Failed("the model said no", spent)))
    failure = sent.error()
    assert isinstance(failure, ExtractionFailed) and str(failure) == "the model said no"
    assert (failure.spent.prompt_tokens, failure.spent.completion_tokens, failure.spent.llm_calls) == (
        120,
        7,
        2,
    )
    assert failure.budget_s is None
    held = pickle.loads(pickle.dumps(distributed._Failed("budget spent", spent, 20.0)))
    assert held.error().budget_s == 20.0  # a worker's budget failure is held back as at home


def test_an_extraction_task_answers_each_document_by_its_place(inputs: list[Path]) -> None:
    planned = ingest.plan(inputs).yielding(Yields.DOCUMENTS)
    docs = list(pipeline.read_in_order(planned, [], None))
    settings = Settings(database_url="", as_of=date.fromisoformat(AS_OF), company_domains={"northwind.io"})
    recipe = distributed.Recipe(settings, {"northwind.io"}, {}, LlmOptions())
    done = distributed._extract_slice(recipe, docs[::-1])
    assert sorted(i for i, _ in done) == list(range(len(docs)))
    offline = recipe.build()
    for i, result in done:
        assert isinstance(result, ExtractionResult)
        assert result.items == offline.run(docs[::-1][i]).items


def _refuse() -> None:
    raise ConfigError("no API key for https://api.openai.com/v1: set OPENAI_API_KEY")


def test_an_error_of_ours_in_a_task_comes_back_as_itself(local_ray: None, ray_module: ModuleType) -> None:
    """A refused key on a worker stops the run as one line here, not as Ray's wrapped traceback."""
    ref = ray_module.remote(_refuse).remote()
    with pytest.raises(ConfigError) as raised:
        distributed._get(ray_module, ref)
    assert type(raised.value) is ConfigError
    assert str(raised.value) == "no API key for https://api.openai.com/v1: set OPENAI_API_KEY"
