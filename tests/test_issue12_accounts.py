"""Issue 12: people, deals and accounts found the way people type them; accounts and silent accounts.

A small world on SQLite and PostgreSQL, as of 2026-03-16:

- Acme Corp (tier "Tier 1", $120k open): we last wrote on 2026-03-01 (15 days: over tier 1's
  14), Dana wrote to us since: silent (a message from them is not a touch by us);
- Globex (Mid-Market, $60k): we wrote 20 days ago, under the default 30: not silent;
- Initech ($9k): we wrote in a Slack thread 40 days ago, the customer replied yesterday: silent
  (the thread's time is the customer's reply, not ours);
- Hooli (tier 1, no deal: watched by its tier): a meeting with its contact at a gmail address
  6 days ago: not silent;
- Vandelay (tier 1, no deal, never touched): silent; Soylent (a closed deal only): not watched.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from followthrough.api import create_app
from followthrough.config import Settings, silent_days
from followthrough.types import (
    Account,
    Contact,
    CrmData,
    Deal,
    Participant,
    RunStatus,
    Segment,
    SourceDocument,
    TieredValue,
)
from store import AccountFilter, CommitmentFilter, Store, Unresolved
from store.api_tokens import ApiTokens
from tests.api_support import BACKENDS, FakeExtractor, LiveServer, database
from tests.clirunner import followthrough
from tests.store_fixtures import make_item, store, store_url  # noqa: F401

AS_OF = date(2026, 3, 16)
OURS = {"northwind.io"}
SILENT = TieredValue(30.0, (("1", 14.0),))

CRM = CrmData(
    accounts=[
        Account(name="Acme Corp", domains=["acme.com"], tier="Tier 1"),
        Account(name="Globex", domains=["globex.com"], tier="Mid-Market"),
        Account(name="Initech", domains=["initech.com"]),
        Account(name="Hooli", domains=["hooli.xyz"], tier="1"),
        Account(name="Vandelay Industries", domains=["vandelay.com"], tier="1", crm_id="ACC-9"),
        Account(name="Soylent", domains=["soylent.com"]),
    ],
    contacts=[
        Contact(email="dana@acme.com", name="Dana Lee", account_name="Acme Corp"),
        Contact(email="hank@globex.com", name="Hank Scorpio", account_name="Globex"),
        Contact(email="gavin.belson@gmail.com", name="Gavin Belson", account_name="Hooli"),
    ],
    deals=[
        Deal(
            crm_id="D-100",
            name="Acme Data Platform",
            account_name="Acme Corp",
            stage="Negotiation",
            amount=120000,
            owner_email="marco@northwind.io",
        ),
        Deal(
            crm_id="D-200",
            name="Globex Pilot",
            account_name="Globex",
            stage="Proposal",
            amount=60000,
            owner_email="priya@northwind.io",
        ),
        Deal(
            crm_id="D-300",
            name="Initech Starter",
            account_name="Initech",
            stage="Evaluation",
            amount=9000,
            owner_email="marco@northwind.io",
        ),
        Deal(
            crm_id="D-400",
            name="Soylent Renewal",
            account_name="Soylent",
            stage="Closed Won",
            amount=50000,
            owner_email="marco@northwind.io",
        ),
    ],
)


def _at(days_before: int, hour: int = 10) -> datetime:
    return datetime.combine(AS_OF - timedelta(days=days_before), datetime.min.time(), UTC).replace(hour=hour)


def _person(name: str, email: str, role: str) -> Participant:
    return Participant(name=name, email=email, role=role, internal=email.endswith("@northwind.io"))  # type: ignore[arg-type]


def _email(key: str, days: int, sender: tuple[str, str], *to: tuple[str, str], text: str) -> SourceDocument:
    people = [_person(*sender, "sender"), *(_person(*t, "recipient") for t in to)]
    return SourceDocument(
        source="email",
        external_id=f"<{key}@mail>",
        thread_id=f"<{key}@mail>",
        occurred_at=_at(days),
        title=key,
        participants=people,
        segments=[
            Segment(speaker=sender[0], speaker_email=sender[1], char_start=0, char_end=len(text), text=text)
        ],
        text=text,
    )


MARCO = ("Marco Rossi", "marco@northwind.io")
PRIYA = ("Priya Shah", "priya@northwind.io")
DAN = ("Dan Wu", "dan@northwind.io")
DANA = ("Dana Lee", "dana@acme.com")
HANK = ("Hank Scorpio", "hank@globex.com")
BILL = ("Bill Lumbergh", "bill@initech.com")


def _slack_thread() -> SourceDocument:
    """Marco wrote 40 days ago; the customer answered yesterday (the thread's time)."""
    ours, theirs = "I'll send the Initech starter quote.", "Any news on the quote?"
    text = f"{ours}\n{theirs}"
    return SourceDocument(
        source="slack",
        external_id="initech-shared/1700000000.000100",
        thread_id="initech-shared/1700000000.000100",
        occurred_at=_at(1),
        participants=[_person(*MARCO, "sender"), _person(*BILL, "speaker")],
        segments=[
            Segment(
                speaker="Marco Rossi",
                speaker_email=MARCO[1],
                char_start=0,
                char_end=len(ours),
                text=ours,
                occurred_at=_at(40),
            ),
            Segment(
                speaker="Bill Lumbergh",
                speaker_email=BILL[1],
                char_start=len(ours) + 1,
                char_end=len(text),
                text=theirs,
                occurred_at=_at(1),
            ),
        ],
        text=text,
    )


def _meeting() -> SourceDocument:
    text = "Gavin: we are evaluating.\nMarco: great."
    return SourceDocument(
        source="meeting",
        external_id="hooli-sync.md#hooli-sync",
        occurred_at=_at(6),
        title="Hooli sync",
        participants=[
            Participant(name="Marco Rossi", role="attendee"),  # name only: found in the directory
            Participant(name="Gavin Belson", email="gavin.belson@gmail.com", role="attendee", internal=False),
        ],
        segments=[Segment(speaker="Gavin", char_start=0, char_end=len(text), text=text)],
        text=text,
    )


def build(store: Store) -> dict[str, int]:  # noqa: F811
    """The world of the module docstring; returns commitment ids by name."""
    store.upsert_crm(CRM)
    run = store.start_run(extractor="offline", model="m", prompt_version="v1")
    ids: dict[str, int] = {}

    def add(doc: SourceDocument, name: str | None = None, internal: bool = False, **item: Any) -> None:
        doc_id, _ = store.add_document(doc)
        items = [make_item(doc, doc.text.split("\n")[0].rstrip("."), **item)] if name else []
        for it in items if internal else []:
            it.counterparty = it.counterparty_email = None
        found = store.record_extraction(run, doc_id, "k", items)
        if name:
            ids[name] = found[0]

    add(_email("acme-1", 15, MARCO, DANA, text="I'll send the order form by Friday."), "acme", due=None)
    add(_email("acme-2", 2, DANA, MARCO, text="Still waiting for the order form."))
    add(_email("internal", 0, MARCO, PRIYA, DAN, text="Acme is quiet, I know."))
    add(
        _email("globex-1", 20, PRIYA, HANK, text="I'll share the pilot plan."),
        "globex",
        owner="Priya Shah",
        owner_email=PRIYA[1],
        due=None,
    )
    add(_slack_thread(), "initech", due=None)
    add(_meeting())
    note = SourceDocument(
        source="slack",
        external_id="internal/1.000100",
        thread_id="internal/1.000100",
        occurred_at=_at(3),
        participants=[Participant(name="Priya", role="sender")],
        segments=[Segment(speaker="Priya", char_start=0, char_end=30, text="I'll write up the rollout plan")],
        text="I'll write up the rollout plan",
    )
    add(note, "priya-by-name", internal=True, owner="Priya", owner_email=None, due=None)
    store.finish_run(run, RunStatus.OK)
    store.link_commitments(OURS)
    return ids


@pytest.fixture
def world(store: Store) -> tuple[Store, dict[str, int]]:  # noqa: F811
    return store, build(store)


def _ids(s: Store, **kw: Any) -> set[int]:
    return {c.id for c in s.list_commitments(CommitmentFilter(as_of=AS_OF, limit=500, **kw)).items}


# ---------------------------------------------------------------- owners, deals, accounts


@pytest.mark.parametrize(
    "typed", ["marco@northwind.io", "MARCO@Northwind.IO", "marco", "Marco", "marco rossi", "Rossi"]
)
def test_an_owner_is_found_by_email_local_part_first_or_full_name(
    world: tuple[Store, dict[str, int]], typed: str
) -> None:
    s, ids = world
    assert s.find_person(typed).email == "marco@northwind.io"
    assert _ids(s, owner=typed) == {ids["acme"], ids["initech"]}


def test_items_stored_under_a_name_only_belong_to_the_person_with_that_name(
    world: tuple[Store, dict[str, int]],
) -> None:
    s, ids = world
    assert _ids(s, owner="priya") == {ids["globex"], ids["priya-by-name"]}
    assert _ids(s, owner="priya@northwind.io") == {ids["globex"], ids["priya-by-name"]}


def test_an_unknown_owner_is_an_error_that_lists_the_owners_never_an_empty_list(
    world: tuple[Store, dict[str, int]],
) -> None:
    s, _ = world
    for typed in ("zz", "nobody@example.com"):
        with pytest.raises(
            Unresolved, match=r"^no one matches .*; known owners: .*marco@northwind.io \(Marco Rossi\)"
        ) as e:
            s.list_commitments(CommitmentFilter(owner=typed, as_of=AS_OF))
        assert e.value.field == "owner" and "priya@northwind.io (Priya Shah)" in e.value.candidates


def test_an_ambiguous_owner_lists_who_it_could_be(world: tuple[Store, dict[str, int]]) -> None:
    s, _ = world
    assert s.find_person("dan").email == "dan@northwind.io"  # an exact first name beats the start of "Dana"
    with pytest.raises(Unresolved) as e:
        s.find_person("da")
    assert str(e.value).startswith("'da' matches 2: dan@northwind.io (Dan Wu), dana@acme.com (Dana Lee)")


def test_a_deal_is_found_by_its_crm_id_in_any_case_or_a_unique_part_of_its_name(
    world: tuple[Store, dict[str, int]],
) -> None:
    s, ids = world
    assert s.find_deal("d-100") == s.find_deal("data platform") == "D-100"
    assert _ids(s, deal="d-100") == _ids(s, deal="Data Platform") == {ids["acme"]}
    with pytest.raises(Unresolved, match=r"'d-' matches 4 deals: D-100 \(Acme Data Platform\)"):
        s.find_deal("d-")
    with pytest.raises(Unresolved, match=r"no deal matches 'zz'; deals: D-100 \(Acme Data Platform\), D-200"):
        _ids(s, deal="zz")


def test_the_account_filter_takes_a_name_part_crm_id_or_domain(world: tuple[Store, dict[str, int]]) -> None:
    s, ids = world
    for typed in ("acme", "Acme Corp", "acme.com", "dana@acme.com"):
        assert _ids(s, account=typed) == {ids["acme"]}, typed
    assert _ids(s, account="ACC-9") == set()  # Vandelay: an account, with no deal
    assert _ids(s, account="globex", owner="marco") == set()
    with pytest.raises(Unresolved, match="no account matches 'umbrella'; accounts: Acme Corp"):
        _ids(s, account="umbrella")


# ---------------------------------------------------------------- accounts and silence


def test_accounts_show_open_deals_items_and_the_last_touch_by_each_side(
    world: tuple[Store, dict[str, int]],
) -> None:
    s, _ = world
    views = {v.name: v for v in s.list_accounts(AccountFilter(as_of=AS_OF), SILENT, OURS).items}
    acme = views["Acme Corp"]
    assert (acme.open_deals, acme.open_amount, acme.open_items, acme.deal_owners) == (
        1,
        120000.0,
        1,
        ["marco@northwind.io"],
    )
    assert acme.last_touch_by_us == _at(15) and acme.last_touch_by_them == _at(2)
    initech = views["Initech"]
    assert initech.last_touch_by_us == _at(40) and initech.last_touch_by_them == _at(1)
    hooli = views["Hooli"]
    assert hooli.last_touch_by_us == hooli.last_touch_by_them == _at(6)  # a meeting, via a contact's gmail
    assert views["Soylent"].open_deals == 0 and not views["Soylent"].watched


def test_silent_accounts_are_ranked_by_what_is_at_stake(world: tuple[Store, dict[str, int]]) -> None:
    s, _ = world
    silent = s.silent_accounts(AS_OF, SILENT, OURS)
    assert [(a.name, a.days_since_touch, a.silent_after_days) for a in silent] == [
        ("Acme Corp", 15, 14),  # tier 1: silent after 14 days
        ("Initech", 40, 30),
        ("Vandelay Industries", None, 14),  # tier 1, never touched
    ]
    assert silent[0].reasons == ["$120k in 1 open deal", "tier 1 account", "15 days since we wrote or met"]
    assert [a.name for a in s.silent_accounts(AS_OF, SILENT, OURS, owner="marco")] == ["Acme Corp", "Initech"]
    assert s.silent_accounts(AS_OF, SILENT, OURS, owner="Priya Shah") == []
    # Acme is silent from its 14th day; ten days later Globex has had 30
    assert "Acme Corp" in {a.name for a in s.silent_accounts(AS_OF - timedelta(days=1), SILENT, OURS)}
    assert "Acme Corp" not in {a.name for a in s.silent_accounts(AS_OF - timedelta(days=2), SILENT, OURS)}
    later = {a.name for a in s.silent_accounts(AS_OF + timedelta(days=10), SILENT, OURS)}
    assert {"Globex", "Hooli"} <= later  # Globex: 30 days since; Hooli (tier 1): 16 since its meeting
    assert not {a.name for a in s.silent_accounts(AS_OF, TieredValue(60.0), OURS)} & {"Acme Corp", "Initech"}


def test_touches_after_the_as_of_date_do_not_count(world: tuple[Store, dict[str, int]]) -> None:
    s, _ = world
    acme = s.get_account(s.find_account("acme"), AS_OF - timedelta(days=16), SILENT, OURS).account
    assert acme.last_touch_by_us is None and acme.last_touch_by_them is None


def test_one_account_in_full(world: tuple[Store, dict[str, int]]) -> None:
    s, ids = world
    detail = s.get_account(s.find_account("acme.com"), AS_OF, SILENT, OURS)
    assert detail.account.name == "Acme Corp" and detail.account.silent
    assert [d.crm_id for d in detail.deals] == ["D-100"]
    assert [c.id for c in detail.items] == [ids["acme"]]


def test_the_filter_pages_through_every_account_once(world: tuple[Store, dict[str, int]]) -> None:
    s, _ = world
    seen, cursor = [], None
    while True:
        page = s.list_accounts(AccountFilter(as_of=AS_OF, limit=2, cursor=cursor), SILENT, OURS)
        seen += [a.name for a in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert sorted(seen) == sorted(a.name for a in CRM.accounts)
    silent = s.list_accounts(AccountFilter(as_of=AS_OF, silent=True), SILENT, OURS).items
    assert {a.name for a in silent} == {"Acme Corp", "Initech", "Vandelay Industries"}


def test_the_default_limits_come_from_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert silent_days().for_tier("Tier 1") == 14 and silent_days().for_tier("Mid-Market") == 30
    monkeypatch.setenv("FOLLOWTHROUGH_SILENT_DAYS", "45, enterprise=21")
    assert silent_days().for_tier("Enterprise") == 21 and silent_days().for_tier(None) == 45


# ---------------------------------------------------------------- the CLI


@pytest.fixture
def cli_db(tmp_path: Path) -> Iterator[Path]:
    db = tmp_path / "ft.db"
    with Store(f"sqlite:///{db}") as s:
        build(s)
    yield db


def _cli(db: Path, *args: str, width: int = 100) -> Any:
    return followthrough(
        "--as-of",
        AS_OF.isoformat(),
        "--company-domains",
        "northwind.io",
        *args,
        db=db,
        env={"COLUMNS": str(width)},
    )


def test_cli_owner_errors_list_the_candidates_and_exit_1(cli_db: Path) -> None:
    zz = _cli(cli_db, "commitments", "list", "--owner", "zz")
    assert zz.returncode == 1 and zz.stdout == ""
    assert zz.stderr.startswith("error: no one matches 'zz'; known owners: ") and zz.stderr.count("\n") == 1
    da = _cli(cli_db, "digest", "--owner", "da")
    assert (
        da.returncode == 1
        and "'da' matches 2: dan@northwind.io (Dan Wu), dana@acme.com (Dana Lee)" in da.stderr
    )
    deal = _cli(cli_db, "deals", "zz")
    assert deal.returncode == 1 and "no deal matches 'zz'; deals: D-100" in deal.stderr


def test_cli_list_by_deal_name_and_account(cli_db: Path) -> None:
    by_deal = json.loads(_cli(cli_db, "commitments", "list", "--deal", "data platform", "--json").stdout)
    by_account = json.loads(_cli(cli_db, "commitments", "list", "--account", "acme.com", "--json").stdout)
    assert [i["deal"]["crm_id"] for i in by_deal] == [i["deal"]["crm_id"] for i in by_account] == ["D-100"]
    priyas = json.loads(_cli(cli_db, "deals", "--owner", "Priya", "--json").stdout)
    assert [d["crm_id"] for d in priyas] == ["D-200"]
    one = _cli(cli_db, "deals", "d-100")
    assert one.returncode == 0 and "Deal D-100: 1 item(s)" in one.stdout


def test_cli_digest_names_the_person_and_lists_their_silent_accounts(cli_db: Path) -> None:
    digest = _cli(cli_db, "digest", "--owner", "marco")
    assert digest.returncode == 0, digest.stderr
    assert "Marco Rossi <marco@northwind.io>: 2 open commitment(s)" in digest.stdout
    assert "Your silent accounts (2)" in digest.stdout
    section = digest.stdout.split("Your silent accounts (2)", 1)[1]
    assert section.index("Acme Corp") < section.index("Initech")
    data = json.loads(_cli(cli_db, "digest", "--owner", "Marco Rossi", "--json").stdout)
    assert [a["name"] for a in data["silent_accounts"]] == ["Acme Corp", "Initech"]


@pytest.mark.parametrize("width", [80, 120])
def test_cli_accounts_list_and_one_account_at_80_and_120_columns(cli_db: Path, width: int) -> None:
    listing = _cli(cli_db, "accounts", width=width)
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert all(len(line) <= width for line in lines)
    acme = next(line for line in lines if "Acme" in line)
    assert "2026-03-01" in acme and "15d SILENT" in acme
    assert ("2026-03-14" in acme) is (width >= 120)  # at 80 columns the last touch by them goes first
    silent = _cli(cli_db, "accounts", "--silent", "--json")
    assert [a["name"] for a in json.loads(silent.stdout)] == ["Acme Corp", "Initech", "Vandelay Industries"]
    one = _cli(cli_db, "accounts", "initech", width=width)
    assert one.returncode == 0 and "last touch by us" in one.stdout and "2026-02-04" in one.stdout
    assert all(len(line) <= width for line in one.stdout.splitlines())


def test_cli_run_report_has_a_silent_accounts_section(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    run = followthrough("--as-of", "2026-04-20", "run", "fixtures/demo", db=db)
    assert run.returncode == 0, run.stderr
    section = run.stdout.split("Silent accounts (6)", 1)[1]
    # most at stake first: $240k, $180k, $150k, $120k, $85k, $18k open
    order = ["Umbrella Health", "Massive Dynamic", "Stark Logistics", "Acme Corp", "Globex", "Initech"]
    assert [section.index(name) for name in order] == sorted(section.index(name) for name in order)
    today = followthrough("--as-of", "2026-03-16", "run", "fixtures/demo", "--json", db=db)
    # on the demo date only the account planted silent (nobody of ours wrote since 2026-02-04)
    silent_today = json.loads(today.stdout)["attention"]["silent_accounts"]
    assert [a["name"] for a in silent_today] == ["Massive Dynamic"]


def test_cli_demo_digest_and_accounts_for_marco(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    assert followthrough("--as-of", "2026-03-16", "run", "fixtures/demo", db=db).returncode == 0
    digest = followthrough("--as-of", "2026-03-16", "digest", "--owner", "marco", "--json", db=db)
    data = json.loads(digest.stdout)
    assert sum(len(data[k]) for k in ("overdue", "due_soon", "other")) > 0
    accounts = json.loads(followthrough("--as-of", "2026-03-16", "accounts", "--json", db=db).stdout)
    assert {a["name"] for a in accounts} == {
        "Acme Corp",
        "Globex",
        "Initech",
        "Umbrella Health",
        "Stark Logistics",
        "Massive Dynamic",
    }
    assert all(a["last_touch_by_us"] and a["last_touch_by_them"] for a in accounts)
    assert [a["name"] for a in accounts if a["silent"]] == ["Massive Dynamic"]


# ---------------------------------------------------------------- the API


@pytest.fixture(params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    with database(request.param, "issue12_accounts", tmp_path) as url:
        with Store(url) as s:
            build(s)
            _, token = ApiTokens(s.engine).create("t")
        settings = Settings(database_url=url, as_of=AS_OF, company_domains=OURS)
        app = create_app(url, as_of=AS_OF, settings=settings, extractor=FakeExtractor())
        with LiveServer(app) as server:
            yield server.url, {"Authorization": f"Bearer {token}"}


def test_api_accounts_pages_filters_silent_and_shows_one(api: tuple[str, dict[str, str]]) -> None:
    url, headers = api
    with httpx.Client(base_url=url, headers=headers) as c:
        first = c.get("/v1/accounts", params={"limit": 4}).json()
        rest = c.get("/v1/accounts", params={"limit": 4, "cursor": first["next_cursor"]}).json()
        assert rest["next_cursor"] is None and len(first["items"]) + len(rest["items"]) == len(CRM.accounts)
        silent = c.get("/v1/accounts", params={"silent": "true"}).json()["items"]
        assert {a["name"] for a in silent} == {"Acme Corp", "Initech", "Vandelay Industries"}
        mine = c.get("/v1/accounts", params={"silent": "true", "owner": "marco"}).json()["items"]
        assert {a["name"] for a in mine} == {"Acme Corp", "Initech"}
        acme = next(a for a in first["items"] if a["name"] == "Acme Corp")
        one = c.get(f"/v1/accounts/{acme['id']}").json()
        assert one["account"]["last_touch_by_us"].startswith("2026-03-01")
        assert [d["crm_id"] for d in one["deals"]] == ["D-100"] and len(one["items"]) == 1
        assert c.get("/v1/accounts/999999").status_code == 404
        assert c.get("/v1/accounts", params={"cursor": "nope"}).status_code == 422


def test_api_owner_deal_and_account_are_found_or_a_422_with_the_candidates(
    api: tuple[str, dict[str, str]],
) -> None:
    url, headers = api
    with httpx.Client(base_url=url, headers=headers) as c:
        for params in ({"owner": "Marco"}, {"deal": "d-100"}, {"account": "acme"}):
            r = c.get("/v1/commitments", params=params)
            assert r.status_code == 200 and r.json()["items"], (params, r.text)
        r = c.get("/v1/commitments", params={"owner": "zz"})
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
        body = r.json()
        assert (
            body["detail"].startswith("no one matches 'zz'; known owners:")
            and "marco@northwind.io" in body["detail"]
        )
        assert body["errors"][0]["loc"] == ["query", "owner"]
        r = c.get("/v1/commitments", params={"deal": "acme data platform x"})
        assert r.status_code == 422 and "D-100 (Acme Data Platform)" in r.json()["detail"]
        r = c.get("/v1/accounts", params={"owner": "da"})
        assert r.status_code == 422 and "dana@acme.com (Dana Lee)" in r.json()["detail"]
