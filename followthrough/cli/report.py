"""The attention report: what is overdue, due soon, unlinked, and who owns it (rendered with rich; the
sections come from :mod:`followthrough.attention`)."""

from __future__ import annotations

from datetime import date

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from followthrough.attention import (  # the sections and their ranking live there (shared with the dashboard)
    DUE_SOON_DAYS,
    Attention,
    all_items,
    collect,
    collect_waiting,
    ranked,
)
from followthrough.cli.params import LIST_LIMIT
from followthrough.cli.tables import Column, fitted_table
from followthrough.cli.waiting import render_waiting
from followthrough.pipeline import RunReport
from store import AccountView, CommitmentView

_MAX_ROWS = 50


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
    if c.owner_name:
        return c.owner_name if wide else c.owner_name.split()[0]
    return (c.owner or "").split("@", 1)[0]


def commitments_table(
    title: str,
    items: list[CommitmentView],
    as_of: date,
    width: int = 80,
    *,
    show_status: bool = False,
    rows: int | None = None,
    more: str = "followthrough commitments list",
) -> Table:
    """One row per item; the action gets the width the other columns leave and wraps, never cut.

    ``width``: the terminal's columns. Under :data:`WIDE` (an 80-column terminal): ID, Owner (first
    name), Action (``?`` marks a request), Due, Deal (its CRM id); from :data:`WIDE` the owner's full
    name, how late, and the Account too. ``show_status``: a Status column (``--status all``). The ids
    a user types next (item, deal), the status and the due date are never cut; a long owner or account
    name ends in an ellipsis; the Action takes the width left, at least :data:`ACTION_MIN_WIDTH`
    columns. Too narrow for all that: Account, then Deal, then Owner are left out. ``rows``: how many
    to show (default :data:`_MAX_ROWS`; the caption says how many more, and ``more`` lists them).
    """
    wide = width >= WIDE
    cut = _MAX_ROWS if rows is None else rows
    shown = items[:cut]
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
    if len(items) > cut:
        table.caption = f"{len(items) - cut} more: {more}"
    return table


def render_cards(
    out: Console,
    title: str,
    items: list[CommitmentView],
    as_of: date,
    *,
    total: int | None = None,
    more: str = "followthrough commitments list",
) -> None:
    """Each item as a short block: readable at any terminal width, and in a pipe. ``total``: how many
    the section holds when ``items`` are only its first rows; ``more``: the command that lists them all."""
    out.print(f"\n[bold]{escape(title)}[/bold]")
    for c in items[:_MAX_ROWS]:
        who = c.owner_name or c.owner or "no owner"
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
        out.print(f"  … {total - _MAX_ROWS} more: {more}", highlight=False, markup=False)


def render_run(out: Console, rep: RunReport) -> None:
    seen = rep.documents_seen
    parts = [f"{seen} document{'' if seen == 1 else 's'} read ({rep.documents_new} new or changed)"]
    if rep.crm:
        crm = {k.replace("_", " "): n for k, n in rep.crm.items() if n}
        if crm:
            parts.append("CRM: " + ", ".join(f"{n} {k}" for k, n in crm.items()))
    if rep.extracted or rep.cached or rep.failed:
        parts.append(f"{rep.extracted} extracted, {rep.cached} from cache, {len(rep.failed)} failed")
        parts.append(f"{rep.items} items")
    if rep.held:
        parts.append(f"{len(rep.held)} held back (out of the time budget on an earlier run)")
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
        errors = len(rep.errors)
        parts.append(f"{errors} error{'' if errors == 1 else 's'}, {len(rep.skipped)} skipped")
    out.print("; ".join(parts) + ".", highlight=False, markup=False)


def render_silent(
    out: Console,
    accounts: list[AccountView],
    title: str = "Silent accounts",
    *,
    total: int | None = None,
    more: str = "followthrough accounts --silent",
) -> None:
    """Each silent account as a short block, in the order given (most at stake first): who owns its
    deals, what is at stake, and when each side last spoke. ``total``: how many there are in all,
    when ``accounts`` holds only the first of them."""
    total = len(accounts) if total is None else total
    if not accounts:
        out.print(f"\n[bold]{escape(title)}[/bold]: none")
        return
    out.print(f"\n[bold]{escape(title)} ({total})[/bold]")
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
    if total > min(len(accounts), _MAX_ROWS):
        out.print(f"  … {total - min(len(accounts), _MAX_ROWS)} more: {more}", highlight=False, markup=False)


def render_attention(out: Console, att: Attention, as_of: date, *, again: str | None = None) -> None:
    """The report's sections; each one cut ends with the command that lists it all, starting with
    ``again`` (``followthrough --db URL --as-of DAY``: :meth:`State.again`)."""
    again = again or f"followthrough --as-of {as_of.isoformat()}"
    out.print(f"\n[bold]Needs attention as of {as_of.isoformat()}[/bold] ({att.open_total} open)")
    sections = (  # title, rows, section, the listing's filter for the whole section
        ("Overdue", att.overdue, "overdue", "--overdue --type commitment"),
        (
            f"Due in the next {DUE_SOON_DAYS} days",
            att.due_soon,
            "due_soon",
            f"--type commitment --due-within {DUE_SOON_DAYS}",
        ),
        ("Unlinked to any deal", att.unlinked, "unlinked", "--unlinked"),
        ("Customer requests waiting for our answer", att.requests, "unanswered_requests", "--type request"),
    )
    for title, items, name, only in sections:
        total = att.totals.get(name, len(items))
        more = f"{again} commitments list {only}"
        if total > LIST_LIMIT:
            more += f" --limit {total}"
        if items:
            render_cards(out, f"{title} ({total})", items, as_of, total=total, more=more)
        else:
            out.print(f"\n[bold]{title}[/bold]: none")
    waiting = att.totals.get("waiting_on_customer", len(att.waiting))
    nudges = att.totals.get("waiting_on_customer_overdue", sum(1 for w in att.waiting if w.nudge))
    render_waiting(
        out,
        f"Waiting on customer ({waiting}, {nudges} overdue)" if att.waiting else "Waiting on customer",
        att.waiting,
        total=waiting,
        again=again,
    )
    render_silent(out, att.silent, total=att.totals.get("silent_accounts"), more=f"{again} accounts --silent")
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


__all__ = [
    "DUE_SOON_DAYS",
    "Attention",
    "all_items",
    "collect",
    "collect_waiting",
    "ranked",
]
