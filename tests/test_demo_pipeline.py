"""The main job on the demo workspace finds what was planted there (fixtures/demo_meta/expected.json)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.clirunner import followthrough, followthrough_process
from tests.conftest import DEMO, DEMO_EXPECTED

EXPECTED = DEMO_EXPECTED
GOLDEN = Path(__file__).resolve().parent / "golden" / "demo-items.jsonl"
GOLDEN_FIELDS = (
    "message_id",
    "type",
    "evidence",
    "owner",
    "due",
    "status",
    "action",
    "due_text",
    "deal",
    "flags",
)


def _flat(item: dict[str, Any]) -> dict[str, Any]:
    """An exported item (the API's shape) as the flat row these checks read: the primary evidence quote
    and its offsets, the owner's email (else name), the deal's CRM id."""
    deal = item["deal"] or {}
    return {
        **{k: item[k] for k in ("id", "message_id", "type", "due", "status", "action", "due_text")},
        **{k: item[k] for k in ("counterparty", "source", "thread_id", "confidence", "link_method", "flags")},
        **{k: item[k] for k in ("evidence", "owner", "char_start", "char_end", "alignment")},
        "deal": deal.get("crm_id"),
    }


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("demo")
    db = tmp / "demo.db"
    expected = json.loads(EXPECTED.read_text())
    as_of = expected["as_of"]
    run = followthrough_process("--as-of", as_of, "run", "fixtures/demo", "--json", db=db)  # the real command
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    text_run = followthrough("--as-of", as_of, "run", "fixtures/demo", db=db)
    export = followthrough("export", "--format", "jsonl", db=db)
    assert export.returncode == 0, export.stderr
    rows = [_flat(json.loads(line)) for line in export.stdout.splitlines() if line.strip()]
    return {
        "expected": expected,
        "report": json.loads(run.stdout),
        "text": text_run.stdout,
        "rows": rows,
        "db": db,
    }


def _find(rows: list[dict[str, Any]], item: dict[str, Any]) -> dict[str, Any] | None:
    """The exported row of a planted item. A saying merged into another commitment (``merged_into``)
    keeps its row, status ``merged``, but its evidence moved to the survivor: it is found by its
    document, owner and due date."""
    needle = item["evidence_contains"].lower()
    for row in rows:
        if row["type"] != item["type"]:
            continue
        if item.get("message_id") and row["message_id"] != item["message_id"]:
            continue
        if item.get("file") and not row["message_id"].startswith(Path(item["file"]).name + "#"):
            continue
        if item.get("merged_into"):
            if row["status"] == "merged" and (row["owner"], row["due"]) == (item["owner_email"], item["due"]):
                return row
        elif needle in (row["evidence"] or "").lower():
            return row
    return None


def _show(demo_run: dict[str, Any], cid: int) -> dict[str, Any]:
    shown = followthrough(
        "--as-of", demo_run["expected"]["as_of"], "commitments", "show", str(cid), "--json", db=demo_run["db"]
    )
    assert shown.returncode == 0, shown.stderr
    view: dict[str, Any] = json.loads(shown.stdout)
    return view


def test_every_planted_item_is_found_with_owner_due_and_deal(demo_run: dict[str, Any]) -> None:
    rows = demo_run["rows"]
    problems = []
    for item in demo_run["expected"]["items"]:
        row = _find(rows, item)
        if row is None:
            problems.append(f"missing {item['type']}: {item['evidence_contains']!r}")
            continue
        if item.get("owner_email") and row["owner"] != item["owner_email"]:
            problems.append(
                f"owner {row['owner']!r} != {item['owner_email']!r} for {item['evidence_contains']!r}"
            )
        if "due" in item and row["due"] != item["due"]:
            problems.append(f"due {row['due']!r} != {item['due']!r} for {item['evidence_contains']!r}")
        if "deal" in item and row["deal"] != item["deal"]:
            problems.append(f"deal {row['deal']!r} != {item['deal']!r} for {item['evidence_contains']!r}")
    assert not problems, "\n".join(problems)


def test_the_extracted_set_is_exactly_the_expected_one(demo_run: dict[str, Any]) -> None:
    """Every exported item is one of expected.json's, each once: no extra item, no missing one."""
    rows = [r for r in demo_run["rows"] if "ungrounded" not in r["flags"]]
    expected = demo_run["expected"]["items"]
    claimed: dict[int, str] = {}
    for item in expected:
        row = _find(rows, item)
        assert row is not None, f"missing {item['type']}: {item['evidence_contains']!r}"
        assert row["id"] not in claimed, (
            f"{item['evidence_contains']!r} and {claimed[row['id']]!r} are one row"
        )
        claimed[row["id"]] = item["evidence_contains"]
    extra = [f"{r['type']}: {r['evidence']!r}" for r in rows if r["id"] not in claimed]
    assert not extra, "extracted but not expected:\n" + "\n".join(extra)
    assert len(rows) == len(expected)


def test_demo_items_match_the_golden_file(demo_run: dict[str, Any]) -> None:
    """Every field a user sees of every demo item, so no change to the extractor goes unnoticed.

    After an intended change, regenerate with ``UPDATE_GOLDEN=1 pytest tests/test_demo_pipeline.py`` and
    review the diff of tests/golden/demo-items.jsonl.
    """
    got = sorted(
        json.dumps({k: r.get(k) for k in GOLDEN_FIELDS}, ensure_ascii=False, sort_keys=True)
        for r in demo_run["rows"]
    )
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text("".join(line + "\n" for line in got), encoding="utf-8")
    want = GOLDEN.read_text(encoding="utf-8").splitlines()
    assert got == want, "demo items changed: review, then UPDATE_GOLDEN=1 to accept"


def test_customer_promises_are_theirs_and_out_of_our_lists(demo_run: dict[str, Any]) -> None:
    theirs = [i for i in demo_run["expected"]["items"] if i.get("customer_promise")]
    assert theirs
    listed = json.loads(
        followthrough(
            "--as-of", demo_run["expected"]["as_of"], "commitments", "list", "--json", db=demo_run["db"]
        ).stdout
    )
    open_quotes = " ".join(str(c) for c in listed).lower()
    for item in theirs:
        row = _find(demo_run["rows"], item)
        assert row is not None
        assert row["status"] == "waiting" and "customer_promise" in row["flags"]
        assert row["owner"] == item["owner_email"]
        assert item["evidence_contains"].lower() not in open_quotes


def test_noise_is_not_extracted(demo_run: dict[str, Any]) -> None:
    for noise in demo_run["expected"].get("not_extracted", []):
        hits = [r for r in demo_run["rows"] if noise.lower() in (r["evidence"] or "").lower()]
        assert not hits, f"noise extracted: {noise!r}"


def test_each_item_once(demo_run: dict[str, Any]) -> None:
    keys = [(r["message_id"], r["type"], r["char_start"], r["char_end"]) for r in demo_run["rows"]]
    assert len(keys) == len(set(keys))


def test_report_names_overdue_and_unlinked(demo_run: dict[str, Any]) -> None:
    expected = demo_run["expected"]
    attention = demo_run["report"]["attention"]
    overdue_quotes = " ".join(" ".join(e["quote"] for e in c["quotes"]) for c in attention["overdue"]).lower()
    for item in expected["items"]:
        if item.get("overdue") and not item.get("fulfilled"):
            assert item["evidence_contains"].lower() in overdue_quotes, item
    unlinked_quotes = " ".join(
        " ".join(e["quote"] for e in c["quotes"]) for c in attention["unlinked"]
    ).lower()
    for item in expected["items"]:
        if item["type"] == "commitment" and item.get("deal") is None and "deal" in item:
            assert item["evidence_contains"].lower() in unlinked_quotes, item
    text = demo_run["text"]
    assert "Overdue (" in text and "Unlinked to any deal (" in text and "By owner" in text


def test_rerun_adds_nothing(demo_run: dict[str, Any]) -> None:
    again = followthrough(
        "--as-of", demo_run["expected"]["as_of"], "run", "fixtures/demo", "--json", db=demo_run["db"]
    )
    rep = json.loads(again.stdout)["run"]
    assert rep["documents_new"] == 0
    assert rep["extracted"] == 0
    export = followthrough("export", "--format", "jsonl", db=demo_run["db"])
    assert len(export.stdout.splitlines()) == len(demo_run["rows"])


def test_done_sticks_and_leaves_the_open_list(demo_run: dict[str, Any]) -> None:
    db = demo_run["db"]
    as_of = demo_run["expected"]["as_of"]
    listed = json.loads(followthrough("--as-of", as_of, "commitments", "list", "--json", db=db).stdout)
    assert listed
    cid = str(listed[0]["id"])
    assert followthrough("commitments", "done", cid, db=db).returncode == 0
    shown = json.loads(followthrough("commitments", "show", cid, "--json", db=db).stdout)
    assert shown["status"] == "done"
    again = json.loads(followthrough("--as-of", as_of, "commitments", "list", "--json", db=db).stdout)
    assert cid not in {str(c["id"]) for c in again}
    assert followthrough("commitments", "reopen", cid, db=db).returncode == 0


def test_fulfilled_items_are_closed_by_the_later_message(demo_run: dict[str, Any]) -> None:
    for item in demo_run["expected"]["items"]:
        row = _find(demo_run["rows"], item)
        assert row is not None
        if item.get("fulfilled"):
            assert row["status"] == "done", item["evidence_contains"]
            assert "fulfilled" in row["flags"]
        elif item.get("merged_into"):
            assert row["status"] == "merged", item["evidence_contains"]
        elif item["type"] == "commitment":
            want = "waiting" if item.get("customer_promise") else "open"
            assert row["status"] == want, item["evidence_contains"]


def test_unanswered_requests_are_surfaced_and_answered_ones_are_not(demo_run: dict[str, Any]) -> None:
    """A request one of ours answered in its thread is closed (``answered``, or ``done`` when a later
    message delivered it); the unanswered one stays open with its age against the 24h target."""
    unanswered = demo_run["report"]["attention"]["unanswered_requests"]
    quotes = " ".join(" ".join(e["quote"] for e in c["quotes"]) for c in unanswered).lower()
    requests = [i for i in demo_run["expected"]["items"] if i["type"] == "request"]
    assert any(i.get("answered") is False for i in requests)
    for item in requests:
        row = _find(demo_run["rows"], item)
        assert row is not None
        if item.get("answered") is False:
            assert item["evidence_contains"].lower() in quotes, item
            assert row["status"] == "open", item
        elif item.get("answered"):
            assert item["evidence_contains"].lower() not in quotes, item
            assert row["status"] in ("answered", "done"), item
    assert [c["overdue_response"] for c in unanswered] == [True]
    assert unanswered[0]["age_hours"] > unanswered[0]["response_hours"] == 24
    assert "Customer requests waiting for our answer (1)" in demo_run["text"]
    assert "age 148h / target 24h" in demo_run["text"]


def test_same_input_from_another_directory_adds_nothing(demo_run: dict[str, Any]) -> None:
    """Document ids do not depend on the working directory or on how the path was written."""
    again = followthrough(
        "--as-of", demo_run["expected"]["as_of"], "run", DEMO.resolve(), "--json", db=demo_run["db"]
    )
    assert json.loads(again.stdout)["run"]["documents_new"] == 0


def test_show_ranks_as_of_the_given_date_and_shows_history(demo_run: dict[str, Any]) -> None:
    db, as_of = demo_run["db"], demo_run["expected"]["as_of"]
    overdue = demo_run["report"]["attention"]["overdue"][0]
    shown = json.loads(
        followthrough("--as-of", as_of, "commitments", "show", str(overdue["id"]), "--json", db=db).stdout
    )
    assert shown["overdue_days"] == overdue["overdue_days"] < 60, "days overdue count from --as-of, not today"
    followthrough(
        "--as-of", as_of, "commitments", "snooze", str(overdue["id"]), "--until", "2026-03-20", db=db
    )
    text = followthrough("--as-of", as_of, "commitments", "show", str(overdue["id"]), db=db).stdout
    assert "history" in text and "snoozed" in text
    followthrough("--as-of", as_of, "commitments", "reopen", str(overdue["id"]), db=db)


def test_a_promise_repeated_in_the_follow_up_email_is_one_commitment_with_two_evidences(
    demo_run: dict[str, Any],
) -> None:
    """Marco's 25-seat quote (Initech notes, then his email the next morning) and Priya's residency
    write-up (the Umbrella transcript, then her email two days later): each is one open commitment,
    seen in 2 sources, with the meeting's quote and the email's, each grounded in its own document."""
    merged = [i for i in demo_run["expected"]["items"] if i.get("merged_into")]
    assert len(merged) == 2 and {i["source"] for i in merged} == {"meeting"}
    rows = demo_run["rows"]
    for item in merged:
        target = item["merged_into"]
        survivor = next(
            i for i in demo_run["expected"]["items"] if i.get("message_id") == target["message_id"]
        )
        row = _find(rows, survivor)
        assert row is not None and row["status"] == "open"
        shown = _show(demo_run, row["id"])
        assert shown["sources"] == 2
        quotes = {e["source"]: e for e in shown["quotes"]}
        assert set(quotes) == {"email", "meeting"}
        assert target["evidence_contains"] in quotes["email"]["quote"]
        assert item["evidence_contains"] in quotes["meeting"]["quote"]
        assert quotes["meeting"]["message_id"].startswith(Path(item["file"]).name + "#")
        assert all(e["alignment"] == "exact" and e["char_start"] is not None for e in quotes.values())
        assert (shown["owner"], shown["due"]) == (survivor["owner_email"], survivor["due"])
        assert shown["deal"]["crm_id"] == item["deal"] == survivor["deal"]
        gone = _show(demo_run, _find(rows, item)["id"])  # type: ignore[index]
        assert gone["status"] == "merged" and gone["merged_into"] == row["id"]
        assert gone["sources"] == 1 and [e["quote"] for e in gone["quotes"]] == [quotes["meeting"]["quote"]]
        text = followthrough(
            "--as-of", demo_run["expected"]["as_of"], "commitments", "show", str(row["id"]), db=demo_run["db"]
        ).stdout
        assert "2 sources" in text and f"commitments split {row['id']}" in text
    # one row in the open list per promise, not two
    listed = json.loads(
        followthrough(
            "--as-of", demo_run["expected"]["as_of"], "commitments", "list", "--json", db=demo_run["db"]
        ).stdout
    )
    for item in merged:
        quote = item["evidence_contains"].lower()
        holders = [c for c in listed if any(quote in e["quote"].lower() for e in c["quotes"])]
        assert len(holders) == 1 and holders[0]["sources"] == 2


def test_the_silent_account_is_surfaced_and_the_others_are_not(demo_run: dict[str, Any]) -> None:
    expected = demo_run["expected"]["accounts"]
    silent = [a for a in expected if a["silent"]]
    assert silent, "the demo plants a silent account"
    reported = demo_run["report"]["attention"]["silent_accounts"]
    assert [a["name"] for a in reported] == [a["account"] for a in silent]
    for got, want in zip(reported, silent, strict=True):
        assert got["last_touch_by_us"].startswith(want["last_touch_by_us"])
        assert got["last_touch_by_them"].startswith(want["last_touch_by_them"])
        assert got["days_since_touch"] > got["silent_after_days"] and got["open_deals"] == 1
    text = demo_run["text"]
    section = text.split(f"Silent accounts ({len(silent)})", 1)[1].split("By owner", 1)[0]
    for want in silent:
        assert want["account"] in section and f"last from us {want['last_touch_by_us']}" in section
    # the deal owner's digest names it too
    digest = followthrough(
        "--as-of", demo_run["expected"]["as_of"], "digest", "--owner", "marco", db=demo_run["db"]
    )
    assert digest.returncode == 0 and all(a["account"] in digest.stdout for a in silent)


def test_accounts_lists_every_demo_account_with_its_last_touch(demo_run: dict[str, Any]) -> None:
    listed = followthrough("--as-of", demo_run["expected"]["as_of"], "accounts", "--json", db=demo_run["db"])
    assert listed.returncode == 0, listed.stderr
    got = {a["name"]: a for a in json.loads(listed.stdout)}
    expected = demo_run["expected"]["accounts"]
    assert set(got) == {a["account"] for a in expected}
    for want in expected:
        account = got[want["account"]]
        assert account["last_touch_by_us"].startswith(want["last_touch_by_us"]), want
        assert account["last_touch_by_them"], want
        assert account["silent"] is want["silent"], want


def test_what_customers_owe_us_is_waiting_on_customer(demo_run: dict[str, Any]) -> None:
    """The customers' own promises (two action items in the Globex notes, Nina's "I'll get you a
    decision" by email) are listed as waiting on customer, with their due dates, and only there."""
    theirs = [i for i in demo_run["expected"]["items"] if i.get("customer_promise")]
    assert {i["source"] for i in theirs} >= {"meeting", "email"}
    waiting = demo_run["report"]["attention"]["waiting_on_customer"]
    quotes = [" ".join(e["quote"] for e in c["quotes"]).lower() for c in waiting]
    assert len(waiting) == len(theirs)
    for item in theirs:
        (got,) = [c for c, q in zip(waiting, quotes, strict=True) if item["evidence_contains"].lower() in q]
        assert got["owner"] == item["owner_email"] and got["due"] == item["due"]
    text = demo_run["text"]
    section = text.split("Waiting on customer (", 1)[1].split("Silent accounts", 1)[0]
    assert section.startswith(f"{len(theirs)}, ")
    listed = json.loads(
        followthrough(
            "--as-of",
            demo_run["expected"]["as_of"],
            "commitments",
            "list",
            "--status",
            "waiting",
            "--json",
            db=demo_run["db"],
        ).stdout
    )
    assert sorted(c["owner"] for c in listed) == sorted(i["owner_email"] for i in theirs)
