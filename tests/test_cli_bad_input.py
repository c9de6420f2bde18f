"""Bad input: one clear line per problem, the rest processed, no traceback, reliable exit codes."""

from __future__ import annotations

from pathlib import Path

from tests.clirunner import followthrough

GOOD_EML = """\
From: Dana Lee <dana@acme.com>
To: Marco Rossi <marco@northwind.io>
Subject: SSO
Date: Tue, 03 Mar 2026 09:14:00 -0500
Message-ID: <good-1@acme.com>

Could you confirm the SSO setup works with Okta?
"""


def _broken_folder(root: Path) -> Path:
    d = root / "inbox"
    d.mkdir()
    (d / "good.eml").write_text(GOOD_EML)
    (d / "binary.eml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    (d / "corrupt.mbox").write_bytes(b"From nobody Mon Jan  1 00:00:00 2026\n\x00\xff\xfe garbage \x00\x00\n")
    slack = d / "slack-export"
    (slack / "general").mkdir(parents=True)
    (slack / "channels.json").write_text('[{"id": "C1", "name": "general"}]')
    (slack / "users.json").write_text("[]")
    (slack / "general" / "2026-03-03.json").write_text("[{not json")
    (d / "empty.vtt").write_text("WEBVTT\n\n")
    (d / "data.xyz").write_text("what is this")
    return d


def test_broken_files_each_get_one_clear_line_and_the_rest_is_processed(tmp_path: Path) -> None:
    folder = _broken_folder(tmp_path)
    res = followthrough("ingest", folder, tmp_path / "nope.eml", db=tmp_path / "t.db")
    assert "Traceback" not in res.stderr + res.stdout
    assert res.returncode == 3, res.stderr  # partial: some inputs failed, the rest was read
    lines = res.stderr.splitlines()

    def line_for(name: str) -> str:
        hits = [ln for ln in lines if name in ln]
        assert hits, f"no message names {name}: {res.stderr}"
        return hits[0]

    assert "binary" in line_for("binary.eml").lower()
    line_for("corrupt.mbox")
    assert "json" in line_for("2026-03-03.json").lower()
    assert "empty" in line_for("empty.vtt").lower()
    assert "unsupported" in line_for("data.xyz").lower()
    assert "no such file" in line_for("nope.eml")
    assert "1 document read" in res.stdout

    listed = followthrough("commitments", "list", "--status", "all", "--json", db=tmp_path / "t.db")
    assert listed.returncode == 0


def test_nothing_readable_exits_non_zero(tmp_path: Path) -> None:
    bad = tmp_path / "binary.eml"
    bad.write_bytes(bytes(range(256)) * 4)
    res = followthrough("run", bad, db=tmp_path / "t.db")
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    assert "binary.eml" in res.stderr


def test_bad_database_url_is_one_line(tmp_path: Path) -> None:
    res = followthrough("commitments", "list", db="postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    assert res.stderr.strip().startswith("error:")
    assert len(res.stderr.strip().splitlines()) == 1


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    res = followthrough("commitments", "list", "--status", "bogus", db=tmp_path / "t.db")
    assert res.returncode == 2 and "is not one of" in res.stderr
    res = followthrough("run", db=tmp_path / "t.db")
    assert res.returncode == 2


BRACKETS_EML = """\
From: Marco Rossi <marco@northwind.io>
To: Dana Lee <dana@acme.com>
Subject: notes
Date: Tue, 03 Mar 2026 11:00:00 +0000

Hi Dana,

I will send the [/b] notes by Friday. I will send the [draft] MSA too.

Marco
"""


def test_brackets_in_text_are_shown_literally_and_copies_are_stored_once(tmp_path: Path) -> None:
    """Text is data: rich markup in an email never crashes or garbles a table."""
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (first / "note.eml").write_text(BRACKETS_EML)  # no Message-ID: the id comes from the content
    (second / "copy of note.eml").write_text(BRACKETS_EML)
    db = tmp_path / "t.db"
    assert followthrough("--as-of", "2026-03-05", "run", first, second, db=db).returncode == 0
    listed = followthrough("--as-of", "2026-03-05", "commitments", "list", db=db)
    assert listed.returncode == 0, listed.stderr
    assert "[/b]" in listed.stdout and "[draft]" in listed.stdout
    shown = followthrough("--as-of", "2026-03-05", "commitments", "show", "1", db=db)
    assert shown.returncode == 0 and "[/b]" in shown.stdout
    rows = followthrough("export", db=db).stdout.splitlines()
    assert len(rows) == 2, "the copy of the same message adds nothing"


def test_user_mistakes_on_the_command_line_are_one_line(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    (tmp_path / "scores.csv").write_text("name,score\nbob,3\n")
    (tmp_path / "empty").mkdir()
    res = followthrough("ingest", tmp_path / "scores.csv", tmp_path / "empty", db=db)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "not a CRM export" in res.stderr and "nothing to read here" in res.stderr
    res = followthrough("export", "-o", tmp_path / "missing" / "out.jsonl", db=db)
    assert res.returncode == 1 and res.stderr.startswith("error:") and "cannot write" in res.stderr
    res = followthrough("--as-of", "2026-03-05", "commitments", "snooze", "1", "--until", "2020-01-01", db=db)
    assert res.returncode == 2 and "not after today" in res.stderr  # a bad value: a usage error


def test_deeply_nested_mime_is_one_error_and_the_batch_goes_on(tmp_path: Path) -> None:
    body = "".join(f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n' for i in range(3000))
    body += "Content-Type: text/plain\n\nhello\n" + "".join(f"--b{i}--\n" for i in reversed(range(3000)))
    nest = tmp_path / "nest.eml"
    nest.write_text("From: a@b.com\nTo: c@d.com\nSubject: x\nMessage-ID: <n@x>\nMIME-Version: 1.0\n" + body)
    good = tmp_path / "good.eml"
    good.write_text(GOOD_EML)
    res = followthrough("ingest", nest, good, db=tmp_path / "t.db")
    assert res.returncode == 3 and "Traceback" not in res.stderr
    assert "nest.eml" in res.stderr and "1 document read" in res.stdout
