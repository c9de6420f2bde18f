"""The attention report: what is overdue, due soon, unlinked, and who owns it."""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar, cast

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from followthrough.cli.tables import Column, fitted_table
from followthrough.cli.waiting import Waiting, render_waiting, waiting_on_customers
from followthrough.config import silent_days
from followthrough.pipeline import RunReport
from followthrough.types import CommitmentStatus
from store import AccountView, CommitmentFilter, CommitmentSummary, CommitmentView, Page, Store, SummaryPage

DUE_SOON_DAYS = 7
_MAX_ROWS = 50


@dataclass
class Attention:
    """The report's sections: each holds its first :data:`_MAX_ROWS` items, ranked; ``totals`` says how
    many each has in all (``open`` for every open item)."""

    overdue: list[CommitmentView] = field(default_factory=list)
    due_soon: list[CommitmentView] = field(default_factory=list)
    unlinked: list[CommitmentView] = field(default_factory=list)
    requests: list[CommitmentView] = field(default_factory=list)
    by_owner: dict[str, dict[str, int]] = field(default_factory=dict)
    open_total: int = 0
    totals: dict[str, int] = field(default_factory=dict)
    """Items in each section (``overdue``, ``due_soon``, ``unlinked``, ``unanswered_requests``)."""
    waiting: list[Waiting] = field(default_factory=list)  # what customers owe us: never in our open lists
    silent: list[AccountView] = field(default_factory=list)  # no word from us too long, most at stake first

    def as_dict(self) -> dict[str, object]:
        def rows(items: list[CommitmentView]) -> list[dict[str, object]]:
            return [i.model_dump(mode="json") for i in items]

        return {
            "open_total": self.open_total,
            "overdue": rows(self.overdue),
            "due_soon": rows(self.due_soon),
            "unlinked": rows(self.unlinked),
            "unanswered_requests": rows(self.requests),
            "totals": dict(self.totals),
            "by_owner": self.by_owner,
            "waiting_on_customer": [w.as_dict() for w in self.waiting],
            "silent_accounts": [a.model_dump(mode="json") for a in self.silent],
        }


P = TypeVar("P", CommitmentView, CommitmentSummary)


def _each(read: Callable[[CommitmentFilter], Page | SummaryPage], f: CommitmentFilter) -> Iterator[P]:
    """Every item ``f`` lists, a page of ``read`` at a time (memory: one page)."""
    while True:
        page = read(f)
        yield from cast(list[P], page.items)
        if not page.next_cursor:
            return
        f = f.model_copy(update={"cursor": page.next_cursor})


def all_items(store: Store, f: CommitmentFilter) -> list[CommitmentView]:
    """Every item ``f`` lists, in full (evidence, history)."""
    return list(_each(store.list_commitments, f))


def _summaries(store: Store, f: CommitmentFilter) -> Iterator[CommitmentSummary]:
    """Every item ``f`` lists, as lean summaries, a page at a time."""
    return _each(store.list_summaries, f)


def _rank_key(c: CommitmentView | CommitmentSummary) -> tuple[float, date, int]:
    return (-c.priority, c.due or date.max, c.id)


def ranked(items: list[CommitmentView]) -> list[CommitmentView]:
    return sorted(items, key=_rank_key)


def _request_key(c: CommitmentView | CommitmentSummary) -> tuple[bool, float, float, int]:
    """Past the response target first, then most at stake, then the oldest (by its message's time)."""
    return (not c.overdue_response, -c.priority, c.occurred_at.timestamp(), c.id)


@dataclass
class _Section:
    """One section while the open items stream by: its count and its first rows so far."""

    key: Callable[[CommitmentSummary], tuple[object, ...]]
    total: int = 0
    top: list[tuple[tuple[object, ...], int]] = field(default_factory=list)

    def add(self, c: CommitmentSummary) -> None:
        self.total += 1
        entry = (self.key(c), c.id)
        if len(self.top) < _MAX_ROWS:
            self.top.append(entry)
            if len(self.top) == _MAX_ROWS:
                self.top.sort()
        elif entry < self.top[-1]:
            bisect.insort(self.top, entry)
            self.top.pop()

    def ids(self) -> list[int]:
        return [cid for _, cid in sorted(self.top)]


