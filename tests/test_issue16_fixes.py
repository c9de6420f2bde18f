"""Issue 16, what a new user still tripped over, each fixed as a kind: ``link --deal`` found as
``edit --deal`` finds it, every usage error one plain line (no pydantic wording, the valid choices
named, exit 2), dates in the user's order, one id range everywhere, readable usage lines, a closed
pipe, blank names and mistyped database folders; on the API, repeated and badly valued query
parameters worded for people."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from followthrough.api import create_app
from followthrough.cli.lazy import LAZY, load
from followthrough.cli.params import ID_MAX
from store import Store
from store.api_tokens import ApiTokens
from tests.api_support import BACKENDS, LiveServer, database
from tests.clirunner import followthrough
from tests.conftest import REPO

AS_OF = "2026-03-16"
DEMO = REPO / "fixtures" / "demo"
PYDANTIC_WORDS = ("Value error", "Input should", "%Y", "%m", "%d", "str-enum", "literal[", "<int>", "<str>")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("issue16fixes") / "demo.db"
    r = followthrough("--as-of", AS_OF, "--quiet", "run", DEMO, db=db)
    assert r.returncode in (0, 3), r.stderr
    return db


def _plain(text: str) -> str:
    """An error as one line: typer's box around it taken away."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def _usage_error(*args: str, db: Path | None = None, env: dict[str, str] | None = None) -> str:
    r = followthrough(*args, db=db, env=env)
    assert r.returncode == 2, (args, r.returncode, r.stdout, r.stderr)
    for words in PYDANTIC_WORDS:
        assert words not in r.stderr, (args, r.stderr)
    return _plain(r.stderr)


def _first_id(db: Path) -> int:
    r = followthrough("--as-of", AS_OF, "commitments", "list", "--status", "all", "--json", db=db)
    assert r.returncode == 0, r.stderr
    return int(json.loads(r.stdout)[0]["id"])


# 1. link --deal finds a deal as edit --deal, list --deal and the API's PATCH do


def test_link_takes_a_deal_name_part_or_a_crm_id_in_any_case(demo_db: Path) -> None:
    cid = _first_id(demo_db)
    by_name = followthrough(
        "commitments", "link", str(cid), "--deal", "hipaa data lake", "--json", db=demo_db
    )
    assert by_name.returncode == 0, by_name.stderr
    assert json.loads(by_name.stdout)["deal"]["crm_id"] == "D-1005"
    by_id = followthrough("commitments", "link", str(cid), "--deal", "d-1004", "--json", db=demo_db)
    assert by_id.returncode == 0, by_id.stderr
    assert json.loads(by_id.stdout)["deal"]["crm_id"] == "D-1004"
    listed = followthrough("commitments", "list", "--status", "all", "--deal", "d-1004", "--json", db=demo_db)
    assert cid in {i["id"] for i in json.loads(listed.stdout)}


