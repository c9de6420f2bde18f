"""Issue 11: one home for "who is who".

One ``is_internal`` (:mod:`followthrough.types`) for the pipeline, both extractors and the store; one
people resolver (:mod:`extractor.people`) answering with one frozen :class:`~extractor.people.Person`;
the store's pure rules and its persistence told apart by name (``*_rules`` beside the store mixins).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from extractor import due_dates
from extractor.people import NOBODY, Directory, Person
from followthrough.pipeline import classify_participants
from followthrough.types import Participant, Segment, SourceDocument, domain_of, is_internal
from store import deal_rules, fulfilment_rules

REPO = Path(__file__).resolve().parent.parent
WHEN = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)


def _email(*people: Participant, text: str = "Hello.") -> SourceDocument:
    return SourceDocument(
        source="email", external_id="m1", occurred_at=WHEN, participants=list(people), text=text
    )


def _meeting() -> SourceDocument:
    text = "Marco: I'll send the deck by Friday.\nDana: Thanks, could you add pricing?\n"
    cut = text.index("Dana:")
    return SourceDocument(
        source="meeting",
        external_id="call1",
        occurred_at=WHEN,
        participants=[
            Participant(name="Marco Rossi", role="speaker"),
            Participant(name="Dana Lee", email="dana@acme.com", role="speaker"),
        ],
        text=text,
        segments=[
            Segment(speaker="Marco Rossi", text=text[:cut], char_start=0, char_end=cut),
            Segment(speaker="Dana Lee", text=text[cut:], char_start=cut, char_end=len(text)),
        ],
    )


# ---------------------------------------------------------------- one is_internal


def test_the_duplicated_domain_checks_are_gone() -> None:
    """The suffix test of "ours" is written once, in followthrough/types.py."""
    suffix = re.compile(r"""endswith\(\s*["']\.["']\s*\+""")
    copies = [
        str(path.relative_to(REPO))
        for folder in ("extractor", "followthrough", "store", "connectors")
        for path in (REPO / folder).rglob("*.py")
        if suffix.search(path.read_text(encoding="utf-8"))
    ]
    assert copies == ["followthrough/types.py"]
    assert deal_rules.domain_of is domain_of
    assert not hasattr(fulfilment_rules, "_ours")


@pytest.mark.parametrize(
    ("email", "ours"),
    [
        ("marco@northwind.io", True),
        ("Marco@NorthWind.IO", True),
        ("ana@eu.northwind.io", True),
        ("eve@northwind.io.evil.com", False),
        ("eve@evilnorthwind.io", False),
        ("dana@acme.com", False),
    ],
)
def test_every_caller_agrees_on_ours(email: str, ours: bool) -> None:
    domains = {"northwind.io"}
    assert is_internal(email, domains) is ours
    assert Directory(domains, None).is_internal(Participant(email=email)) is ours
    assert deal_rules.LinkIndex([], [], {}, internal_domains=domains).is_internal(email) is ours
    later = fulfilment_rules.LaterText("m2", [fulfilment_rules.Sentence("Done.", 0, None, None)], None, email)
    assert fulfilment_rules.by_us(later.sentences[0], later, None, None, domains) is ours
    doc = classify_participants(_email(Participant(email=email, role="sender")), domains)
    assert doc.participants[0].internal is ours


def test_a_mark_wins_and_an_address_without_a_domain_stays_unknown() -> None:
    world = Directory({"@NorthWind.io"}, None)  # configured any case, with a leading "@"
    assert world.is_internal(Participant(email="eve@acme.com", internal=True)) is True
    assert world.is_internal(Participant(name="Marco")) is None
    assert world.is_internal(Participant(email="marco")) is None
    assert Directory(None, None).is_internal(Participant(email="marco@northwind.io")) is None
    doc = classify_participants(_email(Participant(email="marco", role="sender")), {"northwind.io"})
    assert doc.participants[0].internal is None


# ---------------------------------------------------------------- one resolver, one answer


def test_the_old_resolvers_are_gone() -> None:
    assert importlib.util.find_spec("extractor.offline.people") is None
    assert due_dates.__all__ == ["normalize_due"]
    for old in ("store.linking", "store.fulfilment", "store.fulfilled", "extractor.resolve"):
        assert importlib.util.find_spec(old) is None, old


def test_a_person_is_frozen_and_typed() -> None:
    person = Person("Dana Lee", "dana@acme.com", None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        person.email = "x@y.z"  # type: ignore[misc]
    assert person.outsider
    assert not NOBODY.outsider
    assert (NOBODY.label, NOBODY.email, NOBODY.participant, NOBODY.internal) == (None, None, None, None)


def test_find_answers_with_the_participant_and_the_directory_email() -> None:
    doc = _meeting()
    people = Directory({"northwind.io"}, {"Marco Rossi": "marco@northwind.io"}).people(doc)
    marco = people.find("Marco")
    assert (marco.label, marco.email, marco.internal) == ("Marco Rossi", "marco@northwind.io", True)
    assert marco.participant is not None and marco.participant.name == "Marco Rossi"
    dana = people.find("@dana")
    assert dana.participant is doc.participants[1] and dana.internal is False
    stranger = people.find("Tom")
    assert stranger == Person("Tom", None, None, None) and stranger.outsider
    assert people.ours_present


def test_one_author_at_for_both_extractors() -> None:
    """The speaker at an offset, with the directory's email: what both the LLM and the offline path see."""
    doc = _meeting()
    people = Directory({"northwind.io"}, {"Marco Rossi": "marco@northwind.io"}).people(doc)
    author = people.author_at(0)
    assert (author.label, author.email, author.internal) == ("Marco Rossi", "marco@northwind.io", True)
    said = people.resolve("I", offset=0, default_author=True)
    assert said == author
    assert people.resolve(None, offset=doc.text.index("Dana:"), default_author=True).email == "dana@acme.com"


def test_resolve_keeps_the_llm_rules() -> None:
    doc = _email(
        Participant(name="Marco Rossi", email="marco@northwind.io", role="sender"),
        Participant(name="Dana Lee", email="dana@acme.com", role="recipient"),
        Participant(email="elena.vasquez@globex.com", role="cc"),
    )
    people = Directory({"northwind.io"}, {"Raj Patel": "raj@acme.com"}).people(doc)
    assert people.resolve(None, offset=None, default_author=False) is NOBODY
    assert people.resolve("we", offset=None, default_author=False).participant is doc.participants[0]
    smith = people.resolve("Dana Smith", offset=None, default_author=False)
    assert smith.outsider and smith.label == "Dana Smith" and smith.email is None
    assert people.resolve("Dana", offset=None, default_author=False).participant is doc.participants[1]
    elena = people.resolve("elena.vasquez", offset=None, default_author=False)  # an address, no domain
    assert elena.participant is doc.participants[2]
    raj = people.resolve("Raj Patel", offset=None, default_author=False)
    assert (raj.email, raj.outsider, raj.internal) == ("raj@acme.com", True, False)
    assert people.addressee().participant is doc.participants[1]


def test_the_offline_cache_key_covers_the_shared_people_resolver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change to who-is-who must re-extract: the rules digest hashes extractor/people.py too."""
    import ast
    import shutil
    from importlib import resources

    from extractor.offline import identity

    real = Path(str(resources.files("extractor")))
    offline_imports = {
        node.module
        for path in (real / "offline").glob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("extractor.")
    }
    shared = {m.removeprefix("extractor.") + ".py" for m in offline_imports if ".offline" not in m}
    shared.discard("base.py")  # the base class decides nothing about what is found
    assert shared and shared <= set(identity.RULE_MODULES_OUTSIDE), shared

    copy = tmp_path / "extractor"
    shutil.copytree(real, copy, ignore=shutil.ignore_patterns("__pycache__", "*.json", "*.gz"))
    roots = {"extractor": copy, "extractor.offline": copy / "offline"}
    monkeypatch.setattr(identity.resources, "files", lambda name: roots[name])

    def digest() -> str:
        identity.rules_digest.cache_clear()
        return identity.rules_digest()

    try:
        before = digest()
        (copy / "people.py").write_text((copy / "people.py").read_text() + "\n# a change\n")
        assert digest() != before
    finally:
        monkeypatch.undo()
        identity.rules_digest.cache_clear()
