"""The attention report: what is overdue, due soon, unlinked, and who owns it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from followthrough.pipeline import RunReport
from store import CommitmentFilter, CommitmentView, Store

DUE_SOON_DAYS = 7
UNANSWERED_HOURS = 48
_MAX_ROWS = 50


@dataclass
class Attention:
    overdue: list[CommitmentView] = field(default_factory=list)
    due_soon: list[CommitmentView] = field(default_factory=list)
    unlinked: list[CommitmentView] = field(default_factory=list)
    requests: list[CommitmentView] = field(default_factory=list)
    by_owner: dict[str, dict[str, int]] = field(default_factory=dict)
    open_total: int = 0

    def as_dict(self) -> dict[str, object]:
        def rows(items: list[CommitmentView]) -> list[dict[str, object]]:
            return [i.model_dump(mode="json") for i in items]

        return {
            "open_total": self.open_total,
            "overdue": rows(self.overdue),
            "due_soon": rows(self.due_soon),
            "unlinked": rows(self.unlinked),
            "unanswered_requests": rows(self.requests),
            "by_owner": self.by_owner,
        }


def all_items(store: Store, f: CommitmentFilter) -> list[CommitmentView]:
    out: list[CommitmentView] = []
    while True:
        page = store.list_commitments(f)
        out.extend(page.items)
        if not page.next_cursor:
            return out
        f = f.model_copy(update={"cursor": page.next_cursor})


def ranked(items: list[CommitmentView]) -> list[CommitmentView]:
    return sorted(items, key=lambda c: (-c.priority, c.due or date.max, c.id))


def collect(store: Store, as_of: date, domains: set[str]) -> Attention:
    """Gather the report's sections from the store, each ranked by priority.

    Unanswered requests are open requests older than ``UNANSWERED_HOURS`` (as
    of the end of ``as_of``) that nobody on our side (``domains``) replied to.
    """
    base = CommitmentFilter(status="open", as_of=as_of, limit=500)
    open_items = all_items(store, base)
    att = Attention(open_total=len(open_items))
    att.overdue = ranked([c for c in open_items if c.type == "commitment" and c.due and c.due < as_of])
    att.due_soon = ranked(
        [
            c
            for c in open_items
            if c.type == "commitment" and c.due and as_of <= c.due and (c.due - as_of).days <= DUE_SOON_DAYS
        ]
    )
    att.unlinked = ranked([c for c in open_items if c.deal is None])
    now = datetime.combine(as_of, time.max, tzinfo=UTC)
    answered = store.answered_requests(domains)
    att.requests = ranked(
        [
            c
            for c in open_items
            if c.type == "request"
            and c.id not in answered
            and (now - c.occurred_at).total_seconds() >= UNANSWERED_HOURS * 3600
        ]
    )
    owners: dict[str, Counter[str]] = {}
    for c in open_items:
        who = c.owner_email or c.owner or "(no owner)"
        counts = owners.setdefault(who, Counter())
        counts["open"] += 1
        if c.due and c.due < as_of and c.type == "commitment":
            counts["overdue"] += 1
        if c in att.due_soon:
            counts["due_soon"] += 1
        if c.deal is None:
            counts["unlinked"] += 1
    att.by_owner = {k: dict(v) for k, v in sorted(owners.items(), key=lambda kv: -kv[1]["open"])}
    return att


def _due_label(c: CommitmentView, as_of: date) -> str:
    if not c.due:
        return ""
    delta = (c.due - as_of).days
    if delta < 0:
        return f"{c.due.isoformat()} ({-delta}d late)"
    return c.due.isoformat() + (" (today)" if delta == 0 else "")


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis (tables stay one line per row)."""
    return text if len(text) <= limit else text[: max(1, limit - 1)].rstrip() + "…"


def fit(fixed: dict[str, int], width: int, minimum: int) -> int:
    """Room left for the one flexible column once the fixed ones and the borders are placed."""
    return max(minimum, width - sum(fixed.values()) - 3 * (len(fixed) + 1) - 1)


def commitments_table(title: str, items: list[CommitmentView], as_of: date, width: int = 80) -> Table:
    """One line per item at any width: fixed columns, the action gets the rest and is cut to fit."""
    wide = width >= 120
    fixed = {"ID": 4, "Owner": 22 if wide else 10, "Due": 21 if wide else 10, "Deal": 30 if wide else 14}
    if wide:
        fixed["Kind"] = 7
    room = fit(fixed, width, 16)
    table = Table(title=title, title_justify="left")
    table.add_column("ID", justify="right", width=fixed["ID"])
    if wide:
        table.add_column("Kind", width=fixed["Kind"])
    table.add_column("Owner", width=fixed["Owner"], no_wrap=True)
    table.add_column("Action" if wide else "Action (? = request)", width=room, no_wrap=True)
    table.add_column("Due", width=fixed["Due"], no_wrap=True)
    table.add_column("Deal", width=fixed["Deal"], no_wrap=True)
    for c in items[:_MAX_ROWS]:
        owner = c.owner_email or c.owner or ""
        if not wide:
            owner = owner.split("@", 1)[0]
        action = c.action if wide or c.type == "commitment" else "? " + c.action
        row = [str(c.id)]
        if wide:
            row.append("commit" if c.type == "commitment" else "request")
        row += [
            clip(owner, fixed["Owner"]),
            clip(action, room),
            _due_label(c, as_of) if wide else (c.due.isoformat() if c.due else ""),
            clip(c.deal.name if c.deal else "(unlinked)", fixed["Deal"]),
        ]
        table.add_row(*map(escape, row))
    if len(items) > _MAX_ROWS:
        table.caption = f"{len(items) - _MAX_ROWS} more: followthrough commitments list"
    return table


def render_cards(out: Console, title: str, items: list[CommitmentView], as_of: date) -> None:
    """Each item as a short block: readable at any terminal width, and in a pipe."""
    out.print(f"\n[bold]{escape(title)}[/bold]")
    for c in items[:_MAX_ROWS]:
        who = c.owner_email or c.owner or "no owner"
        due = _due_label(c, as_of)
        deal = c.deal.name if c.deal else "unlinked"
        head = f"  #{c.id} {c.type} · {who}" + (f" · due {due}" if due else "") + f" · {deal}"
        out.print(head, highlight=False, markup=False)
        out.print(f"      {c.action}", highlight=False, markup=False, overflow="fold")
        if c.priority_reasons:
            out.print(
                f"      why: {'; '.join(c.priority_reasons)}", style="dim", highlight=False, markup=False
            )
    if len(items) > _MAX_ROWS:
        out.print(f"  … {len(items) - _MAX_ROWS} more: followthrough commitments list")


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
    if rep.errors or rep.skipped:
        parts.append(f"{len(rep.errors)} errors, {len(rep.skipped)} skipped")
    out.print("; ".join(parts) + ".", highlight=False, markup=False)


def render_attention(out: Console, att: Attention, as_of: date) -> None:
    out.print(f"\n[bold]Needs attention as of {as_of.isoformat()}[/bold] ({att.open_total} open)")
    sections = (
        ("Overdue", att.overdue),
        (f"Due in the next {DUE_SOON_DAYS} days", att.due_soon),
        ("Unlinked to any deal", att.unlinked),
        (f"Customer requests unanswered for {UNANSWERED_HOURS}h or more", att.requests),
    )
    for title, items in sections:
        if items:
            render_cards(out, f"{title} ({len(items)})", items, as_of)
        else:
            out.print(f"\n[bold]{title}[/bold]: none")
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
