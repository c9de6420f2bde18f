"""Issue 10: one bad entry or one bad part of an input costs one line, never the batch.

Every bad input is built in ``tmp_path`` at test time, beside a good email in the same
folder, and read through :func:`followthrough.ingest.plan` + :func:`ingest.documents`
(+ ``ingest.records``) as ``followthrough run`` reads it. Each test checks that the good
email is still read, that each bad entry gets exactly one error or skip line naming it,
and that nothing else is said. The last tests run the real command (through its entry
point, in-process), one per fault kind.

1. symlink loops, broken links, unreadable files and folders while walking a folder;
2. the walk stays inside the folder given unless ``follow_symlinks``;
3. a CSV record over the csv field limit, a broken file inside a Slack export (folder
   and ZIP), and a FIFO / socket / device or unreadable path named on the command line.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from connectors.base import Yields
from followthrough import ingest
from followthrough.errors import InputError
from followthrough.types import CrmData, SourceDocument
from tests.clirunner import followthrough

GOOD_EML = """\
From: Priya Shah <priya@ourco.com>
To: Dana Lee <dana@customer.com>
Subject: Pilot
Date: Mon, 16 Mar 2026 10:00:00 +0000
Message-ID: <good-1@ourco.com>

Hi Dana,

I'll send you the security questionnaire by Friday.