def test_link_to_an_ambiguous_deal_lists_the_candidates_as_deals_does(demo_db: Path) -> None:
    cid = _first_id(demo_db)
    linked = followthrough("commitments", "link", str(cid), "--deal", "stark", db=demo_db)
    shown = followthrough("deals", "stark", db=demo_db)
    assert linked.returncode == shown.returncode == 1
    assert "D-1006" in linked.stderr and "D-1007" in linked.stderr
    assert linked.stderr == shown.stderr and len(linked.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("options", [[], ["--deal", "D-1001", "--none"]])
def test_link_needs_exactly_one_of_deal_and_none(demo_db: Path, options: list[str]) -> None:
    message = _usage_error("commitments", "link", str(_first_id(demo_db)), *options, db=demo_db)
    assert "--deal" in message and "--none" in message


# 2. every date option reads dates one way; every choice error names the choices


def test_no_cli_option_parses_dates_with_a_format_string() -> None:
    sources = sorted((REPO / "followthrough" / "cli").glob("*.py"))
    assert len(sources) > 10
    for path in sources:
        text = path.read_text(encoding="utf-8")
        assert "formats=" not in text and "strptime" not in text, path


def test_run_date_takes_what_due_before_takes(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    ok = followthrough("--as-of", AS_OF, "-q", "ingest", DEMO, "--date", "next friday", "--json", db=db)
    assert ok.returncode == 0, ok.stderr
    run = _usage_error("--as-of", AS_OF, "run", str(DEMO), "--date", "someday", db=db)
    due = _usage_error("--as-of", AS_OF, "commitments", "list", "--due-before", "someday", db=db)
    assert run.split("'someday'")[1] == due.split("'someday'")[1]


@pytest.mark.parametrize(
    ("args", "choices"),
    [
        (["export", "--format", "xml"], "jsonl, csv"),
        (["digest", "--send", "fax"], "email, slack"),
        (["commitments", "list", "--source", "fax"], "email, slack, meeting"),
        (["commitments", "list", "--type", "fax"], "commitment, request"),
        (["commitments", "edit", "1", "--type", "fax"], "commitment, request"),
        (["commitments", "list", "--status", "fax"], "open, review, done"),
        (["run", "x", "--extractor", "fax"], "offline, openai"),
    ],
)
def test_a_wrong_choice_is_one_plain_line_naming_the_choices(args: list[str], choices: str) -> None:
    message = _usage_error(*args)
    assert f"'fax' is not one of: {choices}" in message or f"'xml' is not one of: {choices}" in message


@pytest.mark.parametrize(
    ("args", "wording"),
    [
        (["commitments", "show", "abc"], "'abc' is not a whole number"),
        (["commitments", "list", "--limit", "0"], "0 is out of range: give 1 to 100000"),
    ],
)
def test_number_errors_are_worded_for_people(args: list[str], wording: str) -> None:
    assert wording in _usage_error(*args)


# 3. the example follows FOLLOWTHROUGH_DATE_ORDER; edit --due words its error as the others


def test_a_date_error_shows_the_order_the_setting_chose() -> None:
    dmy = _usage_error(
        "commitments", "list", "--due-before", "someday", env={"FOLLOWTHROUGH_DATE_ORDER": "DMY"}
    )
    mdy = _usage_error(
        "commitments", "list", "--due-before", "someday", env={"FOLLOWTHROUGH_DATE_ORDER": "MDY"}
    )
    assert "20/03/2026" in dmy and "03/20/2026" not in dmy
    assert "03/20/2026" in mdy and "20/03/2026" not in mdy


def test_edit_due_words_its_error_as_every_date_option() -> None:
    edit = _usage_error("commitments", "edit", "1", "--due", "someday")
    snooze = _usage_error("commitments", "snooze", "1", "--until", "someday")
    tail = snooze.split("'someday' ")[1]
    assert edit.split("'someday' ")[1] == tail.replace(' or "in 2 weeks"', ', "in 2 weeks" or none')


# 4. the API: a repeated single-valued parameter, and enum values worded for people


@pytest.fixture(params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[httpx.Client]:
    with database(request.param, "fixes", tmp_path) as url:
        with Store(url) as s:
            _, token = ApiTokens(s.engine).create("reader", read_only=True)
        with (
            LiveServer(create_app(url, as_of=date.fromisoformat(AS_OF))) as server,
            httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as c,
        ):
            yield c


def test_a_repeated_single_valued_query_parameter_is_a_422_naming_it(api: httpx.Client) -> None:
    for query, name in [
        ("owner=marco&owner=dana", "owner"),
        ("status=open&status=done", "status"),
        ("limit=5&limit=6", "limit"),
    ]:
        r = api.get(f"/v1/commitments?{query}")
        assert r.status_code == 422, (query, r.text)
        assert r.json()["errors"][0]["loc"] == ["query", name] and name in r.json()["detail"]
    for path in ("/v1/deals?limit=5&limit=6", "/v1/accounts?limit=5&limit=6"):
        assert api.get(path).status_code == 422, path


def test_an_enum_query_parameter_error_lists_the_allowed_values(api: httpx.Client) -> None:
    r = api.get("/v1/commitments", params={"status": "nope"})
    assert r.status_code == 422
    body = r.json()
    assert body["detail"].startswith("status must be one of: open, review, done") and "all" in body["detail"]
    assert body["errors"] == [
        {"loc": ["query", "status"], "msg": body["detail"].removeprefix("status "), "type": "enum"}
    ]
    for params in ({"source": "fax"}, {"type": "fax"}, {"status": "nope"}):
        text = api.get("/v1/commitments", params=params).text
        assert "must be one of: " in text, params
        for words in ("str-enum", "literal[", "Input should", "Value error"):
            assert words not in text, (params, text)


# 5. --bom is for CSV


def test_bom_with_jsonl_is_a_usage_error() -> None:
    assert "--bom is for --format csv" in _usage_error("export", "--format", "jsonl", "--bom")


# 7. readable usage lines, one id range, no docstring markup


def _commands() -> Iterator[tuple[list[str], Any]]:
    for entry in LAZY:
        command = load(entry)
        subs = getattr(command, "commands", {})
        if subs:
            yield from (([entry.name, name], sub) for name, sub in subs.items())
        else:
            yield [entry.name], command


def test_usage_lines_show_readable_argument_names_and_no_docstring_markup() -> None:
    shown = set()
    for path, _command in _commands():
        out = followthrough(*path, "--help", env={"COLUMNS": "100"}).stdout
        usage = next(line for line in out.splitlines() if "Usage:" in line)
        assert "{" not in usage and "}" not in usage, usage
        arguments = usage.split("[OPTIONS]")[1].split()
        assert all(a.strip("[]").rstrip(".").isupper() for a in arguments), usage
        shown |= {a.strip("[]") for a in arguments}
        assert "``" not in out, (path, out)
    assert {"ID", "PATH...", "INPUT...", "SENTENCE", "NAME", "DEAL"} <= shown, shown


def test_every_id_argument_has_one_range_and_out_of_range_is_a_usage_error() -> None:
    with_ids = [path for path, command in _commands() if any(p.name == "cid" for p in command.params)]
    assert len(with_ids) >= 8, with_ids
    for path in with_ids:
        extra = {"snooze": ["--until", "tomorrow"], "edit": ["--action", "x"], "link": ["--none"]}
        for bad in (str(ID_MAX + 1), "0"):
            message = _usage_error(*path, bad, *extra.get(path[-1], []))
            assert f"is out of range: give 1 to {ID_MAX}" in message, (path, message)


# 8. a closed pipe


def _into_closed_pipe(args: list[str], db: Path) -> subprocess.CompletedProcess[str]:
    read, write = os.pipe()
    os.close(read)
    try:
        env = {**os.environ, "FOLLOWTHROUGH_DATABASE_URL": f"sqlite:///{db}"}
        return subprocess.run(
            [sys.executable, "-m", "followthrough", *args],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
            check=False,
        )
    finally:
        os.close(write)


def test_a_closed_pipe_ends_every_command_quietly_with_one_code(demo_db: Path) -> None:
    listed = _into_closed_pipe(["--as-of", AS_OF, "commitments", "list", "--status", "all"], demo_db)
    for args in (
        ["--as-of", AS_OF, "export"],
        ["--as-of", AS_OF, "export", "--status", "done", "--format", "csv"],
        ["--as-of", AS_OF, "commitments", "list", "--json"],
        ["--as-of", AS_OF, "-q", "run", str(DEMO)],
    ):
        r = _into_closed_pipe(args, demo_db)
        assert (r.returncode, r.stderr) == (listed.returncode, ""), (args, r.stderr)
    assert listed.stderr == "" and listed.returncode != 0


# 9. a blank token name; a database in a folder that does not exist


def test_a_blank_token_name_is_a_usage_error(tmp_path: Path) -> None:
    assert "must not be blank" in _usage_error("tokens", "create", "--name", "", db=tmp_path / "t.db")
    assert "must not be blank" in _usage_error("tokens", "revoke", " ", db=tmp_path / "t.db")


@pytest.mark.parametrize(
    "args",
    [["commitments", "list"], ["export"], ["deals"], ["-q", "run", str(DEMO)], ["-q", "ingest", str(DEMO)]],
)
def test_a_database_in_a_missing_folder_is_one_line_and_creates_nothing(
    tmp_path: Path, args: list[str]
) -> None:
    folder = tmp_path / "no" / "such"
    r = followthrough("--db", f"sqlite:///{folder / 'x.db'}", *args)
    assert r.returncode == 1, (args, r.stderr)
    assert len(r.stderr.strip().splitlines()) == 1 and str(folder) in r.stderr, r.stderr
    assert not (tmp_path / "no").exists()


def test_run_creates_the_database_file_in_an_existing_folder(tmp_path: Path) -> None:
    r = followthrough("--as-of", AS_OF, "-q", "ingest", DEMO, db=tmp_path / "new.db")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "new.db").is_file()


def test_export_to_dash_writes_standard_output(
    demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    r = followthrough("export", "--format", "jsonl", "-o", "-", db=demo_db)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) > 5 and json.loads(r.stdout.splitlines()[0])["id"]
    assert not (tmp_path / "-").exists()  # "-" is standard output, not a file named "-"


def test_an_empty_database_url_is_an_error_not_the_default_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FOLLOWTHROUGH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FOLLOWTHROUGH_DATABASE_URL", raising=False)
    r = followthrough("--database", "", "commitments", "list")
    assert r.returncode == 1 and "the database URL is empty" in r.stderr
    assert not (tmp_path / "home").exists()
