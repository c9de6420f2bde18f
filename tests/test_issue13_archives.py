"""A Slack export ZIP is bounded whatever it claims (issue 13): a member that inflates like a ZIP bomb, or
past the size of any real day of chat, is one line naming it, read without inflating it, and the rest of
the archive is read."""

from __future__ import annotations

import tracemalloc
import zipfile
from pathlib import Path

import pytest

from connectors import slack_export
from connectors.slack import SlackConnector
from followthrough.errors import InputError
from tests.test_connector_slack import _mini_export

DAY = "acme-deal/2026-03-12.json"
MESSAGE = '{"type":"message","user":"U2","text":"Can you send the deck by Friday?","ts":"1773151200.000100"},'


def _archive(tmp_path: Path, extra: bytes) -> Path:
    """The mini export zipped, plus one more day of ``extra`` bytes (deflated)."""
    root = _mini_export(tmp_path / "export")
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for f in sorted(root.rglob("*")):
            z.write(f, f.relative_to(root).as_posix())
        z.writestr(DAY, extra)
    return archive


def _original(tmp_path: Path) -> list[str]:
    """The documents of the mini export itself (its folder, without the extra day)."""
    ids, errors = _read(tmp_path / "export")
    assert ids and not errors
    return ids


def _read(archive: Path) -> tuple[list[str], list[InputError]]:
    errors: list[InputError] = []
    docs = list(SlackConnector(archive, on_error=errors.append).documents())
    return [d.external_id for d in docs], errors


def test_a_zip_bomb_member_is_refused_from_the_directory_without_inflating_it(tmp_path: Path) -> None:
    bomb = b"[" + MESSAGE.encode() * 40_000 + b"{}]"  # 3.3 MB of JSON that deflates about 300x
    archive = _archive(tmp_path, bomb)
    info = zipfile.ZipFile(archive).getinfo(DAY)
    assert info.file_size > slack_export.MAX_EXPANSION * info.compress_size  # the test input is a bomb
    tracemalloc.start()
    try:
        ids, errors = _read(archive)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [e.path for e in errors] == [f"{archive}/{DAY}"]
    assert "ZIP bomb" in str(errors[0]) and "not read" in str(errors[0])
    assert ids == _original(tmp_path)  # the rest of the export is read
    assert peak < info.file_size  # never inflated


def test_a_member_past_the_size_cap_is_refused_even_when_its_ratio_is_plausible(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slack_export, "MAX_MEMBER_BYTES", 64 << 10)  # 64 KiB stands in for 64 MiB
    varied = b"[" + b"".join(MESSAGE.replace("Friday", f"day {n}").encode() for n in range(2000)) + b"{}]"
    archive = _archive(tmp_path, varied)
    info = zipfile.ZipFile(archive).getinfo(DAY)
    assert info.file_size < slack_export.MAX_EXPANSION * info.compress_size  # not a bomb by its ratio
    ids, errors = _read(archive)
    assert [e.path for e in errors] == [f"{archive}/{DAY}"] and "larger than" in str(errors[0])
    assert ids == _original(tmp_path)


def test_small_members_are_read_whatever_their_ratio(tmp_path: Path) -> None:
    small = b"[" + MESSAGE.encode() * 100 + b"{}]"  # 8 KB that deflates far more than 100x: still a day
    archive = _archive(tmp_path, small)
    _, errors = _read(archive)
    assert errors == []


def test_a_day_file_past_the_size_cap_in_a_folder_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unpacked export's day file is capped as a member of a zipped one (a 100 MB day file in a
    folder took 1.5 GB); the file is read no further than the cap, and the rest of the export is read."""
    _mini_export(tmp_path / "export")
    original = _original(tmp_path)
    monkeypatch.setattr(slack_export, "MAX_MEMBER_BYTES", 64 << 10)  # 64 KiB stands in for 64 MiB
    big = tmp_path / "export" / DAY
    big.write_bytes(
        b"[" + b"".join(MESSAGE.replace("Friday", f"day {n}").encode() for n in range(2000)) + b"{}]"
    )
    ids, errors = _read(tmp_path / "export")
    assert [e.path for e in errors] == [str(big)] and "larger than" in str(errors[0])
    assert ids == original  # the export without that day