Priya
"""
GOOD_QUOTE = "I'll send you the security questionnaire by Friday."
OUTSIDE_EML = GOOD_EML.replace("<good-1@ourco.com>", "<outside-1@ourco.com>").replace(
    "security questionnaire", "outside file"
)
ROOT = os.geteuid() == 0
as_user = pytest.mark.skipif(ROOT, reason="root reads files whatever their mode")


@dataclass
class Outcome:
    docs: list[SourceDocument]
    lines: list[InputError]
    """Every error and skip line: planning, then reading."""
    crm: CrmData


def read(*paths: Path, follow_symlinks: bool = False) -> Outcome:
    """Plan and read ``paths`` as ``followthrough run`` does; a hang fails the test after 20 s."""
    box: list[Outcome] = []

    def work() -> None:
        planned = ingest.plan(list(paths), follow_symlinks=follow_symlinks)
        lines = planned.errors + planned.skipped
        crm = CrmData()
        for item in planned.yielding(Yields.CRM):
            for chunk in ingest.records(item, lines):
                crm = crm.merge(chunk)
        docs = [doc for item in planned.yielding(Yields.DOCUMENTS) for doc in ingest.documents(item, lines)]
        box.append(Outcome(docs, lines, crm))

    failure: list[Exception] = []

    def guarded() -> None:
        try:
            work()
        except Exception as e:  # handed to the test's own thread below
            failure.append(e)

    worker = threading.Thread(target=guarded, daemon=True)
    worker.start()
    worker.join(20)
    assert not worker.is_alive(), "reading the inputs blocked"
    if failure:
        raise failure[0]
    return box[0]


def good_read(out: Outcome) -> None:
    assert [d for d in out.docs if GOOD_QUOTE in d.text], [str(e) for e in out.lines]


def one_line_each(out: Outcome, *bad: Path | str, containing: str = "") -> list[str]:
    """Exactly one line per bad entry (naming it, ``path`` or ``path:line``) and no other line."""
    names = [str(b) for b in bad]
    said = [str(e) for e in out.lines]
    for name in names:
        hits = [e for e in out.lines if e.path == name or e.path.startswith(name + ":")]
        assert len(hits) == 1, f"{name}: {said}"
        assert containing.lower() in hits[0].problem.lower(), said
    assert len(out.lines) == len(names), said
    return said


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    (d / "good.eml").write_text(GOOD_EML)
    return d


# ------------------------------------------------------- 1. loops, broken links, unreadable


def test_symlink_loops_are_one_line_each_and_the_walk_goes_on(folder: Path) -> None:
    (folder / "self").symlink_to("self")
    (folder / "a.eml").symlink_to("b.eml")
    (folder / "b.eml").symlink_to("a.eml")
    sub = folder / "sub"
    sub.mkdir()
    (sub / "loop.mbox").symlink_to(sub / "loop.mbox")
    (sub / "up").symlink_to("..")  # a folder that leads back up: walked once, not forever
    out = read(folder)
    good_read(out)
    one_line_each(
        out, folder / "self", folder / "a.eml", folder / "b.eml", sub / "loop.mbox", containing="loop"
    )


def test_broken_symlinks_are_one_line_each(folder: Path) -> None:
    (folder / "gone.eml").symlink_to("nowhere.eml")
    (folder / "gone-dir").symlink_to(folder / "no" / "such" / "folder")
    out = read(folder)
    good_read(out)
    one_line_each(out, folder / "gone.eml", folder / "gone-dir", containing="broken symlink")


def test_loops_and_broken_links_named_on_the_command_line(folder: Path, tmp_path: Path) -> None:
    loop, broken = tmp_path / "loop.eml", tmp_path / "broken.eml"
    loop.symlink_to(loop)
    broken.symlink_to(tmp_path / "missing.eml")
    out = read(loop, broken, folder)
    good_read(out)
    said = one_line_each(out, loop, broken)
    assert "loop" in said[0] and "broken symlink" in said[1]


@as_user
def test_unreadable_file_and_folder_in_a_walk_are_one_line_each(folder: Path) -> None:
    locked_file, locked_dir = folder / "locked.eml", folder / "locked"
    locked_file.write_text(GOOD_EML)
    locked_dir.mkdir()
    (locked_dir / "inner.eml").write_text(GOOD_EML)
    locked_file.chmod(0)
    locked_dir.chmod(0)
    try:
        out = read(folder)
    finally:
        locked_dir.chmod(0o755)
        locked_file.chmod(0o644)
    good_read(out)
    one_line_each(out, locked_file, locked_dir, containing="permission denied")


# ------------------------------------------------------------- 2. confined to the folder


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    d = tmp_path / "elsewhere"
    d.mkdir()
    (d / "other.eml").write_text(OUTSIDE_EML)
    return d


def test_symlinks_out_of_the_folder_are_skipped_with_one_line(folder: Path, outside: Path) -> None:
    (folder / "file-link.eml").symlink_to(outside / "other.eml")
    (folder / "dir-link").symlink_to(outside)
    (folder / "inside-link.eml").symlink_to("good.eml")  # inside: read (once)
    out = read(folder)
    good_read(out)
    assert len(out.docs) == 1
    assert not [d for d in out.docs if "outside file" in d.text]
    said = one_line_each(out, folder / "dir-link", folder / "file-link.eml", containing="outside")
    assert all("--follow-symlinks" in line for line in said)
    assert len(ingest.plan([folder]).skipped) == 2  # skipped by choice, not failed


def test_follow_symlinks_reads_them_and_still_survives_loops(folder: Path, outside: Path) -> None:
    (folder / "file-link.eml").symlink_to(outside / "other.eml")
    (folder / "dir-link").symlink_to(outside)
    (outside / "back").symlink_to(folder)  # out and back in: no endless walk
    (folder / "self").symlink_to("self")
    out = read(folder, follow_symlinks=True)
    good_read(out)
    assert len([d for d in out.docs if "outside file" in d.text]) == 1
    one_line_each(out, folder / "self", containing="loop")


def test_a_symlink_named_on_the_command_line_is_always_read(
    folder: Path, outside: Path, tmp_path: Path
) -> None:
    link = tmp_path / "named.eml"
    link.symlink_to(outside / "other.eml")
    dir_link = tmp_path / "named-dir"
    dir_link.symlink_to(outside)
    out = read(link, folder)
    assert [d for d in out.docs if "outside file" in d.text]
    good_read(out)
    assert out.lines == []
    assert [d for d in read(dir_link).docs if "outside file" in d.text]


def _slack_export(root: Path, channels: dict[str, dict[str, Any]]) -> Path:
    """An unpacked export: ``channels`` maps a channel to {day: file content (JSON value or raw bytes)}."""
    root.mkdir(parents=True)
    users = [{"id": "U1", "real_name": "Priya Shah", "profile": {"email": "priya@ourco.com"}}]
    (root / "users.json").write_text(json.dumps(users))
    (root / "channels.json").write_text(
        json.dumps([{"id": f"C{n}", "name": c} for n, c in enumerate(channels)])
    )
    for channel, days in channels.items():
        (root / channel).mkdir()
        for day, content in days.items():
            raw = content if isinstance(content, bytes) else json.dumps(content).encode()
            (root / channel / f"{day}.json").write_bytes(raw)
    return root


def _said(ts: str, text: str) -> dict[str, str]:
    return {"type": "message", "user": "U1", "ts": ts, "text": text}


def test_a_slack_export_folder_stays_inside_itself(folder: Path, outside: Path) -> None:
    export = _slack_export(
        folder / "slack", {"general": {"2026-03-16": [_said("1773655200.000100", "Hello.")]}}
    )
    (outside / "secret").mkdir()
    (outside / "secret" / "2026-03-16.json").write_text(json.dumps([_said("1773655200.000200", "Secret.")]))
    (export / "secret").symlink_to(outside / "secret")
    out = read(folder)
    good_read(out)
    assert [d.text for d in out.docs if d.source == "slack"] == ["Hello."]
    one_line_each(out, export / "secret", containing="outside")
    followed = read(folder, follow_symlinks=True)
    assert sorted(d.text for d in followed.docs if d.source == "slack") == ["Hello.", "Secret."]


# ------------------------------------------------------- 3a. one bad CSV record


def _crm(path: Path, bad_row: str) -> Path:
    path.write_text(
        "deal_id,deal_name,account_name,owner_email\n"
        "D1,Acme pilot,Acme,priya@ourco.com\n"
        f"{bad_row}\n"
        "D3,Globex renewal,Globex,priya@ourco.com\n"
    )
    return path


@pytest.mark.parametrize(
    "bad_row",
    [
        'D2,"' + "x" * 10_000_000 + '",Acme,priya@ourco.com',
        'D2,"one line\n' + "x" * 200_000 + '\nanother line",Acme,priya@ourco.com',
        "D2," + "y" * 200_000 + ",Acme,priya@ourco.com",
    ],
    ids=["10MB-quoted", "multi-line-quoted", "unquoted"],
)
def test_a_csv_field_over_the_limit_is_one_line_with_its_own_line_number(folder: Path, bad_row: str) -> None:
    crm = _crm(folder / "deals.csv", bad_row)
    out = read(folder)
    good_read(out)
    assert sorted(d.crm_id for d in out.crm.deals) == ["D1", "D3"]
    one_line_each(out, crm, containing="field")
    assert out.lines[0].path == f"{crm}:3"


def test_a_stray_nul_in_an_email_body_does_not_make_it_binary(folder: Path) -> None:
    nul = folder / "nul.eml"
    nul.write_bytes(OUTSIDE_EML.replace("outside file", "outside\x00 file").encode())
    out = read(folder)
    good_read(out)
    assert out.lines == []
    assert [d.text for d in out.docs if "outside file" in d.text]  # the NUL is dropped, not the message


# ---------------------------------------------------- 3b. one bad file in a Slack export


def _deep_message(depth: int) -> bytes:
    """A day file whose one message holds Block Kit lists nested ``depth`` deep (JSON written by hand)."""
    inner = '{"type": "rich_text_section", "elements": [{"type": "text", "text": "Deep."}]}'
    lists = '{"type": "rich_text_list", "elements": [' * depth + inner + "]}" * depth
    blocks = '[{"type": "rich_text", "elements": [' + lists + "]}]"
    return f'[{{"type": "message", "user": "U1", "ts": "1772668800.000100", "blocks": {blocks}}}]'.encode()


def _bad_export(root: Path) -> Path:
    """Four broken day files in #general beside good ones, and a good #random."""
    general: dict[str, Any] = {
        "2026-03-01": b"[" * 200_000 + b"]" * 200_000,  # nested deeper than the JSON parser goes
        "2026-03-02": {"ts": "1772409600.000100", "text": "an object, not a list"},
        "2026-03-03": [_said("1772496000.000100", "Kept beside a non-object."), "not a message", 42],
        "2026-03-04": b"[" + b"9" * 5000 + b"]",  # an integer past Python's digit limit
        "2026-03-05": _deep_message(300),  # lists in lists: rendered without overflowing the stack
        "2026-03-06": [_said("1772755200.000100", "Good in general.")],
    }
    random = {"2026-03-06": [_said("1772755200.000200", "Good too.")]}
    return _slack_export(root, {"general": general, "random": random})