def collect(store: Store, as_of: date, *, domains: set[str]) -> Attention:
    """Gather the report's sections from the store, each ranked by priority.

    The open items stream by as lean summaries, a page at a time: each section keeps its count
    and its first :data:`_MAX_ROWS` rows, the owners their counts; only the rows shown are read
    in full. Memory stays flat however many items are open.

    Silent accounts: see :mod:`store.accounts` (limits from ``FOLLOWTHROUGH_SILENT_DAYS``; ``domains``
    are our own, for participants not marked ours or theirs).

    Unanswered requests are the open ones (a request one of ours answered is
    closed ``answered`` by the run): those past their response target first.
    """
    base = CommitmentFilter(status=CommitmentStatus.OPEN, as_of=as_of, limit=500)
    sections = {
        "overdue": _Section(_rank_key),
        "due_soon": _Section(_rank_key),
        "unlinked": _Section(_rank_key),
        "unanswered_requests": _Section(_request_key),
    }
    owners: dict[str, Counter[str]] = {}
    open_total = 0
    for c in _summaries(store, base):
        open_total += 1
        commitment = c.type == "commitment"
        overdue = commitment and c.due is not None and c.due < as_of
        soon = commitment and c.due is not None and as_of <= c.due and (c.due - as_of).days <= DUE_SOON_DAYS
        counts = owners.setdefault(c.owner_email or c.owner or "(no owner)", Counter())
        counts["open"] += 1
        for name, inside in (
            ("overdue", overdue),
            ("due_soon", soon),
            ("unlinked", c.deal is None),
            ("unanswered_requests", c.type == "request"),
        ):
            if inside:
                sections[name].add(c)
                if name != "unanswered_requests":
                    counts[name] += 1
    shown = {cid for section in sections.values() for cid in section.ids()}
    views = {v.id: v for v in store.get_commitments(sorted(shown), as_of=as_of)}

    def rows(name: str) -> list[CommitmentView]:
        return [views[cid] for cid in sections[name].ids() if cid in views]

    att = Attention(open_total=open_total)
    att.overdue, att.due_soon, att.unlinked = rows("overdue"), rows("due_soon"), rows("unlinked")
    att.requests = rows("unanswered_requests")
    att.totals = {name: section.total for name, section in sections.items()}
    att.by_owner = {k: dict(v) for k, v in sorted(owners.items(), key=lambda kv: -kv[1]["open"])}
    att.waiting = collect_waiting(store, as_of)
    att.silent = store.silent_accounts(as_of, silent_days(), domains)
    return att


def collect_waiting(store: Store, as_of: date, *, deal_owner: str | None = None) -> list[Waiting]:
    """The customers' promises to us (status ``waiting``), overdue ones first.

    ``deal_owner``: only those on deals this email owns in the CRM (case-insensitive): the promises
    that person is the one to chase.
    """
    theirs = all_items(store, CommitmentFilter(status=CommitmentStatus.WAITING, as_of=as_of, limit=500))
    owners = store.deal_owners({c.deal.crm_id for c in theirs if c.deal is not None})
    found = waiting_on_customers(theirs, owners)
    if deal_owner is None:
        return found
    return [w for w in found if w.deal_owner == deal_owner.strip().lower()]


def _due_label(c: CommitmentView, as_of: date) -> str:
    """The due date, with how late (or "today") only while the item is still to be kept."""
    if not c.due:
        return ""
    if c.overdue_days is None and c.due < as_of:  # done, answered, dismissed, merged: not late any more
        return c.due.isoformat()
    delta = (c.due - as_of).days
    if delta < 0:
        return f"{c.due.isoformat()} ({-delta}d late)"
    return c.due.isoformat() + (" (today)" if delta == 0 else "")


def age_label(c: CommitmentView, wide: bool = True) -> str:
    """An open request's age against its response target: ``"age 30h / target 24h"``, narrow
    ``"30h/24h"`` (no target: ``"age 30h"``, ``"30h"``); ``""`` for anything else."""
    if c.age_hours is None:
        return ""
    age = f"{c.age_hours:.0f}h"
    if c.response_hours is None:
        return f"age {age}" if wide else age
    target = f"{c.response_hours:g}h"
    return f"age {age} / target {target}" if wide else f"{age}/{target}"


