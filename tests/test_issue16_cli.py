"""Issue 16: the command line as people type it (dates, global options anywhere, help, start-up, export)."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import typer
import typer.main

from followthrough.cli import app
from followthrough.cli.dates import DATE_ORDER_ENV, parse_day
from followthrough.cli.help_panel import reflow
from followthrough.cli.lazy import LAZY, load
from tests.clirunner import followthrough
from tests.conftest import REPO

AS_OF = "2026-03-16"
DEMO = REPO / "fixtures" / "demo"


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("issue16") / "demo.db"
    r = followthrough("--as-of", AS_OF, "--quiet", "run", DEMO, db=db)
    assert r.returncode in (0, 3), r.stderr
    return db


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-20", date(2026, 3, 20)),
        ("03/20/2026", date(2026, 3, 20)),
        ("tomorrow", date(2026, 3, 17)),
        ("next friday", date(2026, 3, 27)),
        ("in 2 weeks", date(2026, 3, 30)),
    ],
)
def test_dates_as_people_write_them(text: str, expected: date) -> None:
    assert parse_day(text, date(2026, 3, 16)) == expected


def test_the_date_order_setting_reads_slashes_day_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATE_ORDER_ENV, "DMY")
    assert parse_day("03/04/2026", date(2026, 3, 16)) == date(2026, 4, 3)
    monkeypatch.setenv(DATE_ORDER_ENV, "MDY")
    assert parse_day("03/04/2026", date(2026, 3, 16)) == date(2026, 3, 4)


@pytest.mark.parametrize("text", ["nxt friday", "02/30/2026", "friday or so", "asap", ""])
def test_a_wrong_date_is_a_usage_error_with_an_example(text: str) -> None:
    with pytest.raises(typer.BadParameter, match="next friday"):
        parse_day(text, date(2026, 3, 16))


def test_every_date_option_takes_phrases_against_as_of(demo_db: Path) -> None:
    listed = followthrough(
        "commitments",
        "list",
        "--status",
        "all",
        "--due-before",
        "next friday",
        "--as-of",
        AS_OF,
        "--json",
        db=demo_db,
    )
    assert listed.returncode == 0, listed.stderr
    dues = [i["due"] for i in json.loads(listed.stdout)]
    assert dues and all(d < "2026-03-27" for d in dues)
    bad = followthrough("commitments", "list", "--due-before", "nxt friday", db=demo_db)
    assert bad.returncode == 2 and "next friday" in bad.stderr
    assert followthrough("--as-of", "someday", "runs", db=demo_db).returncode == 2
    cid = str(json.loads(listed.stdout)[0]["id"])
    edited = followthrough(
        "commitments", "edit", cid, "--due", "in 2 weeks", "--as-of", AS_OF, "--json", db=demo_db
    )
    assert edited.returncode == 0 and json.loads(edited.stdout)["due"] == "2026-03-30", edited.stderr
    snoozed = followthrough(
        "commitments", "snooze", cid, "--until", "tomorrow", "--as-of", AS_OF, "--json", db=demo_db
    )
    assert snoozed.returncode == 0 and json.loads(snoozed.stdout)["snoozed_until"] == "2026-03-17"
    past = followthrough("commitments", "snooze", cid, "--until", "03/01/2026", "--as-of", AS_OF, db=demo_db)
    assert past.returncode == 2
    followthrough("commitments", "reopen", cid, db=demo_db)


def _names() -> list[list[str]]:
    """Every command path (``["commitments", "list"]``), loaded the way they run."""
    out: list[list[str]] = []
    for entry in LAZY:
        command = load(entry)
        subs = getattr(command, "commands", {})
        out.extend([[entry.name, s] for s in subs] if subs else [[entry.name]])
    return out


def test_global_options_are_taken_after_any_command() -> None:
    for path in _names():
        r = followthrough(*path, "--help", "--as-of", AS_OF)
        assert r.returncode == 0, (path, r.stderr)
        assert "Global options" in r.stdout and "--as-of" in r.stdout and "--database" in r.stdout, path


def test_global_options_after_the_command_act_as_before(demo_db: Path) -> None:
    after = followthrough(
        "commitments", "list", "--overdue", "--as-of", AS_OF, "--json", "--db", f"sqlite:///{demo_db}"
    )
    before = followthrough(
        "--as-of", AS_OF, "--db", f"sqlite:///{demo_db}", "commitments", "list", "--overdue", "--json"
    )
    assert after.returncode == before.returncode == 0, after.stderr
    assert after.stdout == before.stdout and json.loads(after.stdout)


def test_usage_errors_exit_2() -> None:
    assert followthrough("commitments", "list", "--ownr", "marco").returncode == 2
    assert followthrough("nosuchcommand").returncode == 2
    assert followthrough("export", "--format", "xml").returncode == 2


def test_help_has_no_python_type_names_and_offers_completion() -> None:
    texts = [followthrough("--help").stdout]
    texts += [followthrough(*path, "--help", env={"COLUMNS": "80"}).stdout for path in _names()]
    for text in texts:
        for name in ("<str>", "<bool>", "<int>", "list[", "<Path>", "<path>"):
            assert name not in text, (name, text)
    assert "--install-completion" in texts[0]


_ENV_NAME = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")


def test_help_at_80_columns_shows_every_environment_variable_name_whole() -> None:
    """Each command's help names its env variables (its options', the global options', its own text)
    in full at 80 columns: none cut with "…" nor broken over two lines."""
    root = typer.main.get_command(app)
    global_names = {n for p in root.params for n in _ENV_NAME.findall(getattr(p, "help", None) or "")}
    assert "FOLLOWTHROUGH_DATABASE_URL" in global_names
    checked = 0
    for path in _names():
        command = load(next(e for e in LAZY if e.name == path[0]))
        if len(path) > 1:
            command = command.commands[path[1]]
        texts = [command.help or "", *(getattr(p, "help", None) or "" for p in command.params)]
        names = global_names | {n for t in texts for n in _ENV_NAME.findall(t)}
        out = followthrough(*path, "--help", env={"COLUMNS": "80"}).stdout
        assert "…" not in out, (path, out)
        for name in names:
            assert name in out, (path, name, out)
            checked += 1
    assert checked > len(_names()) * len(global_names)


def test_a_commands_description_is_reflowed_not_broken_where_the_source_wrapped() -> None:
    assert reflow("Summary.\n\nA b\nc d. E\nf.\nG\n\n\b\nkept\nas is") == (
        "Summary.\n\nA b c d. E f.\nG\n\n\b\nkept\nas is"
    )
    out = followthrough("digest", "--help", env={"COLUMNS": "80"}).stdout
    description = [line.strip() for line in out.split("╭")[0].splitlines()[3:] if line.strip()]
    assert len(description) > 5
    short = [line for line in description if len(line) < 50 and not line.endswith((".", ":"))]
    assert not short, out  # a line cut short where the docstring wrapped


def test_each_lazy_summary_is_its_commands_own() -> None:
    for entry in LAZY:
        command = load(entry)
        own = (command.short_help or command.help or "").strip().split("\n\n")[0]
        assert " ".join(own.split()) == entry.summary, entry.name


@pytest.mark.parametrize(
    "argv", [[], ["commitments", "--help"], ["commitments", "list", "--help"], ["tokens", "create", "--help"]]
)
def test_the_cli_imports_no_store_pipeline_or_web_framework_to_start(argv: list[str]) -> None:
    """Neither importing the CLI nor a command group's help (its module loaded) loads the store."""
    code = (
        "import sys, contextlib, io, followthrough.cli\n"
        f"sys.argv = ['followthrough', *{argv!r}]\n"
        "if len(sys.argv) > 1:\n"
        "    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "        followthrough.cli.main()\n"
        "names = ('sqlalchemy', 'fastapi', 'followthrough.pipeline', 'store')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", (argv, out.stdout)


def test_the_start_benchmark_exists_and_runs() -> None:
    r = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "cli_start.py"), "--runs", "1", "--max-seconds", "100"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0 and "x baseline" in r.stdout, r.stdout + r.stderr