def _zip(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                z.write(path, f"export/{path.relative_to(folder)}")
    return target


@pytest.mark.parametrize("shape", ["folder", "zip"])
def test_one_broken_file_in_a_slack_export_is_one_line_and_the_rest_is_read(
    folder: Path, tmp_path: Path, shape: str
) -> None:
    export = _bad_export(tmp_path / "built" if shape == "zip" else folder / "slack")
    where = export if shape == "folder" else _zip(export, folder / "slack.zip")
    out = read(folder)
    good_read(out)
    slack = sorted(d.text for d in out.docs if d.source == "slack")
    assert slack == ["Good in general.", "Good too.", "Kept beside a non-object."], slack
    days = [f"{where}/{'export/' if shape == 'zip' else ''}general/2026-03-0{n}.json" for n in (1, 2, 3, 4)]
    said = one_line_each(out, *days)
    assert "nested too deeply" in said[0]
    assert "list" in said[1] and "not message objects" in said[2]


# ------------------------------------- 3c. FIFOs, sockets, devices, unreadable named paths


_PEEKED_NAMES = ("f.eml", "f.mbox", "f.json", "f.zip", "f.csv", "f.vtt", "f.md", "f.txt", "f")
"""Names each connector's ``detect`` might open to peek at."""


@contextmanager
def _specials(d: Path) -> Iterator[list[Path]]:
    """A FIFO under every name a connector might peek at, and a socket, in ``d``."""
    d.mkdir(exist_ok=True)
    fifos = [d / name for name in _PEEKED_NAMES]
    for fifo in fifos:
        os.mkfifo(fifo)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(d / "s.eml"))
    try:
        yield [*fifos, d / "s.eml"]
    finally:
        sock.close()