def _when(c: CommitmentView, as_of: date, wide: bool) -> str:
    """A Due cell: the due date (and how late, when ``wide``), else an open request's age."""
    due = _due_label(c, as_of) if wide else (c.due.isoformat() if c.due else "")
    return due or age_label(c, wide)


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis (tables stay one line per row)."""
    return text if len(text) <= limit else text[: max(1, limit - 1)].rstrip() + "…"


WIDE = 120
"""Terminal columns from which listings show more: full owner names, how late, the account."""
ACTION_MIN_WIDTH = 30
"""Columns the action (what people read) keeps however narrow the terminal."""


def owner_label(c: CommitmentView, wide: bool) -> str:
    """Who owns ``c``, short: the owner's name (first name when not ``wide``), else the email's local part."""
    if c.owner:
        return c.owner if wide else c.owner.split()[0]
    return (c.owner_email or "").split("@", 1)[0]


def commitments_table(
    title: str, items: list[CommitmentView], as_of: date, width: int = 80, *, show_status: bool = False
) -> Table:
    """One row per item; the action gets the width the other columns leave and wraps, never cut.

    ``width``: the terminal's columns. Under :data:`WIDE` (an 80-column terminal): ID, Owner (first
    name), Action (``?`` marks a request), Due, Deal (its CRM id); from :data:`WIDE` the owner's full
    name, how late, and the Account too. ``show_status``: a Status column (``--status all``). The ids
    a user types next (item, deal), the status and the due date are never cut; a long owner or account
    name ends in an ellipsis; the Action takes the width left, at least :data:`ACTION_MIN_WIDTH`
    columns. Too narrow for all that: Account, then Deal, then Owner are left out.
    """
    wide = width >= WIDE
    shown = items[:_MAX_ROWS]
    columns = [Column("ID", [str(c.id) for c in shown], justify="right")]
    if show_status:
        columns.append(Column("Status", [c.status for c in shown]))
    columns += [
        Column("Owner", [owner_label(c, wide) for c in shown], max_width=16 if wide else 10, drop=3),
        Column(
            "Action (? = request)",
            [c.action if c.type == "commitment" else "? " + c.action for c in shown],
            grow=True,
            min_width=ACTION_MIN_WIDTH,
        ),
        Column("Due", [_when(c, as_of, wide) for c in shown]),
        Column("Deal", [c.deal.crm_id if c.deal else "-" for c in shown], drop=2),
    ]
    if wide:
        columns.append(
            Column("Account", [c.deal.account if c.deal else "" for c in shown], max_width=16, drop=1)
        )
    table = fitted_table(title, columns, width)
    if len(items) > _MAX_ROWS:
        table.caption = f"{len(items) - _MAX_ROWS} more: followthrough commitments list"
    return table


def render_cards(
    out: Console, title: str, items: list[CommitmentView], as_of: date, *, total: int | None = None
) -> None:
    """Each item as a short block: readable at any terminal width, and in a pipe. ``total``: how many
    the section holds when ``items`` are only its first rows."""
    out.print(f"\n[bold]{escape(title)}[/bold]")
    for c in items[:_MAX_ROWS]:
        who = c.owner_email or c.owner or "no owner"
        due = _due_label(c, as_of)
        deal = c.deal.name if c.deal else "unlinked"
        age = age_label(c)
        head = (
            f"  #{c.id} {c.type} · {who}"
            + (f" · due {due}" if due else "")
            + (f" · {age}" if age else "")
            + f" · {deal}"
        )
        out.print(head, highlight=False, markup=False)
        out.print(f"      {c.action}", highlight=False, markup=False, overflow="fold")
        if c.priority_reasons:
            out.print(
                f"      why: {'; '.join(c.priority_reasons)}", style="dim", highlight=False, markup=False
            )
    total = len(items) if total is None else total
    if total > _MAX_ROWS:
        out.print(f"  … {total - _MAX_ROWS} more: followthrough commitments list")


def render_run(out: Console, rep: RunReport) -> None:
    parts = [f"{rep.documents_seen} documents read ({rep.documents_new} new or changed)"]
    if rep.crm:
        crm = {k.replace("_", " "): n for k, n in rep.crm.items() if n}
        if crm:
            parts.append("CRM: " + ", ".join(f"{n} {k}" for k, n in crm.items()))
    if rep.extracted or rep.cached or rep.failed:
        parts.append(f"{rep.extracted} extracted, {rep.cached} from cache, {len(rep.failed)} failed")
        parts.append(f"{rep.items} items")
    if rep.ungrounded:
        parts.append(f"{rep.ungrounded} ungrounded (not stored as open)")
    if rep.unconfirmed or rep.instruction_like:
        n = rep.instruction_like
        injected = f", {n} read as instructions to the model" if n else ""
        parts.append(f"{rep.unconfirmed} held for review (`commitments list --status review`){injected}")
    if rep.llm_calls or rep.prompt_tokens:
        parts.append(
            f"{rep.llm_calls} LLM calls, {rep.prompt_tokens} prompt"
            f" + {rep.completion_tokens} completion tokens"
            + (f", ~${rep.cost_usd:.4f}" if rep.cost_usd else "")
        )
    if rep.prefiltered:
        parts.append(f"pre-filter skipped {rep.prefiltered} documents (~{rep.tokens_saved} tokens saved)")
    if any(rep.links.values()):
        linked = ", ".join(f"{n} by {m}" for m, n in rep.links.items() if n and m != "unlinked")
        parts.append(
            f"linked {linked or 'none'}"
            + (f"; {rep.links['unlinked']} unlinked" if rep.links.get("unlinked") else "")
        )
    if rep.fulfilled:
        parts.append(f"{rep.fulfilled} closed as delivered by a later message")
    if rep.answered:
        parts.append(f"{rep.answered} request(s) closed as answered in their thread")
    if rep.errors or rep.skipped:
        parts.append(f"{len(rep.errors)} errors, {len(rep.skipped)} skipped")
    out.print("; ".join(parts) + ".", highlight=False, markup=False)


def render_silent(out: Console, accounts: list[AccountView], title: str = "Silent accounts") -> None:
    """Each silent account as a short block, in the order given (most at stake first): who owns its
    deals, what is at stake, and when each side last spoke."""
    if not accounts:
        out.print(f"\n[bold]{escape(title)}[/bold]: none")
        return
    out.print(f"\n[bold]{escape(title)} ({len(accounts)})[/bold]")
    for a in accounts[:_MAX_ROWS]:
        owners = ", ".join(a.deal_owners) or "no deal owner"
        out.print(f"  {a.name} · {owners}", highlight=False, markup=False)
        us = a.last_touch_by_us.date().isoformat() if a.last_touch_by_us else "never"
        them = a.last_touch_by_them.date().isoformat() if a.last_touch_by_them else "never"
        out.print(
            f"      last from us {us}, from them {them} (silent after {a.silent_after_days} days)",
            highlight=False,
            markup=False,
        )
        out.print(f"      why: {'; '.join(a.reasons)}", style="dim", highlight=False, markup=False)
    if len(accounts) > _MAX_ROWS:
        out.print(f"  … {len(accounts) - _MAX_ROWS} more: followthrough accounts --silent")


def render_attention(out: Console, att: Attention, as_of: date) -> None:
    out.print(f"\n[bold]Needs attention as of {as_of.isoformat()}[/bold] ({att.open_total} open)")
    sections = (
        ("Overdue", att.overdue, "overdue"),
        (f"Due in the next {DUE_SOON_DAYS} days", att.due_soon, "due_soon"),
        ("Unlinked to any deal", att.unlinked, "unlinked"),
        ("Customer requests waiting for our answer", att.requests, "unanswered_requests"),
    )
    for title, items, name in sections:
        total = att.totals.get(name, len(items))
        if items:
            render_cards(out, f"{title} ({total})", items, as_of, total=total)
        else:
            out.print(f"\n[bold]{title}[/bold]: none")
    nudges = sum(1 for w in att.waiting if w.nudge)
    render_waiting(
        out,
        f"Waiting on customer ({len(att.waiting)}, {nudges} overdue)"
        if att.waiting
        else "Waiting on customer",
        att.waiting,
    )
    render_silent(out, att.silent)
    if att.by_owner:
        out.print()
        table = Table(title="By owner", title_justify="left")
        table.add_column("Owner")
        for col in ("open", "overdue", "due_soon", "unlinked"):
            table.add_column(col.replace("_", " ").title(), justify="right")
        for owner, counts in att.by_owner.items():
            table.add_row(
                escape(owner), *(str(counts.get(c, 0)) for c in ("open", "overdue", "due_soon", "unlinked"))
            )
        out.print(table)
