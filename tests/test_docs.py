"""Docs that cannot rot: the README's commands exist, and the public surface is pinned."""

from __future__ import annotations

import re

import typer.core
import typer.main

import followthrough.types
from followthrough.cli import app
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def _commands(group: typer.Typer) -> set[str]:
    """Every command the group runs, those loaded when run (followthrough.cli.lazy) included."""
    click_group = typer.main.get_command(group)
    assert isinstance(click_group, typer.core.TyperGroup)
    return set(click_group.list_commands(typer.Context(click_group)))


def test_quick_start_is_the_two_commands() -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert re.search(r"^make demo\b", quick, re.M) and re.search(r"^make test\b", quick, re.M)


def test_every_cli_command_is_in_the_readme_and_every_readme_command_exists() -> None:
    block = README.split("## CLI", 1)[1].split("```", 2)[1]
    listed = set(re.findall(r"^  ([a-z]+)\b", block, re.M))
    assert listed == _commands(app)
    sub = set(re.findall(r"commitments ([a-z|]+)", block))
    documented = {name for group in sub for name in group.split("|")}
    root = typer.main.get_command(app)
    assert isinstance(root, typer.core.TyperGroup)
    commitments = root.get_command(typer.Context(root), "commitments")
    assert isinstance(commitments, typer.core.TyperGroup)
    assert documented <= set(commitments.commands)


def test_makefile_targets_the_readme_names_exist() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    for target in set(re.findall(r"\bmake ([a-z]+)\b", README)):
        assert re.search(rf"^{target}:", makefile, re.M), target


def test_ci_runs_the_readme_test_command() -> None:
    """CI runs ``make check``, whose recipe runs ``make test`` (with the coverage floor)."""
    assert re.search(r"^make check$", (REPO / ".ci" / "run").read_text(encoding="utf-8"), re.M)
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\ncheck:", 1)[1].split("\n\n", 1)[0]
    assert re.search(r"^\t\$\(MAKE\) test\b", recipe, re.M), recipe


def test_shared_types_surface_is_pinned() -> None:
    assert sorted(followthrough.types.__all__) == [
        "Account",
        "AlignmentStatus",
        "CommitmentStatus",
        "Contact",
        "CrmData",
        "CrmRows",
        "Deal",
        "Evidence",
        "ExtractedItem",
        "ExtractionStatus",
        "ItemFlag",
        "ItemType",
        "Participant",
        "ParticipantRole",
        "RunStatus",
        "Segment",
        "SourceDocument",
        "SourceKind",
        "TieredValue",
        "compute_content_hash",
        "domain_of",
        "is_internal",
        "normalize_domains",
        "status_refusal",
        "tier_key",
        "tier_rank",
    ]