@pytest.fixture
def specials(tmp_path: Path) -> Iterator[list[Path]]:
    with _specials(tmp_path / "sp") as made:
        yield made


def test_fifos_and_sockets_in_a_folder_are_skipped_without_opening_them(
    folder: Path, specials: list[Path]
) -> None:
    links = [folder / f"link-{s.name}" for s in specials]
    for special, link in zip(specials, links, strict=True):
        link.symlink_to(special)  # outside the folder: skipped unless followed
    with _specials(folder) as inside:
        out = read(folder)
        good_read(out)
        said = one_line_each(out, *inside, *links)
        assert sum("not a regular file" in line for line in said) == len(inside)
        followed = read(folder, follow_symlinks=True)
        good_read(followed)
        one_line_each(followed, *inside, *links, containing="not a regular file")


def test_fifo_socket_and_device_named_on_the_command_line_are_one_error_each(
    folder: Path, specials: list[Path]
) -> None:
    named = [specials[0], specials[2], specials[-1]]
    devices = [p for p in (Path("/dev/zero"), Path("/dev/urandom")) if p.exists()]
    out = read(*named, *devices, folder)
    good_read(out)
    said = one_line_each(out, *named, *devices, containing="not a regular file")
    assert "FIFO" in said[0] and "socket" in said[2]


@as_user
def test_unreadable_paths_named_on_the_command_line_are_one_error_each(folder: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked.eml"
    locked.write_text(GOOD_EML)
    locked.chmod(0)
    shut = tmp_path / "shut"
    shut.mkdir()
    (shut / "inner.eml").write_text(GOOD_EML)
    shut.chmod(0)
    try:
        out = read(locked, shut / "inner.eml", shut, folder)
    finally:
        shut.chmod(0o755)
        locked.chmod(0o644)
    good_read(out)
    one_line_each(out, locked, shut / "inner.eml", shut, containing="permission denied")


def test_paths_that_are_not_there_are_one_error_each(folder: Path, tmp_path: Path) -> None:
    missing, through_file = tmp_path / "missing.eml", folder / "good.eml" / "child.eml"
    out = read(missing, through_file, folder)
    good_read(out)
    one_line_each(out, missing, through_file, containing="no such file")


# --------------------------------------------------- end to end, one run per fault kind


def _loop(d: Path) -> None:
    (d / "loop").symlink_to("loop")
    (d / "broken.eml").symlink_to("nowhere.eml")


def _outside(d: Path) -> None:
    other = d.parent / "elsewhere"
    other.mkdir()
    (other / "other.eml").write_text(OUTSIDE_EML)
    (d / "link.eml").symlink_to(other / "other.eml")


def _big_csv(d: Path) -> None:
    _crm(d / "deals.csv", 'D2,"' + "x" * 10_000_000 + '",Acme,priya@ourco.com')


def _slack(d: Path) -> None:
    _bad_export(d / "slack")


def _fifo(d: Path) -> None:
    os.mkfifo(d / "pipe.json")
    os.mkfifo(d / "pipe.eml")


FAULTS: dict[str, Callable[[Path], None]] = {
    "symlink-loop": _loop,
    "outside-symlink": _outside,
    "csv-field": _big_csv,
    "slack-deep-json": _slack,
    "fifo": _fifo,
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_run_reads_the_good_email_beside_each_fault(folder: Path, tmp_path: Path, fault: str) -> None:
    FAULTS[fault](folder)
    url = f"sqlite:///{tmp_path / 'x.db'}"
    run = followthrough("--db", url, "run", folder)
    assert "Traceback" not in run.stdout + run.stderr, run.stderr
    assert run.returncode in (0, 1, 3), run.stderr
    listed = followthrough("--db", url, "commitments", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    items = json.loads(listed.stdout)
    assert [
        i
        for i in items
        if i["owner"] == "priya@ourco.com"
        and i["message_id"] == "<good-1@ourco.com>"  # the email from priya@ourco.com to dana@customer.com
        and any(e["quote"] == GOOD_QUOTE for e in i["quotes"])
    ], items