def test_list_json_and_export_jsonl_give_the_same_item(demo_db: Path) -> None:
    listed = {
        i["id"]: i
        for i in json.loads(
            followthrough(
                "commitments", "list", "--status", "all", "--json", "--as-of", AS_OF, db=demo_db
            ).stdout
        )
    }
    exported = followthrough("export", "--as-of", AS_OF, db=demo_db)
    assert exported.returncode == 0, exported.stderr
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    assert rows
    for row in rows:
        if row["id"] in listed:
            assert row == listed[row["id"]]
        assert row["occurred_at"].endswith("Z")
        assert row["deal"] is None or isinstance(row["deal"], dict)


def test_export_takes_the_list_filters_and_writes_csv_for_excel(demo_db: Path, tmp_path: Path) -> None:
    listed = json.loads(
        followthrough(
            "commitments",
            "list",
            "--owner",
            "marco",
            "--status",
            "all",
            "--json",
            "--as-of",
            AS_OF,
            db=demo_db,
        ).stdout
    )
    out = tmp_path / "marco.csv"
    r = followthrough(
        "export", "--format", "csv", "--bom", "--owner", "marco", "-o", out, "--as-of", AS_OF, db=demo_db
    )
    assert r.returncode == 0, r.stderr
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert sorted(int(x["id"]) for x in rows) == sorted(i["id"] for i in listed)
    assert {"deal.name", "deal.account", "owner", "flags"} <= set(rows[0])
    linked = [x for x in rows if x["deal.name"]]
    assert linked and all(x["deal.account"] for x in linked)


def test_the_jsonl_export_keeps_score_py_fields(demo_db: Path) -> None:
    r = followthrough("export", "--format", "jsonl", db=demo_db)
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert rows and all(
        {"message_id", "type", "evidence", "owner", "due", "char_start", "char_end"} <= set(x) for x in rows
    )
    assert all(isinstance(x["evidence"], str) for x in rows)  # grounded items: a verbatim quote each
    assert followthrough("export", "--format", "score", db=demo_db).returncode == 2  # one shape: jsonl


def test_show_names_the_source_subject_sender_and_date(demo_db: Path) -> None:
    items = json.loads(
        followthrough(
            "commitments",
            "list",
            "--source",
            "email",
            "--status",
            "all",
            "--json",
            "--as-of",
            AS_OF,
            db=demo_db,
        ).stdout
    )
    item = items[0]
    r = followthrough("commitments", "show", str(item["id"]), db=demo_db, env={"COLUMNS": "200"})
    assert r.returncode == 0, r.stderr
    assert item["document_title"] in r.stdout
    assert "from" in r.stdout and "@" in r.stdout.split("from", 1)[1].splitlines()[0]
    assert item["occurred_at"][:10] in r.stdout


def test_version_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert app is not None
    assert followthrough("--version").stdout.startswith("followthrough ")
